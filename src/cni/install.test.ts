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

void test('install-cni reads the agent\'s own settings: CALICO_NODENAME_FILE and TRICOLOR_CNI_SOCKET from the env file move both', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tri-install-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'tricolor.ts');
  const install = (sub: string, extra: readonly string[]): { plugin: Record<string, unknown>; wrapper: string } => {
    const r = spawnSync(process.execPath, [bin, 'install-cni', '--bin-dir', join(dir, sub, 'bin'), '--conf-dir', join(dir, sub, 'net.d'), ...extra], { env: { PATH: process.env['PATH'] }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(readFileSync(join(dir, sub, 'net.d', CONFLIST_NAME), 'utf8')) as { plugins: Record<string, unknown>[] };
    return { plugin: list.plugins[0] ?? {}, wrapper: readFileSync(join(dir, sub, 'bin', 'tricolor-cni'), 'utf8') };
  };
  // defaults: Calico's nodename file (the plugin's own default, so not written) and the agent's default socket
  const empty = join(dir, 'empty.env');
  writeFileSync(empty, '# nothing set\n');
  const d = install('defaults', ['--env-file', empty]);
  assert.equal(d.plugin['nodename_file'], undefined);
  assert.equal(parseNetConf({ ...d.plugin, cniVersion: '1.0.0', name: 'k8s-pod-network' }).nodenameFile, '/var/lib/calico/nodename');
  assert.ok(d.wrapper.includes("'/var/run/tricolor/cni.sock'"), d.wrapper);
  // the env file moves both, as it does for the agent's unit
  const moved = join(dir, 'moved.env');
  writeFileSync(moved, 'CALICO_NODENAME_FILE=/srv/calico/nodename\nTRICOLOR_CNI_SOCKET=/srv/tricolor/cni.sock\n');
  const m = install('moved', ['--env-file', moved]);
  assert.equal(m.plugin['nodename_file'], '/srv/calico/nodename');
  assert.equal(parseNetConf({ ...m.plugin, cniVersion: '1.0.0', name: 'k8s-pod-network' }).nodenameFile, '/srv/calico/nodename');
  assert.ok(m.wrapper.includes("'/srv/tricolor/cni.sock'"), m.wrapper);
  // flags win over the file
  const f = install('flags', ['--env-file', moved, '--nodename-file', '/x/nodename', '--agent-socket', '/x/cni.sock']);
  assert.equal(f.plugin['nodename_file'], '/x/nodename');
  assert.ok(f.wrapper.includes("'/x/cni.sock'"));
});
