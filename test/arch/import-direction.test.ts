// The import-direction guard of ARCHITECTURE.md: a folder under src/ imports only from folders
// in lower layers (or its own), and only through their public surface (index.ts, or io/index.ts
// for a folder's OS drivers). Tests and benches may reach into any folder's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/**
 * Layer of each src/ folder; lower numbers are lower layers. ARCHITECTURE.md gives the groups
 * (base, net → api, selector → datastore, ipam → calc, dataplane, bgp, cni → agent, … → cli);
 * inside a group the real dependencies fix an order too (api validates selectors, IPAM stores
 * through the datastore, the dataplane renders the calc graph's IR, the CNI plugin uses the
 * dataplane's link drivers), so each folder gets its own rank.
 */
const LAYERS: Readonly<Record<string, number>> = {
  base: 0,
  net: 1,
  selector: 2,
  api: 3,
  datastore: 4,
  ipam: 5,
  calc: 6,
  dataplane: 7,
  // flows sits between calc and the dataplanes: renderers encode its rule identities.
  flows: 6.5,
  bgp: 7,
  proxy: 7,
  cni: 8,
  agent: 9,
  controllers: 9,
  typha: 9,
  lab: 10,
  cli: 11,
  web: 11,
};

/** Files outside src/ that src/ may read (the package's own version). */
const ALLOWED_OUTSIDE = new Set([join(ROOT, 'package.json')]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !p.includes(`${sep}test-support${sep}`) && !name.startsWith('test-')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

void test('src/ folders import only downward, and only through index.ts', () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split(sep)[0] ?? '';
    const fromLayer = LAYERS[from];
    if (fromLayer === undefined) {
      problems.push(`${relative(ROOT, file)}: folder src/${from} has no layer in the import guard`);
      continue;
    }
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (ALLOWED_OUTSIDE.has(target)) continue;
      if (!target.startsWith(SRC + sep)) {
        problems.push(`${relative(ROOT, file)} imports ${spec}, outside src/`);
        continue;
      }
      const parts = relative(SRC, target).split(sep);
      const to = parts[0] ?? '';
      if (to === from) continue;
      const toLayer = LAYERS[to];
      if (toLayer === undefined || toLayer >= fromLayer) {
        problems.push(`${relative(ROOT, file)} (layer ${fromLayer}) imports src/${to} (layer ${toLayer ?? '?'})`);
      }
      const inner = parts.slice(1).join('/');
      if (inner !== 'index.ts' && inner !== 'io/index.ts') {
        problems.push(`${relative(ROOT, file)} imports src/${to}/${inner}, not src/${to}/index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
