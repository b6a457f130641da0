// End-to-end: routing between nodes in the lab, through the exact command contract. One lab
// routed by BGP (BIRD in every node) with a route reflector instead of the mesh, a `tor`
// router (gobgpd) that must learn every pod block, and the lab's own etcd as the datastore;
// cross-node TCP/UDP, a service whose backends sit on other nodes, NAT to the external host from
// every node, then faults: a killed agent (pods keep connectivity and policy), its restart
// (converges on what changed meanwhile), a killed BIRD with its routes flushed (the agent
// restarts it and the routes return). A second lab routes by VXLAN. `lab down` leaves nothing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { restartNodeAgent, readLabState } from '../../src/lab/index.ts';
import { run } from '../support/netns.ts';
import { LAB_ROOT, applyToLab, assertLabGone, eventually, forgetLab, labSkipReason, pidsNamed, probe, probeAll, recordedPids, tri, triOk, triOnLab, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason(['bird', 'gobgpd', 'etcd']);

interface StatusJson {
  datastore: string;
  routeReflector: string | null;
  nodes: { name: string; address: string; bgp: { peerAddress: string; peerType: string; state: string; info: string }[] | null }[];
  tor: { address: string; asNumber: number; running: boolean; sessions: { peer: string; state: string }[]; routes: { prefix: string; nextHops: string[] }[] } | null;
  pods: { namespace: string; name: string; node: string; ip: string }[];
}

async function status(lab: string): Promise<StatusJson> {
  return JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as StatusJson;
}

/** The /26 block an IPv4 address falls in (the lab's pools use blockSize 26). */
function block26(ip: string): string {
  const o = ip.split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) & 0xc0}/26`;
}

function agentStatus(lab: string, node: string): { pid: number; bird?: { running: boolean; pid: number | undefined; restarts: number } } {
  return JSON.parse(readFileSync(join(LAB_ROOT, lab, 'nodes', node, 'status.json'), 'utf8')) as { pid: number; bird?: { running: boolean; pid: number | undefined; restarts: number } };
}

const allConnected = (r: { results: { connected: boolean }[] }): boolean => r.results.length > 0 && r.results.every((x) => x.connected);

void describe('lab routing', { skip, timeout: 300_000 }, () => {
  void it('BGP with a route reflector and a tor peer, on the lab etcd: cross-node traffic, NAT, services, agent and BIRD faults', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    const up = await triOk(['lab', 'up', '--name', lab, '--nodes', '3', '--route-reflector', 'node-1', '--tor', '--datastore', 'etcdv3']);
    assert.match(up, /tor 172\.31\.0\.250 \(AS 64513\)/);
    assert.match(up, /datastore etcdv3 unixs:\/\/\//);

    const ip = {
      a: (await triOk(['lab', 'pod', 'add', 'x/a', '--node', 'node-1', '--labels', 'role=client', '--serve', 'tcp:80,udp:81'], lab)).trim(),
      b: (await triOk(['lab', 'pod', 'add', 'x/b', '--node', 'node-2', '--labels', 'app=web', '--serve', 'tcp:80,udp:81'], lab)).trim(),
      c: (await triOk(['lab', 'pod', 'add', 'x/c', '--node', 'node-3', '--labels', 'app=web', '--serve', 'tcp:80,udp:81'], lab)).trim(),
    };

    await t.test('every pod reaches every pod across nodes (TCP and UDP)', async () => {
      // routes follow the pods: BGP needs a moment to carry each new block
      let tcp = await probeAll(lab, 80);
      assert.ok(await eventually(async () => allConnected((tcp = await probeAll(lab, 80))), 30_000), JSON.stringify(tcp));
      assert.equal(tcp.results.length, 6);
      const udp = await probeAll(lab, 81, 'udp');
      assert.ok(allConnected(udp), JSON.stringify(udp));
    });

    await t.test('the datastore is the lab etcd, on a unix socket the host CLI reaches too', async () => {
      const s = await status(lab);
      assert.match(s.datastore, /^etcdv3 unixs:\/\/\/var\/run\/tricolor\/lab\/.+\/etcd\/etcd:2379$/);
      const peers = await triOnLab(['get', 'bgppeers', '-o', 'json'], lab);
      assert.match(peers, /"peerIP": "172\.31\.0\.250"/);
      assert.match(await triOnLab(['ipam', 'show'], lab), /10\.244\.0\.0\/16/);
      assert.equal((await pidsNamed(`tri-${lab}-etcd`, 'etcd')).length, 1);
      // nothing of the lab's etcd listens in the host's network namespace
      assert.doesNotMatch((await run(['ss', '-ltnH'])).stdout, /:2379\b|:2380\b/);
    });

    await t.test('sessions follow the route reflector (no mesh) and reach the tor', async () => {
      // sessions come up on BIRD's own timers (connect retry 5 s, error wait 5–30 s): wait for them
      let s = await status(lab);
      const up = (): boolean => {
        const bgp = s.nodes.find((n) => n.name === 'node-2')?.bgp ?? [];
        return ['172.31.0.11', '172.31.0.250'].every((a) => bgp.some((b) => b.peerAddress === a && b.info.startsWith('Established')));
      };
      await eventually(async () => {
        s = await status(lab);
        return up();
      }, 45_000);
      assert.equal(s.routeReflector, 'node-1');
      const n2 = s.nodes.find((n) => n.name === 'node-2');
      assert.ok(n2?.bgp !== null && n2?.bgp !== undefined, 'node-2 reports BGP sessions');
      const peers = new Map(n2.bgp.map((b) => [b.peerAddress, b]));
      assert.equal(peers.get('172.31.0.11')?.info.startsWith('Established'), true, JSON.stringify(n2.bgp));
      assert.equal(peers.get('172.31.0.250')?.info.startsWith('Established'), true, JSON.stringify(n2.bgp));
      assert.equal(peers.has('172.31.0.13'), false, 'no mesh session between clients of the reflector');
      const text = await triOk(['node', 'status', '--name', 'node-2'], lab);
      assert.match(text, /172\.31\.0\.11/);
      assert.match(text, /Established/);
    });

    await t.test('the tor router learns every pod block, with the owning node as next hop', async () => {
      const blocks = new Map([
        [block26(ip.a), '172.31.0.11'],
        [block26(ip.b), '172.31.0.12'],
        [block26(ip.c), '172.31.0.13'],
      ]);
      let s = await status(lab);
      const learned = async (): Promise<boolean> => {
        s = await status(lab);
        return [...blocks].every(([b, nh]) => s.tor?.routes.some((r) => r.prefix === b && r.nextHops.includes(nh)) === true);
      };
      assert.ok(await eventually(learned, 20_000), JSON.stringify(s.tor));
      assert.equal(s.tor?.asNumber, 64513);
      assert.equal(s.tor?.sessions.length, 3);
      assert.ok(s.tor?.sessions.every((x) => x.state === 'Established'), JSON.stringify(s.tor?.sessions));
      assert.match(await triOk(['lab', 'status'], lab), /TOR 172\.31\.0\.250 AS 64513 .*3\/3 sessions established/);
    });

    await t.test('pods on every node reach the external host, which sees their node address', async () => {
      for (const [pod, node] of [['x/a', '172.31.0.11'], ['x/b', '172.31.0.12'], ['x/c', '172.31.0.13']] as const) {
        const seen = await triOk(['lab', 'exec', pod, '--', 'socat', '-T2', '-', 'TCP:203.0.113.10:80'], lab);
        assert.equal(seen.trim(), node, pod);
      }
    });

    await t.test('a service with backends on two other nodes answers from every pick', async () => {
      const vip = (await triOk(['lab', 'svc', 'add', 'x/web', '--selector', 'app=web', '--port', '8080:80'], lab)).trim();
      assert.match(vip, /^10\.96\./);
      for (let i = 0; i < 6; i++) assert.equal(await probe(lab, 'x/a', 'x/web', 8080), true, `try ${i}`);
    });

    await t.test('a killed agent leaves connectivity and policy in force; restarted, it converges', async () => {
      const policy = (from: string): string =>
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'NetworkPolicy',
          metadata: { name: 'web-ingress', namespace: 'x' },
          spec: { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: from } }] },
        });
      const apply = async (doc: string): Promise<void> => {
        await applyToLab(lab, doc);
      };
      await apply(policy("role == 'client'"));
      assert.ok(await eventually(async () => !(await probe(lab, 'x/b', 'x/c', 80, ['--timeout-ms', '500'])), 15_000), 'web → web denied');
      assert.equal(await probe(lab, 'x/a', 'x/c', 80), true, 'client → web allowed');

      const state = readLabState(lab);
      const n3 = state?.nodes.find((n) => n.name === 'node-3');
      assert.ok(n3?.agentPid !== undefined);
      process.kill(n3.agentPid, 'SIGKILL');
      assert.ok(await eventually(async () => !existsPid(n3.agentPid ?? 0), 5000), 'agent gone');
      // nothing was flushed: the same verdicts hold with no agent on node-3
      assert.equal(await probe(lab, 'x/a', 'x/c', 80), true, 'client → web still allowed');
      assert.equal(await probe(lab, 'x/b', 'x/c', 80, ['--timeout-ms', '500']), false, 'web → web still denied');
      assert.equal(await probe(lab, 'x/c', 'x/a', 80), true, 'node-3 pod still routes out');

      // a change while the agent is down is picked up by the restarted agent
      await apply(policy("role == 'client' || app == 'web'"));
      const s = readLabState(lab);
      assert.ok(s !== undefined);
      await restartNodeAgent(s, 'node-3');
      // The new agent replaces the BIRD its killed predecessor left; node-3's new BIRD prunes the
      // routes the old one installed and relearns them once its session to the reflector is back,
      // which BIRD's error-wait back-off (5–30 s) can delay: allow for it.
      const converged = await eventually(() => probe(lab, 'x/b', 'x/c', 80, ['--timeout-ms', '500']), 60_000);
      const routes3 = converged ? '' : (await run(['ip', '-n', `tri-${lab}-node-3`, 'route'])).stdout;
      assert.ok(converged, `web → web allowed after restart\nnode-3 routes:\n${routes3}\n${logTail(lab, 'node-3-agent.log')}`);
      assert.equal(await probe(lab, 'x/a', 'x/c', 80), true);
      assert.equal(await probe(lab, 'x/c', 'x/b', 80), true);
    });

    await t.test('a killed BIRD is restarted by the agent and the flushed routes return', async () => {
      const netns = `tri-${lab}-node-2`;
      const before = agentStatus(lab, 'node-2').bird;
      assert.equal(before?.running, true, JSON.stringify(before));
      const birds = await pidsNamed(netns, 'bird');
      assert.equal(birds.length, 1, `one bird in ${netns}: ${birds.join(',')}`);
      const remote = block26(ip.a);
      const birdRoutes = async (): Promise<string> => (await run(['ip', '-n', netns, 'route', 'show', 'proto', 'bird'])).stdout;
      assert.match(await birdRoutes(), new RegExp(remote.replaceAll('.', '\\.').replace('/', '/')));
      process.kill(birds[0] ?? 0, 'SIGKILL');
      await run(['ip', '-n', netns, 'route', 'flush', 'proto', 'bird']);
      assert.ok(!(await birdRoutes()).includes(remote), 'routes flushed');
      assert.ok(
        await eventually(async () => {
          const now = await pidsNamed(netns, 'bird');
          return now.length === 1 && now[0] !== birds[0];
        }, 20_000),
        'BIRD restarted',
      );
      assert.ok(await eventually(async () => (await birdRoutes()).includes(remote), 30_000), 'routes back');
      assert.ok(await eventually(() => probe(lab, 'x/b', 'x/a', 80), 15_000), 'node-2 → node-1 again');
      assert.ok((agentStatus(lab, 'node-2').bird?.restarts ?? 0) > (before?.restarts ?? 0), 'restart counted');
    });

    await t.test('lab down stops etcd, gobgpd, BIRD and every agent and removes everything', async () => {
      const pids = [...recordedPids(lab), ...(await pidsNamed(`tri-${lab}-node-1`, 'bird')), ...(await pidsNamed(`tri-${lab}-node-3`, 'bird'))];
      assert.ok(pids.length >= 10, pids.join(','));
      await triOk(['lab', 'down', '--name', lab]);
      forgetLab(lab);
      await assertLabGone(lab, pids);
    });
  });

  void it('VXLAN: vxlan.calico per node, cross-node TCP/UDP, NAT, no BIRD', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--encap', 'vxlan']);
    await triOk(['lab', 'pod', 'add', 'v/a', '--node', 'node-1', '--serve', 'tcp:80,udp:81'], lab);
    await triOk(['lab', 'pod', 'add', 'v/b', '--node', 'node-2', '--serve', 'tcp:80,udp:81'], lab);
    let tcp = await probeAll(lab, 80);
    assert.ok(await eventually(async () => allConnected((tcp = await probeAll(lab, 80))), 20_000), JSON.stringify(tcp));
    assert.ok(allConnected(await probeAll(lab, 81, 'udp')));
    for (const node of ['node-1', 'node-2']) {
      const link = (await run(['ip', '-n', `tri-${lab}-${node}`, '-d', 'link', 'show', 'vxlan.calico'])).stdout;
      assert.match(link, /mtu 1450 /, link);
      assert.match(link, /vxlan id 4096 /, link);
      assert.match(link, /dstport 4789 /, link);
      assert.deepEqual(await pidsNamed(`tri-${lab}-${node}`, 'bird'), [], 'VXLAN-only pools run no BIRD');
    }
    const seen = await triOk(['lab', 'exec', 'v/b', '--', 'socat', '-T2', '-', 'TCP:203.0.113.10:80'], lab);
    assert.equal(seen.trim(), '172.31.0.12');
    const pids = recordedPids(lab);
    await triOk(['lab', 'down', '--name', lab]);
    forgetLab(lab);
    await assertLabGone(lab, pids);
  });
});

function logTail(lab: string, file: string): string {
  try {
    return readFileSync(join(LAB_ROOT, lab, 'logs', file), 'utf8').split('\n').filter((l) => !l.includes(' bird: ')).slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function existsPid(pid: number): boolean {
  try {
    const st = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return st !== undefined && st !== 'Z';
  } catch {
    return false;
  }
}
