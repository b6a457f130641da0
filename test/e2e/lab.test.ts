// End-to-end: the lab driven through its exact command contract (`tricolor lab …` as a user
// types it) on real network namespaces — up, pods, same-node probes (TCP and UDP), the external
// host behind NAT, a ClusterIP service through the proxy, cross-node traffic over the BGP full
// mesh, pod add/del, `probe --all`, and that `lab down` leaves nothing behind; then the
// quickstart demo end to end with nginx and access on different nodes. Route reflector, tor,
// the lab etcd, VXLAN and faults are in lab-routing.test.ts (runs in parallel with this file).
// Every lab gets a unique name and is taken down by t.after and, as a last resort, at exit.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { run } from '../support/netns.ts';
import { BIN, assertLabGone, eventually, forgetLab, labEnv, labSkipReason, netnsWithPrefix, probe, recordedPids, tri, triOk, triOnLab, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason(['bird']);

void describe('tricolor lab', { skip, timeout: 600_000 }, () => {
  void it('builds a cluster, plugs pods, probes, serves, NATs, and leaves nothing behind', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    const up = await triOk(['lab', 'up', '--name', lab, '--nodes', '3']);
    assert.match(up, /3 nodes/);

    await t.test('a second `lab up` of the same name is refused', async () => {
      const r = await tri(['lab', 'up', '--name', lab]);
      assert.equal(r.status, 5);
      assert.match(r.stderr, /already up/);
    });

    const ipA = (await triOk(['lab', 'pod', 'add', 'default/a', '--node', 'node-1', '--labels', 'app=web', '--serve', 'tcp:80,udp:81'], lab)).trim();
    const ipB = (await triOk(['lab', 'pod', 'add', 'default/b', '--node', 'node-1', '--labels', 'app=web', '--serve', 'tcp:80,udp:81'], lab)).trim();
    const ipC = (await triOk(['lab', 'pod', 'add', 'other/c', '--node', 'node-2', '--labels', 'app=client', '--serve', 'tcp:80'], lab)).trim();
    for (const ip of [ipA, ipB, ipC]) assert.match(ip, /^10\.244\.\d+\.\d+$/);

    await t.test('same-node TCP and UDP probes connect; a closed port does not', async () => {
      assert.equal((await tri(['lab', 'probe', 'default/a', 'default/b', '--port', '80'], lab)).status, 0);
      assert.equal((await tri(['lab', 'probe', 'default/a', 'default/b', '--port', '81', '--protocol', 'udp'], lab)).status, 0);
      assert.equal((await tri(['lab', 'probe', 'default/a', ipB, '--port', '80'], lab)).status, 0);
      assert.equal((await tri(['lab', 'probe', 'default/a', 'default/b', '--port', '82', '--timeout-ms', '300'], lab)).status, 1);
      assert.equal((await tri(['lab', 'probe', 'default/a', 'default/b', '--port', '82', '--protocol', 'udp', '--timeout-ms', '300'], lab)).status, 1);
    });

    await t.test('the container ports are named serve-PORT-PROTO on the endpoint', async () => {
      const out = await triOnLab(['get', 'workloadendpoints', '-n', 'default', '-o', 'json'], lab);
      assert.match(out, /serve-80-tcp/);
      assert.match(out, /serve-81-udp/);
    });

    await t.test('pods reach the external host, which sees the node address (natOutgoing)', async () => {
      assert.equal((await tri(['lab', 'probe', 'default/a', 'external', '--port', '80'], lab)).status, 0);
      assert.equal((await tri(['lab', 'probe', 'default/a', 'external', '--port', '53', '--protocol', 'udp'], lab)).status, 0);
      const seen = await triOk(['lab', 'exec', 'default/a', '--', 'socat', '-T2', '-', 'TCP:203.0.113.10:80'], lab);
      assert.equal(seen.trim(), '172.31.0.11');
      // the external host has no route to pods: it reaches them only through NAT'd replies
      assert.equal((await tri(['lab', 'probe', 'external', 'default/a', '--port', '80', '--timeout-ms', '300'], lab)).status, 1);
    });

    await t.test('a ClusterIP service load-balances to its pods and resolves by name', async () => {
      const vip = (await triOk(['lab', 'svc', 'add', 'default/web', '--selector', 'app=web', '--port', '8080:80'], lab)).trim();
      assert.match(vip, /^10\.96\.\d+\.\d+$/);
      // several tries: the random pick lands on a itself too (hairpin, masqueraded by the proxy)
      for (let i = 0; i < 6; i++) assert.equal((await tri(['lab', 'probe', 'default/a', 'default/web', '--port', '8080'], lab)).status, 0, `try ${i}`);
      const hosts = await triOk(['lab', 'exec', 'default/a', '--', 'getent', 'hosts', 'web'], lab);
      assert.match(hosts, new RegExp(`^${vip.replaceAll('.', '\\.')}\\s`));
      const fq = await triOk(['lab', 'exec', 'other/c', '--', 'getent', 'hosts', 'web.default.svc.cluster.local'], lab);
      assert.match(fq, new RegExp(vip.replaceAll('.', '\\.')));
      const status = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { services: { name: string; endpoints: number }[]; nodes: unknown[] };
      assert.equal(status.nodes.length, 3);
      assert.equal(status.services.find((s) => s.name === 'web')?.endpoints, 2);
    });

    await t.test('probe --all prints every ordered pair in the contract shape', async () => {
      const out = JSON.parse(await triOk(['lab', 'probe', '--all', '--port', '80', '--timeout-ms', '500', '-o', 'json'], lab)) as {
        port: number;
        protocol: string;
        results: { from: string; to: string; connected: boolean }[];
      };
      assert.equal(out.port, 80);
      assert.equal(out.protocol, 'tcp');
      assert.equal(out.results.length, 6);
      assert.deepEqual(out.results.find((r) => r.from === 'default/a' && r.to === 'default/b'), { from: 'default/a', to: 'default/b', connected: true });
    });

    await t.test('plain tricolor commands on the host use the lab datastore', async (tt) => {
      if (existsSync('/etc/calico/calicoctl.cfg')) return tt.skip('/etc/calico/calicoctl.cfg exists and takes precedence');
      const r = await run([process.execPath, BIN, 'get', 'ippools'], { env: labEnv() });
      // the pointer names the most recent lab; another lab started meanwhile would own it
      const pointer = await run(['cat', '/var/run/tricolor/lab/current.cfg']);
      if (!pointer.stdout.includes(`name: ${lab}`)) return tt.skip('another lab was started since');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /default-ipv4-ippool/);
    });

    await t.test('cross-node pod traffic over the BGP full mesh, both ways, TCP and UDP', async () => {
      assert.ok(await eventually(() => probe(lab, 'other/c', 'default/a', 80), 20_000), 'node-2 → node-1');
      assert.equal(await probe(lab, 'default/a', 'other/c', 80), true, 'node-1 → node-2');
      assert.equal(await probe(lab, 'other/c', 'default/b', 81, ['--protocol', 'udp']), true, 'UDP node-2 → node-1');
      // a pod on node-2 reaches the external host as node-2
      assert.equal((await triOk(['lab', 'exec', 'other/c', '--', 'socat', '-T2', '-', 'TCP:203.0.113.10:80'], lab)).trim(), '172.31.0.12');
      const status = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { nodes: { name: string; bgp: { peerAddress: string; peerType: string; info: string }[] | null }[] };
      for (const n of status.nodes) {
        const mesh = (n.bgp ?? []).filter((b) => b.peerType === 'node-to-node mesh' && b.info.startsWith('Established'));
        assert.equal(mesh.length, 2, `${n.name}: ${JSON.stringify(n.bgp)}`);
      }
    });

    await t.test('pod del unplugs the pod and removes its objects', async () => {
      await triOk(['lab', 'pod', 'del', 'default/b'], lab);
      assert.deepEqual(await netnsWithPrefix(`tri-${lab}-pod-default-b`), []);
      assert.equal((await tri(['lab', 'probe', 'default/a', ipB, '--port', '80', '--timeout-ms', '300'], lab)).status, 1);
      const weps = await triOnLab(['get', 'workloadendpoints', '-n', 'default', '-o', 'json'], lab);
      assert.ok(!weps.includes('-b-eth0'), 'endpoint of b is gone');
      assert.equal((await tri(['lab', 'pod', 'del', 'default/b'], lab)).status, 4);
      // re-adding the same name works
      assert.match((await triOk(['lab', 'pod', 'add', 'default/b', '--node', 'node-1'], lab)).trim(), /^10\.244\./);
    });

    await t.test('lab down removes namespaces, processes, /etc/netns entries and the run directory', async () => {
      const pids = recordedPids(lab);
      await triOk(['lab', 'down', '--name', lab]);
      forgetLab(lab);
      await assertLabGone(lab, pids);
    });
  });

  void it('runs the quickstart demo to all ✔ across two nodes and leaves the lab up', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    const r = await tri(['lab', 'demo', 'quickstart', '--name', lab]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout.match(/✔/g) ?? []).length, 8, r.stdout);
    assert.ok(!r.stdout.includes('✘'), r.stdout);
    for (const y of ['name: default-deny', 'name: allow-busybox-egress', 'name: allow-nginx-ingress']) assert.ok(r.stdout.includes(y), y);
    assert.match(r.stdout, /tricolor lab down/);
    // nginx and access sit on different nodes: every probe crossed the BGP-routed underlay
    assert.match(r.stdout, /pod quickstart\/nginx \(app=nginx\) on node-2/);
    assert.match(r.stdout, /pod quickstart\/access \(run=access\) on node-1/);
    assert.ok(existsSync(`/var/run/tricolor/lab/${lab}/state.json`), 'the lab stays up');
    // the lab is still usable after the demo
    assert.equal((await tri(['lab', 'probe', 'quickstart/access', 'quickstart/nginx', '--port', '80'], lab)).status, 0);
  });
});
