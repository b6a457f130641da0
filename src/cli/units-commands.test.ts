// Every systemd unit `tricolor install-units` ships runs a command this CLI has: the unit's
// verb answers `--help` with its usage (exit 0) — a unit for a command that does not exist
// (as the Typha unit once was) fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { UNITS } from '../agent/index.ts';
import { COMMANDS } from './commands/index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tricolor.ts');

void test('every installed unit runs an existing command', () => {
  assert.ok(UNITS.length >= 4);
  for (const u of UNITS) {
    const [verb, sub] = u.args;
    assert.ok(COMMANDS.some((c) => c.name === verb), `${u.name}: no command ${verb}`);
    const r = spawnSync(process.execPath, [BIN, ...u.args, '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${u.name}: tricolor ${u.args.join(' ')} --help exited ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`tricolor ${verb} ${sub ?? ''}`), `${u.name}: usage of ${verb} ${sub ?? ''}`);
  }
});
