// `tricolor ipam` against a real embedded store: calicoctl output shapes and the check →
// release --from-report round trip.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { SQLiteBackend } from '../../datastore/index.ts';
import { IPAMClient } from '../../ipam/index.ts';
import type { CliContext } from '../command.ts';
import { boxTable, goG5, makeIPAMCommand } from './ipam.ts';

const dir = mkdtempSync(join(tmpdir(), 'tricolor-ipam-cli-'));
let backend: SQLiteBackend;
const V3 = '/calico/resources/v3/projectcalico.org/';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ctx: CliContext = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: dir };
  const cmd = makeIPAMCommand({ openBackend: async () => backend, closeBackend: false });
  const code = await cmd.run(args, ctx);
  return { code, out, err };
}

before(async () => {
  backend = new SQLiteBackend({ path: join(dir, 'ds.db') });
  await backend.put(`${V3}ippools/pool1`, JSON.stringify({ kind: 'IPPool', metadata: { name: 'pool1' }, spec: { cidr: '10.9.0.0/24', blockSize: 26 } }));
  await backend.put(`${V3}nodes/n1`, JSON.stringify({ kind: 'Node', metadata: { name: 'n1' }, spec: {} }));
  await backend.put(`${V3}clusterinformations/default`, JSON.stringify({ kind: 'ClusterInformation', metadata: { name: 'default' }, spec: { clusterGUID: 'abc', datastoreReady: true } }));
});
after(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

void test('goG5 matches Go %.5g', () => {
  for (const [n, s] of [[0, '0'], [256, '256'], [65536, '65536'], [1048576, '1.0486e+06'], [100000, '1e+05'], [4.5, '4.5']] as const) assert.equal(goG5(n), s);
});

void test('boxTable draws calicoctl boxes', () => {
  assert.equal(boxTable(['A', 'BB'], [['x', '1']], new Set([1])), '+---+----+\n| A | BB |\n+---+----+\n| x |  1 |\n+---+----+\n');
});

void test('show, show --show-blocks, --ip, --show-configuration, --show-borrowed', async () => {
  const c = new IPAMClient({ backend });
  const r = await c.autoAssign({ num4: 3, num6: 0, handleId: 'k8s-pod-network.abc', hostname: 'n1', attrs: { pod: 'web', namespace: 'prod', node: 'n1' } });
  const ip = (r.ipv4[0] ?? '').split('/')[0] ?? '';
  let o = await run('show');
  assert.equal(o.code, 0);
  assert.match(o.out, /\| GROUPING \|\s+CIDR\s+\| IPS TOTAL \| IPS IN USE \| IPS RESERVED \|\s+IPS FREE\s+\|/);
  assert.match(o.out, /\| IP Pool {2}\| 10\.9\.0\.0\/24 \|\s+256 \|\s+3 \(1%\) \|\s+0 \(0%\) \| 253 \(99%\) \|/);
  o = await run('show', '--show-blocks');
  assert.match(o.out, /\| Block\s+\| 10\.9\.0\.\d+\/26 \|\s+64 \|\s+3 \(5%\) \|/);
  o = await run('show', `--ip=${ip}`);
  assert.equal(o.out, `IP ${ip} is in use\nHandle ID: k8s-pod-network.abc\nActive Owner Attributes:\n  namespace: prod\n  node: n1\n  pod: web\n`);
  o = await run('show', '--ip', '10.9.0.250');
  assert.equal(o.out, '10.9.0.250 is not assigned\n');
  await assert.rejects(run('show', '--ip=bogus'), /invalid IP address specified: "bogus"/);
  o = await run('show', '--show-configuration');
  assert.match(o.out, /\| StrictAffinity\s+\| false\s+\|/);
  assert.match(o.out, /\| MaxBlocksPerHost\s+\| 0\s+\|/);
  // a borrowed address: node n2 allocates from n1's block with strict affinity off
  await c.setConfig({ maxBlocksPerHost: 0 });
  const b = await c.autoAssign({ num4: 1, num6: 0, handleId: 'k8s-pod-network.b', hostname: 'n2', attrs: { pod: 'b', namespace: 'prod', node: 'n2' }, maxBlocksPerHost: 0 });
  assert.ok(b.ipv4.length === 1);
  o = await run('show', '--show-borrowed');
  assert.match(o.out, /\| IP\s+\| BORROWING-NODE \| BLOCK\s+\| BLOCK OWNER \| TYPE \| ALLOCATED-TO \|/);
  await c.releaseByHandle('k8s-pod-network.b');
});

void test('configure', async () => {
  let o = await run('configure', '--strictaffinity=true');
  assert.equal(o.out, 'Successfully set StrictAffinity to: true\n');
  o = await run('configure', '--max-blocks-per-host=4');
  assert.equal(o.out, 'Successfully set MaxBlocksPerHost to: 4\n');
  await assert.rejects(run('configure', '--strictaffinity=false'), /requires strictAffinity=true/);
  await assert.rejects(run('configure', '--strictaffinity=maybe'), /is not a boolean/);
  await assert.rejects(run('configure'), /at least one configuration option must be specified/);
  o = await run('configure', '--max-blocks-per-host=0', '--strictaffinity=false');
  assert.equal(o.code, 0);
});

void test('check -o then release --from-report frees exactly the leaks; release --ip', async () => {
  const c = new IPAMClient({ backend });
  let o = await run('check', '-o', 'r1.json');
  assert.match(o.out, /Check complete; found 3 problems\./, 'three pod IPs without a workload endpoint');
  const report = JSON.parse(readFileSync(join(dir, 'r1.json'), 'utf8')) as { leakedIPs: { ip: string }[]; clusterGUID: string };
  assert.equal(report.leakedIPs.length, 3);
  assert.equal(report.clusterGUID, 'abc');
  await assert.rejects(run('release', '--from-report=r1.json'), /datastore is not locked/);
  o = await run('release', '--from-report=r1.json', '--force');
  assert.match(o.out, /Releasing 3 old IPs\.\.\.\nReleased 3 IPs successfully\n/);
  assert.match(o.out, /You may now unlock the data store\.\n$/);
  o = await run('check');
  assert.match(o.out, /Check complete; found 0 problems\./);
  const r = await c.autoAssign({ num4: 1, num6: 0, handleId: 'x', hostname: 'n1' });
  const ip = (r.ipv4[0] ?? '').split('/')[0] ?? '';
  o = await run('release', `--ip=${ip}`);
  assert.equal(o.out, `Successfully released IP address ${ip}\n`);
  o = await run('release', `--ip=${ip}`);
  assert.equal(o.out, `IP address ${ip} is not assigned\n`);
  await assert.rejects(run('release'), /exactly one of --ip or --from-report/);
});
