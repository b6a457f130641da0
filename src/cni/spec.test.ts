// The CNI protocol layer: env validation, CNI_ARGS, result formats per version, error objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BugError, TricolorError } from '../base/index.ts';
import { runCni, type CniPlugin } from './skeleton.ts';
import { errorObject, formatResult, parseCniArgs, parseCniEnv, parseResult } from './spec.ts';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' };

void test('parseCniEnv: required variables per command', () => {
  const e = parseCniEnv(env);
  assert.deepEqual([e.command, e.containerId, e.netns, e.ifName, e.path], ['ADD', 'abc', '/var/run/netns/x', 'eth0', ['/opt/cni/bin', '/usr/lib/cni']]);
  assert.equal(parseCniEnv({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns, '');
  assert.equal(parseCniEnv({ CNI_COMMAND: 'GC' }).containerId, '');
  const bad: [Record<string, string | undefined>, RegExp][] = [
    [{ CNI_COMMAND: 'add' }, /CNI_COMMAND: "add"/],
    [{ CNI_CONTAINERID: '' }, /CNI_CONTAINERID: required for ADD/],
    [{ CNI_CONTAINERID: 'a/b' }, /CNI_CONTAINERID: "a\/b"/],
    [{ CNI_IFNAME: 'a:b' }, /CNI_IFNAME: "a:b"/],
    [{ CNI_IFNAME: '..' }, /CNI_IFNAME: "\.\."/],
    [{ CNI_COMMAND: 'CHECK', CNI_NETNS: undefined }, /CNI_NETNS: required for CHECK/],
  ];
  for (const [patch, re] of bad) {
    assert.throws(() => parseCniEnv({ ...env, ...patch }), (x: TricolorError) => x.cniCode === 4 && re.test(x.message), JSON.stringify(patch));
  }
});

void test('parseCniArgs', () => {
  assert.deepEqual([...parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=a;X=')], [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'a'], ['X', '']]);
  assert.deepEqual([...parseCniArgs('')], []);
  assert.throws(() => parseCniArgs('A=1;B'), /CNI_ARGS: "B"/);
});

void test('formatResult: 0.3.x/0.4.0 carry ips[].version, 1.x does not; parseResult round trips', () => {
  const r = { interfaces: [{ name: 'cali1' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/n' }], ips: [{ address: '10.0.0.1/32', interface: 1 }, { address: 'fd00::1/128', interface: 1 }], routes: [{ dst: '0.0.0.0/0' }] };
  const old = formatResult(r, '0.3.1');
  assert.deepEqual((old.ips as { version: string }[]).map((i) => i.version), ['4', '6']);
  const cur = formatResult(r, '1.0.0');
  assert.equal((cur.ips as Record<string, unknown>[])[0]?.version, undefined);
  for (const v of ['0.3.0', '0.4.0', '1.1.0'] as const) {
    const back = parseResult(formatResult(r, v));
    assert.deepEqual(back.ips, r.ips);
    assert.deepEqual(back.interfaces, r.interfaces);
    assert.deepEqual(back.routes, r.routes);
  }
});

void test('errorObject: table codes for TricolorError, 999 for bugs', () => {
  const cases: [unknown, number][] = [
    [new TricolorError('ERR_CNI_VERSION', 'x'), 1],
    [new TricolorError('ERR_NETNS_MISSING', 'x'), 3],
    [new TricolorError('ERR_CNI_ENV', 'x'), 4],
    [new TricolorError('ERR_IO', 'x'), 5],
    [new TricolorError('ERR_PARSE', 'x'), 6],
    [new TricolorError('ERR_VALIDATION', 'x'), 7],
    [new TricolorError('ERR_DATASTORE_UNAVAILABLE', 'x'), 11],
    [new TricolorError('ERR_IPAM_EXHAUSTED', 'x'), 103],
    [new Error('boom'), 999],
    [new BugError('invariant'), 999],
    [new TricolorError('ERR_INTERNAL', 'invariant'), 999],
  ];
  for (const [e, code] of cases) assert.equal(errorObject(e, '1.0.0').code, code);
  // a bug carries its stack for the runtime's log; an expected failure does not
  assert.match(errorObject(new BugError('invariant'), '1.0.0').details ?? '', /BugError: invariant\n\s+at /);
  assert.equal(errorObject(new TricolorError('ERR_IO', 'x'), '1.0.0').details, undefined);
});

void test('runCni: verbs dispatch, VERSION needs no plugin, STATUS failures are code 50', async () => {
  const calls: string[] = [];
  const plugin: CniPlugin = {
    add: async () => {
      calls.push('add');
      return { ips: [{ address: '10.0.0.1/32' }] };
    },
    del: async () => void calls.push('del'),
    check: async () => void calls.push('check'),
    gc: async () => void calls.push('gc'),
    status: async () => {
      throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', 'down');
    },
  };
  const go = async (e: Record<string, string>, stdin: string, load: () => Promise<CniPlugin> = async () => plugin) => {
    let out = '';
    const status = await runCni(load, { env: e, stdin, stdout: (t) => (out += t), stderr: () => undefined });
    return { status, out };
  };
  const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 't' });
  const v = await go({ CNI_COMMAND: 'VERSION' }, '', async () => {
    throw new Error('must not load');
  });
  assert.equal(v.status, 0);
  assert.deepEqual(JSON.parse(v.out).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  const a = await go(env, conf);
  assert.deepEqual(JSON.parse(a.out), { cniVersion: '1.1.0', ips: [{ address: '10.0.0.1/32' }], dns: {} });
  assert.equal((await go({ ...env, CNI_COMMAND: 'DEL' }, conf)).out, '');
  const s = await go({ CNI_COMMAND: 'STATUS' }, conf);
  assert.deepEqual([s.status, JSON.parse(s.out).code], [1, 50]);
  const oldGc = await go({ CNI_COMMAND: 'GC' }, JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 't' }));
  assert.deepEqual([oldGc.status, JSON.parse(oldGc.out).code], [1, 1]);
  assert.deepEqual(calls, ['add', 'del']);
});
