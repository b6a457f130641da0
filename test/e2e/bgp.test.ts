// BGP with real BIRD in real network namespaces: three node namespaces on a bridge (in a
// fourth), each running BIRD under a BirdSupervisor with the config our renderer gives it.
// Checks the full mesh converges and programs every other node's block, that `kill -9` on a
// BIRD is healed by the supervisor, and that a reload into a route-reflector topology (mesh off,
// n1 reflecting with cluster id 224.0.0.1) still carries n2's and n3's blocks to each other.
// Needs root and BIRD; skipped otherwise. Everything is removed also on failure.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { BGPConfiguration, BGPPeer, Node } from '../../src/api/index.ts';
import { isTricolorError } from '../../src/base/index.ts';
import {
  type BGPPeerStatus,
  BirdSupervisor,
  renderBirdConfig,
  renderNodeStatus,
} from '../../src/bgp/index.ts';
import { bgpConfig, bgpPeer, ipPool, node } from '../../src/bgp/test-fixtures.ts';
import { createNetns, netnsSkipReason, runOk, type TestNetns } from '../support/netns.ts';
import { until } from '../support/wait.ts';

const skip = netnsSkipReason() ?? (spawnSync('bird', ['--version']).status === 0 ? undefined : 'BIRD is not installed');

const N = 3;
const nodeIP = (i: number) => `10.99.0.${10 + i}`;
const block = (i: number) => `10.244.${i}.0/26`;
const pool = ipPool('default-ipv4-ippool', '10.244.0.0/16');
/** BGP sessions come up on BIRD's timers (connect retry 5 s, error wait up to 30 s). */
const BGP_WAIT_MS = 60_000;

interface Route {
  dst?: string;
  gateway?: string;
  protocol?: string;
  type?: string;
}

