// `npm run bench -- NAME [args]` runs bench/NAME.ts, which prints one JSON line of figures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [name, ...rest] = process.argv.slice(2);
const dir = import.meta.dirname;
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.includes('.'.concat('lib')))
  .map((f) => f.slice(0, -3));
if (name === undefined || !existsSync(join(dir, `${name}.ts`))) {
  process.stderr.write(`usage: npm run bench -- NAME\navailable: ${available.join(', ')}\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [join(dir, `${name}.ts`), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
