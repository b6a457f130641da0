// install-cni: wrappers run the plugin (checked by calling VERSION through one) and the
// conflist parses as a valid network configuration for our own parser.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFLIST_NAME, installCni, wrapperScript } from './install.ts';
import { parseNetConf } from './netconf.ts';

void test('installs executable wrappers and a conflist that parses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tri-install-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const written = await installCni({
    binDir: join(dir, 'bin'),
    confDir: join(dir, 'net.d'),
    nodePath: process.execPath,
    repoRoot: join(import.meta.dirname, '..', '..'),
    env: { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: "/tmp/it's.db" },
    nodename: 'node-a',
    agentSocket: join(dir, 'no-agent', 'cni.sock'),
  });
  assert.equal(written.length, 3);
  // tricolor-cni talks to the agent socket baked in (absent here, so it runs the plugin itself)
  assert.ok(readFileSync(join(dir, 'bin', 'tricolor-cni'), 'utf8').includes(`'${join(dir, 'no-agent', 'cni.sock')}'`));
  assert.equal(statSync(join(dir, 'bin', 'tricolor-cni')).mode & 0o777, 0o755);
  const r = spawnSync(join(dir, 'bin', 'tricolor-cni'), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(JSON.parse(r.stdout.toString()).cniVersion, '1.0.0');
  // Values with quotes and `$` survive the shell: the wrapper's "node" here prints the variable.
  const script = join(dir, 'print-env');
  writeFileSync(script, wrapperScript('/usr/bin/printenv', 'TRICOLOR_DATASTORE_PATH', { TRICOLOR_DATASTORE_PATH: "/tmp/it's $HOME `x`.db" }), { mode: 0o755 });
  assert.equal(spawnSync(script, [], { env: {} }).stdout.toString().trim(), "/tmp/it's $HOME `x`.db");
  const list = JSON.parse(readFileSync(join(dir, 'net.d', CONFLIST_NAME), 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const plugin = list.plugins[0] ?? {};
  const conf = parseNetConf({ ...plugin, cniVersion: list.cniVersion, name: list.name });
  assert.equal(conf.nodename, 'node-a');
  assert.equal(conf.ipam.type, 'tricolor-ipam');
});