async function routes(ns: TestNetns): Promise<Route[]> {
  // ip -j route objects carry these keys (and more).
  return ns.ipJson(['route', 'show']);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void describe('BGP with BIRD in network namespaces', { skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  });
  const reg = (fn: () => Promise<void>) => {
    cleanups.push(fn);
  };

  let nss: TestNetns[] = [];
  let sups: BirdSupervisor[] = [];
  const pids = new Set<number>();
  let nodes: Node[] = [];

  function render(i: number, configs: BGPConfiguration[], peers: BGPPeer[]): string {
    return renderBirdConfig({
      nodeName: `n${i}`,
      nodes,
      bgpConfigurations: configs,
      bgpPeers: peers,
      bgpFilters: [],
      ipPools: [pool],
      blocks: [{ cidr: block(i), state: 'confirmed' }],
    }).text;
  }

  async function peersOf(i: number): Promise<BGPPeerStatus[]> {
    return sups[i - 1]!.showPeers(2000);
  }

  async function waitEstablished(i: number, expected: string[]): Promise<BGPPeerStatus[]> {
    return until(`n${i} sessions ${expected.join(', ')} Established`, async () => {
      const ps = await peersOf(i);
      const got = ps.map((p) => p.peerAddress).sort();
      return JSON.stringify(got) === JSON.stringify([...expected].sort()) && ps.every((p) => p.info.startsWith('Established')) ? ps : undefined;
    }, BGP_WAIT_MS, 250);
  }

  async function waitRoutes(i: number, others: number[]): Promise<void> {
    await until(`n${i} routes to ${others.map(block).join(', ')}`, async () => {
      const rs = await routes(nss[i - 1]!);
      const ok = others.every((j) => rs.some((r) => r.dst === block(j) && r.gateway === nodeIP(j) && r.protocol === 'bird'));
      return ok ? true : undefined;
    }, BGP_WAIT_MS, 250);
  }

  void test('set up: underlay bridge and three nodes', async () => {
    const underlay = await createNetns(reg);
    await runOk(['ip', '-n', underlay.name, 'link', 'add', 'br0', 'type', 'bridge']);
    await runOk(['ip', '-n', underlay.name, 'link', 'set', 'br0', 'up']);
    for (let i = 1; i <= N; i++) {
      const ns = await createNetns(reg);
      nss.push(ns);
      // Made inside the underlay namespace with the peer end created directly in the node's:
      // nothing ever touches the host namespace.
      await runOk(['ip', '-n', underlay.name, 'link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
      await runOk(['ip', '-n', underlay.name, 'link', 'set', `n${i}`, 'master', 'br0', 'up']);
      await runOk(['ip', '-n', ns.name, 'addr', 'add', `${nodeIP(i)}/24`, 'dev', 'eth0']);
      await runOk(['ip', '-n', ns.name, 'link', 'set', 'eth0', 'up']);
    }
    nodes = Array.from({ length: N }, (_, k) => node(`n${k + 1}`, { ipv4Address: `${nodeIP(k + 1)}/24` }));
    for (let i = 1; i <= N; i++) {
      const runDir = await mkdtemp(join(tmpdir(), 'tri-bgp-'));
      const sup = new BirdSupervisor({
        runDir,
        netns: { name: nss[i - 1]!.name },
        initialBackoffMs: 100,
        onEvent: (e) => {
          if (e.kind === 'started') pids.add(e.pid);
        },
      });
      sups.push(sup);
      reg(async () => {
        await sup.stop();
        await rm(runDir, { recursive: true, force: true });
      });
    }
  });

  void test('full mesh: sessions establish and every node routes the others\' blocks', async () => {
    for (let i = 1; i <= N; i++) assert.equal(await sups[i - 1]!.apply(render(i, [], [])), 'started');
    for (let i = 1; i <= N; i++) {
      const others = [1, 2, 3].filter((j) => j !== i);
      const ps = await waitEstablished(i, others.map(nodeIP));
      assert.ok(ps.every((p) => p.peerType === 'node-to-node mesh'));
      await waitRoutes(i, others);
      const own = (await routes(nss[i - 1]!)).find((r) => r.dst === block(i));
      assert.equal(own?.type, 'blackhole', `n${i} blackholes its own block`);
      const copied = (await routes(nss[i - 1]!)).filter((r) => r.dst === '10.99.0.0/24' && r.protocol === 'bird');
      assert.deepEqual(copied, [], 'connected routes are not copied back into the kernel');
    }
    const status = renderNodeStatus({ agentRunning: true, peers: await peersOf(1) });
    assert.match(status, /\| 10\.99\.0\.12 +\| node-to-node mesh \| up +\| [0-9:-]+ \| Established \|/);
    // Same text again: nothing to do.
    assert.equal(await sups[0]!.apply(render(1, [], [])), 'unchanged');
  });

  void test('kill -9 BIRD: the supervisor restarts it and the routes come back', async () => {
    const sup = sups[1]!;
    const old = sup.pid;
    assert.ok(old !== undefined);
    process.kill(old, 'SIGKILL');
    await until('BIRD on n2 restarted', async () => (sup.pid !== undefined && sup.pid !== old ? true : undefined), BGP_WAIT_MS, 250);
    assert.equal(sup.restarts, 1);
    // `persist` leaves the old routes in the kernel; drop them so their return proves the new BIRD works.
    await runOk(['ip', '-n', nss[1]!.name, 'route', 'flush', 'proto', 'bird']);
    await waitEstablished(2, [nodeIP(1), nodeIP(3)]);
    await waitRoutes(2, [1, 3]);
  });

  void test('reload into a route-reflector topology (mesh off, n1 reflects with cluster id 224.0.0.1)', async () => {
    nodes = [
      node('n1', { ipv4Address: `${nodeIP(1)}/24`, routeReflectorClusterID: '224.0.0.1' }, { 'route-reflector': 'true' }),
      node('n2', { ipv4Address: `${nodeIP(2)}/24` }),
      node('n3', { ipv4Address: `${nodeIP(3)}/24` }),
    ];
    const configs = [bgpConfig('default', { nodeToNodeMeshEnabled: false })];
    const peers = [bgpPeer('peer-to-rr', { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' })];
    for (let i = 1; i <= N; i++) assert.equal(await sups[i - 1]!.apply(render(i, configs, peers)), 'reloaded');
    const rr = await waitEstablished(1, [nodeIP(2), nodeIP(3)]);
    assert.ok(rr.every((p) => p.peerType === 'node specific'));
    await waitEstablished(2, [nodeIP(1)]);
    await waitEstablished(3, [nodeIP(1)]);
    // n2 and n3 no longer peer with each other, so these routes were reflected by n1, with the
    // originator's next hop kept.
    await runOk(['ip', '-n', nss[1]!.name, 'route', 'flush', 'proto', 'bird']);
    await runOk(['ip', '-n', nss[2]!.name, 'route', 'flush', 'proto', 'bird']);
    await waitRoutes(2, [1, 3]);
    await waitRoutes(3, [1, 2]);
    await waitRoutes(1, [2, 3]);
  });

  void test('a restarted owner adopts the live BIRD whose configuration is unchanged (no session flap)', async () => {
    const first = sups[2]!;
    const text = first.configText!;
    const pid = first.pid;
    assert.ok(pid !== undefined);
    const established = (): Promise<BGPPeerStatus[]> =>
      until('n3 sessions Established', async () => {
        const ps = await peersOf(3);
        return ps.length > 0 && ps.every((p) => p.info.startsWith('Established')) ? ps : undefined;
      }, BGP_WAIT_MS, 250);
    const before = await established();
    // a second supervisor on the same run dir stands in for the agent started after a SIGKILL
    const next = new BirdSupervisor({ runDir: dirname(first.configPath), netns: { name: nss[2]!.name }, initialBackoffMs: 100 });
    reg(() => next.stop());
    assert.equal(await next.apply(text), 'adopted');
    assert.equal(next.pid, pid, 'the same BIRD process');
    const after = await established();
    // sessions kept their "since" time: they never went down
    assert.deepEqual(after.map((p) => p.since), before.map((p) => p.since));
    assert.equal(await next.apply(text), 'unchanged');
    // a changed configuration is a reload of the adopted BIRD, not a new process
    assert.equal(await next.apply(text.replace('# ', '#  ')), 'reloaded');
    assert.equal(next.pid, pid);
    assert.equal(await next.apply(text), 'reloaded');
  });

  void test('a configuration BIRD rejects is refused and the running one stays', async () => {
    const sup = sups[0]!;
    const before = sup.configText;
    const pid = sup.pid;
    await assert.rejects(sup.apply('router id nonsense;\n'), (e) => isTricolorError(e, 'ERR_VALIDATION'));
    assert.equal(sup.configText, before);
    assert.equal(await sup.readConfigFile(), before);
    assert.equal(sup.pid, pid);
    await waitEstablished(1, [nodeIP(2), nodeIP(3)]);
  });

  void test('stop leaves no BIRD behind', async () => {
    for (const sup of sups) await sup.stop();
    for (const pid of pids) assert.equal(alive(pid), false, `BIRD pid ${pid} still running`);
    for (const ns of nss) {
      const left = (await runOk(['ip', 'netns', 'pids', ns.name])).trim();
      assert.equal(left, '', `processes left in ${ns.name}`);
    }
    sups = [];
    nss = [];
  });
});
