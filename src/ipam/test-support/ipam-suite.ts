// The IPAM behaviour suite, run unchanged against every backend (embedded SQLite and real etcd):
// allocation, affinity, borrowing, limits, reservations, pool choice, release guards, check,
// leak detection, and the multi-process concurrency and crash tests of issue 4.

import assert from 'node:assert/strict';
import { startChild } from '../../base/io/index.ts';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isTricolorError } from '../../base/index.ts';
import type { DatastoreBackend } from '../../datastore/index.ts';
import { formatIP, parseCIDR } from '../../net/index.ts';
import {
  IPAMClient,
  LeakDetector,
  checkIPAM,
  ipAt,
  ensureTunnelAddress,
  loadCheckInputs,
  parseBlock,
  type IPAMCheckReport,
} from '../index.ts';

export interface SuiteBackend {
  readonly backend: DatastoreBackend;
  /** Environment that makes a child process open the same store. */
  readonly env: Readonly<Record<string, string>>;
  /** Remove every key (between tests). */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

const V3 = '/calico/resources/v3/projectcalico.org/';

export async function putPool(be: DatastoreBackend, name: string, spec: Record<string, unknown>): Promise<void> {
  await be.put(`${V3}ippools/${name}`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec }));
}
export async function putNode(be: DatastoreBackend, name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): Promise<void> {
  await be.put(`${V3}nodes/${name}`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name, labels }, spec }));
}
export async function putWEP(be: DatastoreBackend, ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await be.put(`${V3}workloadendpoints/${ns}/${name}`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name, namespace: ns }, spec }));
}
export async function putReservation(be: DatastoreBackend, name: string, cidrs: string[]): Promise<void> {
  await be.put(`${V3}ipreservations/${name}`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPReservation', metadata: { name }, spec: { reservedCIDRs: cidrs } }));
}

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTricolorError(e), `expected TricolorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

const strip = (s: string): string => s.split('/')[0] ?? s;

async function check(client: IPAMClient): Promise<IPAMCheckReport> {
  return checkIPAM(await loadCheckInputs(client, 'test'));
}

interface WorkerRun {
  readonly ips: { ip: string; handleId: string }[];
  readonly errors: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const WORKER = join(import.meta.dirname, 'alloc-worker.ts');

export async function runWorker(env: Readonly<Record<string, string>>, node: string, count: number, prefix: string, killAfterLines?: number): Promise<WorkerRun> {
  const ips: { ip: string; handleId: string }[] = [];
  let errors = 0;
  let stderr = '';
  // the kill must wait for the handle; lines can only arrive once it exists, but be safe
  const killer: { kill?: () => void; due: boolean } = { due: false };
  const child = await startChild([process.execPath, WORKER, node, String(count), prefix], {
    env: { ...process.env, ...env },
    onLine: (line, stream) => {
      if (stream === 'stderr') {
        stderr += `${line}\n`;
        return;
      }
      const o = JSON.parse(line) as { ip?: string; handleId?: string; done?: boolean; errors?: number };
      if (o.done === true) errors = o.errors ?? 0;
      else if (o.ip !== undefined && o.handleId !== undefined) ips.push({ ip: o.ip, handleId: o.handleId });
      if (killAfterLines !== undefined && ips.length >= killAfterLines) {
        killer.due = true;
        killer.kill?.();
      }
    },
  });
  killer.kill = () => child.kill('SIGKILL');
  if (killer.due) killer.kill();
  const { code, signal } = await child.exited;
  if (killAfterLines === undefined && (code !== 0 || errors > 0)) process.stderr.write(stderr);
  return { ips, errors, code, signal };
}

export interface SuiteOptions {
  /** Only the multi-process tests (for a variant of the worker, e.g. with the watch cache). */
  readonly workersOnly?: boolean;
}

export function ipamSuite(name: string, open: () => Promise<SuiteBackend>, opts: SuiteOptions = {}): void {
  // The workers-only variant declares only the multi-process cases: the single-process ones run in
  // the main suite of the same backend, and declaring them skipped would only add skips.
  const unitTest = (name: string, fn: () => Promise<void>): void => {
    if (opts.workersOnly !== true) void test(name, fn);
  };
  void describe(`IPAM on ${name}`, { concurrency: false }, () => {
    let sb: SuiteBackend;
    let be: DatastoreBackend;
    let t = Date.parse('2026-01-01T00:00:00Z');
    const now = (): number => t;
    const client = (): IPAMClient => new IPAMClient({ backend: be, now });

    before(async () => {
      sb = await open();
      be = sb.backend;
    });
    after(async () => {
      await sb.close();
    });

    const fresh = async (): Promise<void> => {
      await sb.wipe();
      t = Date.parse('2026-01-01T00:00:00Z');
    };

    unitTest('dual-stack autoAssign: block prefix, Calico keys and JSON, handle and attributes', async () => {
      await fresh();
      await putPool(be, 'v4', { cidr: '10.10.0.0/16', blockSize: 26 });
      await putPool(be, 'v6', { cidr: 'fd00:10::/112' });
      await putNode(be, 'node-a');
      const c = client();
      const r = await c.autoAssign({ num4: 2, num6: 1, handleId: 'k8s-pod-network.c1', hostname: 'node-a', attrs: { pod: 'p1', namespace: 'ns1', node: 'node-a' } });
      assert.equal(r.ipv4.length, 2);
      assert.equal(r.ipv6.length, 1);
      for (const ip of r.ipv4) assert.match(ip, /^10\.10\.\d+\.\d+\/26$/);
      assert.match(r.ipv6[0] ?? '', /^fd00:10::[0-9a-f:]*\/122$/);
      const [o1, o2, o3, o4] = strip(r.ipv4[0] ?? '').split('.');
      const key = `/calico/ipam/v2/assignment/ipv4/block/${o1}.${o2}.${o3}.${Number(o4) & ~63}-26`;
      const kv = await be.get(key);
      assert.ok(kv, `block key ${key} exists`);
      const raw = JSON.parse(kv.value) as Record<string, unknown>;
      for (const f of ['cidr', 'affinity', 'allocations', 'unallocated', 'attributes', 'sequenceNumber', 'sequenceNumberForAllocation', 'deleted']) assert.ok(f in raw, `block has ${f}`);
      assert.equal(raw['affinity'], 'host:node-a');
      assert.equal((raw['allocations'] as unknown[]).length, 64);
      const aff = await be.get(`/calico/ipam/v2/host/node-a/ipv4/block/${(raw['cidr'] as string).replace('/', '-')}`);
      assert.deepEqual(JSON.parse(aff?.value ?? '{}'), { state: 'confirmed', deleted: false });
      const h = await be.get('/calico/ipam/v2/handle/k8s-pod-network.c1');
      assert.ok(h);
      const hv = JSON.parse(h.value) as { block: Record<string, number> };
      assert.equal(Object.values(hv.block).reduce((a, b) => a + b, 0), 3);
      assert.deepEqual((await c.ipsByHandle('k8s-pod-network.c1')).sort(), [...r.ipv4, ...r.ipv6].map(strip).sort());
      const attrs = await c.getAssignmentAttributes(strip(r.ipv4[0] ?? ''));
      assert.equal(attrs?.handleId, 'k8s-pod-network.c1');
      assert.deepEqual(attrs?.attrs, { pod: 'p1', namespace: 'ns1', node: 'node-a' });
      assert.equal((await check(c)).problems, 1 * 3, 'three pod IPs without a WorkloadEndpoint are leaks');
      const released = await c.releaseByHandle('k8s-pod-network.c1');
      assert.equal(released.length, 3);
      assert.equal(await be.get('/calico/ipam/v2/handle/k8s-pod-network.c1'), undefined);
      assert.equal(await c.getAssignmentAttributes(strip(r.ipv4[0] ?? '')), undefined);
      assert.deepEqual(await c.releaseByHandle('k8s-pod-network.c1'), [], 'releasing a missing handle is success');
      assert.equal((await check(c)).problems, 0);
    });

    unitTest('affine blocks first; borrowing only without strict affinity; exhaustion names the pools', async () => {
      await fresh();
      await putPool(be, 'tiny', { cidr: '10.20.0.0/29', blockSize: 30 });
      const c = client();
      const a = await c.autoAssign({ num4: 4, num6: 0, handleId: 'a1', hostname: 'node-a' });
      const b = await c.autoAssign({ num4: 2, num6: 0, handleId: 'b1', hostname: 'node-b' });
      const blockOf = (ip: string): string => strip(ip).replace(/\d+$/, (x) => String(Number(x) & ~3));
      assert.equal(new Set(a.ipv4.map(blockOf)).size, 1, 'node-a filled one block');
      assert.notEqual(blockOf(b.ipv4[0] ?? ''), blockOf(a.ipv4[0] ?? ''));
      await c.setConfig({ strictAffinity: true });
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'a2', hostname: 'node-a' }), 'ERR_IPAM_EXHAUSTED', /Assigned 0 out of 1 requested IPv4 addresses; .*tiny/);
      await c.setConfig({ strictAffinity: false });
      const borrowed = await c.autoAssign({ num4: 2, num6: 0, handleId: 'a3', hostname: 'node-a' });
      assert.equal(blockOf(borrowed.ipv4[0] ?? ''), blockOf(b.ipv4[0] ?? ''), 'borrowed from node-b\'s block');
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'a4', hostname: 'node-a' }), 'ERR_IPAM_EXHAUSTED', /No IPs available in pools: \[tiny\]/);
      // partial success is undone: asking for 3 when 2 are free leaves nothing behind
      await c.releaseByHandle('a3');
      await rejects(c.autoAssign({ num4: 3, num6: 0, handleId: 'a5', hostname: 'node-a' }), 'ERR_IPAM_EXHAUSTED', /Assigned 2 out of 3/);
      assert.deepEqual(await c.ipsByHandle('a5'), []);
      assert.equal((await check(c)).problems, 0);
    });

    unitTest('maxBlocksPerHost caps new claims', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.30.0.0/24', blockSize: 30 });
      const c = client();
      await rejects(c.setConfig({ maxBlocksPerHost: 1 }), 'ERR_VALIDATION', /requires strictAffinity=true/);
      await c.setConfig({ strictAffinity: true, maxBlocksPerHost: 1 });
      const cfg = await c.getConfig();
      assert.equal(cfg.maxBlocksPerHost, 1);
      assert.deepEqual(JSON.parse((await be.get('/calico/ipam/v2/config'))?.value ?? ''), { strict_affinity: true, auto_allocate_blocks: true, maxBlocksPerHost: 1 });
      await c.autoAssign({ num4: 4, num6: 0, handleId: 'x', hostname: 'node-a' });
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'y', hostname: 'node-a' }), 'ERR_IPAM_EXHAUSTED', /per host block limit \(1\)/);
      const other = await c.autoAssign({ num4: 1, num6: 0, handleId: 'z', hostname: 'node-b' });
      assert.equal(other.ipv4.length, 1);
    });

    unitTest('sequence numbers stop a stale release; handles must match', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.40.0.0/30', blockSize: 32 });
      const c = client();
      const [ip] = (await c.autoAssign({ num4: 1, num6: 0, handleId: 'h1', hostname: 'n' })).ipv4;
      const a1 = await c.getAssignmentAttributes(strip(ip ?? ''));
      assert.ok(a1?.sequenceNumber !== undefined);
      const wrongHandle = await c.releaseIPs([{ ip: strip(ip ?? ''), handleId: 'other' }]);
      assert.equal(wrongHandle[0]?.status, 'error');
      assert.match(wrongHandle[0]?.message ?? '', /does not own it/);
      assert.equal((await c.releaseIPs([{ ip: strip(ip ?? '') }]))[0]?.status, 'released');
      // re-allocate the same /32 block address under a new handle
      const again = await c.assignIP({ ip: strip(ip ?? ''), handleId: 'h2', hostname: 'n' });
      assert.equal(strip(again), strip(ip ?? ''));
      const stale = await c.releaseIPs([{ ip: strip(ip ?? ''), sequenceNumber: a1.sequenceNumber }]);
      assert.equal(stale[0]?.status, 'error');
      assert.match(stale[0]?.message ?? '', /sequence number .* is stale/);
      assert.equal((await c.getAssignmentAttributes(strip(ip ?? '')))?.handleId, 'h2', 'live address survived');
      const fresh2 = await c.getAssignmentAttributes(strip(ip ?? ''));
      assert.equal((await c.releaseIPs([{ ip: strip(ip ?? ''), sequenceNumber: fresh2?.sequenceNumber ?? 0n, handleId: 'h2' }]))[0]?.status, 'released');
      assert.equal((await c.releaseIPs([{ ip: strip(ip ?? '') }]))[0]?.status, 'unallocated');
    });

    unitTest('reservations, assignIP refusals and pool choice', async () => {
      await fresh();
      await putPool(be, 'red', { cidr: '10.50.0.0/28', blockSize: 28, nodeSelector: "zone == 'red'" });
      await putPool(be, 'blue', { cidr: '10.50.1.0/28', blockSize: 28, nodeSelector: "zone == 'blue'" });
      await putPool(be, 'nsonly', { cidr: '10.50.2.0/28', blockSize: 28, namespaceSelector: "team == 'x'", allowedUses: ['Workload'] });
      await putPool(be, 'manual', { cidr: '10.50.3.0/28', blockSize: 28, assignmentMode: 'Manual' });
      await putPool(be, 'off', { cidr: '10.50.4.0/28', blockSize: 28, disabled: true });
      await putNode(be, 'r1', { zone: 'red' });
      await putNode(be, 'b1', { zone: 'blue' });
      await putReservation(be, 'res', ['10.50.0.0/29', '10.50.0.9']);
      const c = client();
      const red = await c.autoAssign({ num4: 7, num6: 0, handleId: 'r', hostname: 'r1' });
      const got = red.ipv4.map(strip).sort();
      assert.deepEqual(got, ['10.50.0.10', '10.50.0.11', '10.50.0.12', '10.50.0.13', '10.50.0.14', '10.50.0.15', '10.50.0.8']);
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'r2', hostname: 'r1' }), 'ERR_IPAM_EXHAUSTED', /\[red\]/);
      const blue = await c.autoAssign({ num4: 1, num6: 0, handleId: 'b', hostname: 'b1' });
      assert.match(blue.ipv4[0] ?? '', /^10\.50\.1\./);
      const ns = await c.autoAssign({ num4: 1, num6: 0, handleId: 'n', hostname: 'b1', namespace: { labels: { team: 'x' } }, ipv4Pools: [] });
      assert.match(ns.ipv4[0] ?? '', /^10\.50\.[12]\./);
      const named = await c.autoAssign({ num4: 1, num6: 0, handleId: 'm', hostname: 'b1', ipv4Pools: ['manual'] });
      assert.match(named.ipv4[0] ?? '', /^10\.50\.3\./);
      const byCIDR = await c.autoAssign({ num4: 1, num6: 0, handleId: 'm2', hostname: 'b1', ipv4Pools: ['10.50.3.0/28'] });
      assert.match(byCIDR.ipv4[0] ?? '', /^10\.50\.3\./);
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'u', hostname: 'b1', ipv4Pools: ['nope'] }), 'ERR_IPAM_INVALID_REQUEST', /the given pool \(nope\) does not exist, or is not enabled/);
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'u', hostname: 'b1', ipv4Pools: ['off'] }), 'ERR_IPAM_INVALID_REQUEST', /the given pool \(off\)/);
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: 'u', hostname: 'b1', intendedUse: 'Tunnel', ipv4Pools: ['nsonly'] }), 'ERR_IPAM_INVALID_REQUEST', /do not allow use "Tunnel"/);
      await rejects(c.autoAssign({ num4: 0, num6: 1, handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /no IPv6 pools are configured for node "b1"/);
      await rejects(c.assignIP({ ip: '192.168.99.1', handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /not in a configured pool: "192.168.99.1"/);
      await rejects(c.assignIP({ ip: '10.50.0.3', handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /reserved by an IPReservation: "10.50.0.3"/);
      await rejects(c.assignIP({ ip: '10.50.4.1', handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /not in a configured pool/);
      await rejects(c.assignIP({ ip: strip(blue.ipv4[0] ?? ''), handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_IN_USE', /Address already assigned in block/);
      await rejects(c.assignIP({ ip: 'not-an-ip', handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /"not-an-ip" is not a valid IP/);
      await rejects(c.autoAssign({ num4: -1, num6: 0, handleId: 'u', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /num4: -1/);
      await rejects(c.autoAssign({ num4: 1, num6: 0, handleId: '', hostname: 'b1' }), 'ERR_IPAM_INVALID_REQUEST', /handleId/);
      assert.equal(await c.assignIP({ ip: '10.50.1.9', handleId: 'static', hostname: 'b1' }), '10.50.1.9/28');
    });

    unitTest('empty blocks: released without affinity, affinity hand-back, tunnel addresses', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.60.0.0/24', blockSize: 28 });
      await putNode(be, 'n1');
      const c = client();
      const [ip] = (await c.autoAssign({ num4: 1, num6: 0, handleId: 'h', hostname: 'n1' })).ipv4;
      const cidr = parseCIDR(`${strip(ip ?? '')}/28`);
      assert.equal(await c.releaseAffinity('n1', cidr, { mustBeEmpty: true }), 'not-empty');
      assert.equal(await c.releaseAffinity('n1', cidr), 'released');
      const kv = await be.get(`/calico/ipam/v2/assignment/ipv4/block/${strip(ip ?? '').replace(/\d+$/, (x) => String(Number(x) & ~15))}-28`);
      assert.ok(kv);
      assert.equal(parseBlock(kv.value).affinity, null, 'non-empty block kept, affinity cleared');
      await c.releaseByHandle('h');
      assert.equal((await c.listBlocks()).length, 0, 'empty non-affine block deleted');
      const t1 = await ensureTunnelAddress(c, { node: 'n1', type: 'vxlanTunnelAddress' });
      assert.equal(await ensureTunnelAddress(c, { node: 'n1', type: 'vxlanTunnelAddress' }), t1, 'idempotent');
      const at = await c.getAssignmentAttributes(t1);
      assert.equal(at?.handleId, 'vxlan-tunnel-addr-n1');
      assert.deepEqual(at?.attrs, { type: 'vxlanTunnelAddress', node: 'n1' });
      assert.equal((await check(c)).problems, 0, 'tunnel address of a live node is owned');
    });

    unitTest('leak detection: two passes a grace period apart, re-validated, all or nothing per handle', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.70.0.0/24', blockSize: 26 });
      await putNode(be, 'n1');
      const c = client();
      const live = await c.autoAssign({ num4: 1, num6: 0, handleId: 'k8s-pod-network.live', hostname: 'n1', attrs: { pod: 'live', namespace: 'ns', node: 'n1' } });
      const dead = await c.autoAssign({ num4: 1, num6: 0, handleId: 'k8s-pod-network.dead', hostname: 'n1', attrs: { pod: 'dead', namespace: 'ns', node: 'n1' } });
      const half = await c.autoAssign({ num4: 2, num6: 0, handleId: 'k8s-pod-network.half', hostname: 'n1', attrs: { pod: 'half', namespace: 'ns', node: 'n1' } });
      const odd = await c.autoAssign({ num4: 1, num6: 0, handleId: 'something-else', hostname: 'n1' });
      await putWEP(be, 'ns', 'n1-k8s-live-eth0', { node: 'n1', pod: 'live', containerID: 'live', ipNetworks: [`${strip(live.ipv4[0] ?? '')}/32`] });
      await putWEP(be, 'ns', 'n1-k8s-half-eth0', { node: 'n1', pod: 'half', containerID: 'other', ipNetworks: [`${strip(half.ipv4[0] ?? '')}/32`] });
      const report = await check(c);
      assert.deepEqual(report.leakedIPs.map((l) => l.ip).sort(), [strip(dead.ipv4[0] ?? ''), strip(half.ipv4[1] ?? '')].sort());
      const gc = new LeakDetector({ client: c, gracePeriodMs: 15 * 60_000, now });
      let r = await gc.pass();
      assert.equal(r.released.length, 0, 'first sighting never releases');
      t += 60_000;
      r = await gc.pass();
      assert.equal(r.released.length, 0, 'second sighting inside the grace period does not release');
      t += 15 * 60_000;
      r = await gc.pass();
      assert.deepEqual(r.released, [strip(dead.ipv4[0] ?? '')], 'only the wholly leaked handle is released');
      assert.ok(r.skipped >= 1, 'half-live handle skipped');
      assert.deepEqual(await c.ipsByHandle('k8s-pod-network.live'), live.ipv4.map(strip));
      assert.deepEqual(await c.ipsByHandle('something-else'), odd.ipv4.map(strip), 'unclassifiable allocation left alone');
      // a node that is gone: its pod allocations become leaks too, still after two passes
      await be.delete(`${V3}nodes/n1`);
      await be.delete(`${V3}workloadendpoints/ns/n1-k8s-live-eth0`);
      r = await gc.pass();
      assert.equal(r.released.length, 0);
      t += 16 * 60_000;
      r = await gc.pass();
      assert.ok(r.released.includes(strip(live.ipv4[0] ?? '')));
    });

    unitTest('leak detection: a release refused for its block (an address re-allocated meanwhile) keeps the other leaks confirmed', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.71.0.0/24', blockSize: 26 });
      await putNode(be, 'n1');
      // the detector's client runs `before` just ahead of its next release (the race window)
      class Hooked extends IPAMClient {
        before: (() => Promise<void>) | undefined;
        override async releaseIPs(items: Parameters<IPAMClient['releaseIPs']>[0]): ReturnType<IPAMClient['releaseIPs']> {
          const b = this.before;
          this.before = undefined;
          if (b !== undefined) await b();
          return super.releaseIPs(items);
        }
      }
      const c = new Hooked({ backend: be });
      const dead1 = strip((await c.autoAssign({ num4: 1, num6: 0, handleId: 'k8s-pod-network.dead1', hostname: 'n1', attrs: { pod: 'dead1', namespace: 'ns', node: 'n1' } })).ipv4[0] ?? '');
      const dead2 = strip((await c.autoAssign({ num4: 1, num6: 0, handleId: 'k8s-pod-network.dead2', hostname: 'n1', attrs: { pod: 'dead2', namespace: 'ns', node: 'n1' } })).ipv4[0] ?? '');
      const gc = new LeakDetector({ client: c, gracePeriodMs: 15 * 60_000, now });
      assert.equal((await gc.pass()).released.length, 0);
      t += 16 * 60_000;
      // between the detector's scan and its release: dead1 is freed and handed to a new live pod
      c.before = async () => {
        await c.releaseByHandle('k8s-pod-network.dead1');
        await c.assignIP({ ip: dead1, handleId: 'k8s-pod-network.new', hostname: 'n1', attrs: { pod: 'new', namespace: 'ns', node: 'n1' } });
        await putWEP(be, 'ns', 'n1-k8s-new-eth0', { node: 'n1', pod: 'new', containerID: 'new', ipNetworks: [`${dead1}/32`] });
      };
      const refused = await gc.pass();
      assert.deepEqual(refused.released, [], 'the stale sequence number refuses the whole block');
      // the next pass releases dead2 at once (its sighting was kept), never the new pod's address
      const next = await gc.pass();
      assert.deepEqual(next.released, [dead2]);
      assert.equal((await c.getAssignmentAttributes(dead1))?.handleId, 'k8s-pod-network.new');
      assert.equal(await c.getAssignmentAttributes(dead2), undefined);
    });

    unitTest('check finds handle and affinity inconsistencies', async () => {
      await fresh();
      await putPool(be, 'p', { cidr: '10.80.0.0/24', blockSize: 26 });
      const c = client();
      await c.autoAssign({ num4: 2, num6: 0, handleId: 'h', hostname: 'n1' });
      assert.equal((await check(c)).problems, 0);
      await be.delete('/calico/ipam/v2/handle/h');
      await be.put('/calico/ipam/v2/handle/orphan', JSON.stringify({ block: { '10.80.0.0/26': 1 } }));
      await be.put('/calico/ipam/v2/host/n2/ipv4/block/10.80.0.192-26', JSON.stringify({ state: 'pending' }));
      const r = await check(c);
      assert.deepEqual(r.missingHandles.map((h) => h.id), ['h']);
      assert.deepEqual(r.leakedHandles.map((h) => h.id), ['orphan']);
      assert.equal(r.affinityMismatches.length, 1);
      assert.equal(r.problems, 3);
    });

    const concurrent = async (sameNode: boolean): Promise<void> => {
      await fresh();
      await putPool(be, 'big', { cidr: '10.100.0.0/16', blockSize: 24 });
      for (const n of ['shared', ...Array.from({ length: 8 }, (_, i) => `node-${i}`)]) await putNode(be, n);
      const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => runWorker(sb.env, sameNode ? 'shared' : `node-${i}`, 500, `p${i}`)));
      const all = runs.flatMap((r) => r.ips);
      for (const r of runs) {
        assert.equal(r.code, 0);
        assert.equal(r.errors, 0, 'every conflict retried to success');
      }
      assert.equal(all.length, 4000);
      assert.equal(new Set(all.map((a) => a.ip)).size, 4000, 'no address allocated twice');
      const c = client();
      const stored = (await c.listBlocks()).flatMap((b) =>
        b.block.allocations.flatMap((a, o) => (a === null ? [] : [`${b.block.attributes[a]?.handle_id}=${formatIP(ipAt(b.block, o))}`])),
      );
      assert.deepEqual(stored.sort(), all.map((a) => `${a.handleId}=${a.ip}`).sort(), 'store holds exactly what was handed out: none lost');
      const report = await check(c);
      assert.equal(report.problems, 0, JSON.stringify(report).slice(0, 2000));
      const hosts = new Set((await c.listBlocks()).map((b) => b.block.affinity));
      assert.equal(hosts.size, sameNode ? 1 : 8);
    };

    void test('8 processes x 500 allocations on one node: no duplicates, none lost', { timeout: 600_000 }, () => concurrent(true));
    void test('8 processes x 500 allocations on 8 nodes: no duplicates, none lost', { timeout: 600_000 }, () => concurrent(false));

    void test('SIGKILL mid-allocation leaves a consistent store', { timeout: 300_000 }, async () => {
      await fresh();
      await putPool(be, 'k', { cidr: '10.110.0.0/16', blockSize: 26 });
      await putNode(be, 'kn');
      await putNode(be, 'kn2');
      const runs = await Promise.all([runWorker(sb.env, 'kn', 400, 'k0', 60), runWorker(sb.env, 'kn', 400, 'k1', 90), runWorker(sb.env, 'kn2', 400, 'k2', 120)]);
      for (const r of runs) assert.equal(r.signal, 'SIGKILL');
      const c = client();
      const report = await check(c);
      assert.equal(report.duplicateAllocations.length, 0);
      assert.equal(report.problems, 0, JSON.stringify(report).slice(0, 2000));
      // every handle the killed workers reported is still present and allocated
      for (const r of runs) for (const a of r.ips) assert.equal((await c.getAssignmentAttributes(a.ip))?.handleId, a.handleId);
      // and allocation continues normally afterwards
      const after = await c.autoAssign({ num4: 1, num6: 0, handleId: 'post', hostname: 'kn' });
      assert.equal(after.ipv4.length, 1);
    });
  });
}
