// End-to-end: what real clusters have, in the lab. Several external hosts, each with its own
// address (`lab up --externals N`, listed by `lab status -o json` as externals: [{name, ip}]),
// reached from pods on every node through NAT; and pods that declare container ports beyond what
// they serve (`lab pod add … --named-port NAME=PROTO:PORT`), one port name meaning a different
// number on each pod, with a named-port policy resolved per pod. Bad flags are refused naming
// the flag and the value, and leave nothing behind.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyToLab, assertLabGone, eventually, forgetLab, labSkipReason, probe, recordedPids, tri, triOk, triOnLab, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason();

interface StatusJson {
  external: { netns: string; ip: string };
  externals: { name: string; ip: string }[];
  pods: { namespace: string; name: string; namedPorts?: string[] }[];
}

void describe('lab externals and named ports', { skip, timeout: 300_000 }, () => {
  void it('three external hosts reached from every node; one port name, a number per pod, policy resolves per pod', async (t) => {
    const bad = await tri(['lab', 'up', '--name', uniqueLab(), '--externals', '0']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--externals: "0" is not a number from 1 to 16/);

    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    const up = await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--externals', '3', '--no-controllers']);
    assert.match(up, /external hosts external-1 203\.0\.113\.10, external-2 203\.0\.113\.11, external-3 203\.0\.113\.12/);
    const s = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as StatusJson;
    assert.deepEqual(s.externals, [
      { name: 'external-1', ip: '203.0.113.10' },
      { name: 'external-2', ip: '203.0.113.11' },
      { name: 'external-3', ip: '203.0.113.12' },
    ]);
    assert.equal(s.external.ip, '203.0.113.10', 'the single-external field stays: the first one');

    // a: web = 81, b: web = 82; both serve 80, 81 and 82
    await triOk(['lab', 'pod', 'add', 'x/a', '--node', 'node-1', '--labels', 'app=web', '--serve', 'tcp:80,tcp:81,tcp:82', '--named-port', 'web=tcp:81', '--named-port', 'metrics=tcp:9100'], lab);
    await triOk(['lab', 'pod', 'add', 'x/b', '--node', 'node-2', '--labels', 'app=web', '--serve', 'tcp:80,tcp:81,tcp:82', '--named-port', 'web=tcp:82'], lab);
    await triOk(['lab', 'pod', 'add', 'x/c', '--node', 'node-2', '--labels', 'role=client'], lab);

    await t.test('every pod reaches every external host by address and by name; each sees the node address', async () => {
      for (const [pod, node] of [['x/a', '172.31.0.11'], ['x/c', '172.31.0.12']] as const) {
        for (const e of s.externals) {
          assert.ok(await eventually(() => probe(lab, pod, e.ip, 80), 15_000), `${pod} → ${e.name} ${e.ip}`);
          assert.equal(await probe(lab, pod, e.name, 80), true, `${pod} → ${e.name}`);
          assert.equal(await probe(lab, pod, e.ip, 53, ['--protocol', 'udp']), true, `${pod} → ${e.name} udp 53`);
          const seen = await triOk(['lab', 'exec', pod, '--', 'socat', '-T2', '-', `TCP:${e.ip}:80`], lab);
          assert.equal(seen.trim(), node, `${e.name} sees ${pod} as its node's address`);
        }
      }
      // the external hosts share their network: one reaches the other directly
      const seen = await triOk(['lab', 'exec', 'external-3', '--', 'socat', '-T2', '-', 'TCP:203.0.113.10:80'], lab);
      assert.equal(seen.trim(), '203.0.113.12');
      assert.equal(await probe(lab, 'external-2', 'external', 80), true);
      const unknown = await tri(['lab', 'probe', 'external-4', 'x/a', '--port', '80'], lab);
      assert.notEqual(unknown.status, 0);
      assert.match(unknown.stderr, /"external-4" is not a pod or external host .*external-1, external-2, external-3/);
    });

    await t.test('the named ports reach the WorkloadEndpoints, and lab status lists them', async () => {
      const weps = JSON.parse(await triOnLab(['get', 'workloadendpoints', '-n', 'x', '-o', 'json'], lab)) as { items: { spec: { pod: string; ports?: { name: string; protocol: string; port: number }[] } }[] };
      const ports = (pod: string): string[] => (weps.items.find((w) => w.spec.pod === pod)?.spec.ports ?? []).map((p) => `${p.name}=${p.protocol}:${p.port}`).sort();
      assert.deepEqual(ports('a'), ['metrics=TCP:9100', 'serve-80-tcp=TCP:80', 'serve-81-tcp=TCP:81', 'serve-82-tcp=TCP:82', 'web=TCP:81']);
      assert.deepEqual(ports('b'), ['serve-80-tcp=TCP:80', 'serve-81-tcp=TCP:81', 'serve-82-tcp=TCP:82', 'web=TCP:82']);
      const st = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as StatusJson;
      assert.deepEqual(st.pods.find((p) => p.name === 'a')?.namedPorts, ['web=tcp:81', 'metrics=tcp:9100']);
      assert.match(await triOk(['lab', 'status'], lab), /x\/a .*ports web=tcp:81,metrics=tcp:9100/);
    });

    await t.test('a policy allowing port "web" opens 81 on a and 82 on b, nothing else', async () => {
      await applyToLab(
        lab,
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'NetworkPolicy',
          metadata: { name: 'web-by-name', namespace: 'x' },
          spec: { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "role == 'client'" }, destination: { ports: ['web'] } }] },
        }),
      );
      const quick = ['--timeout-ms', '500'];
      assert.ok(await eventually(async () => !(await probe(lab, 'x/c', 'x/a', 80, quick)), 15_000), 'c → a:80 denied once the policy is in force');
      const want: [string, number, boolean][] = [
        ['x/a', 81, true],
        ['x/a', 82, false],
        ['x/b', 82, true],
        ['x/b', 81, false],
        ['x/b', 80, false],
      ];
      for (const [to, port, ok] of want) {
        assert.ok(await eventually(async () => (await probe(lab, 'x/c', to, port, quick)) === ok, 15_000), `c → ${to}:${port} ${ok ? 'allowed' : 'denied'}`);
      }
    });

    await t.test('a bad --named-port is refused naming the flag and the value, and adds no pod', async () => {
      for (const [flag, re] of [
        ['web=tcp:70000', /--named-port: "70000" is not a port from 1 to 65535/],
        ['web:81', /--named-port: "web:81" is not NAME=PROTO:PORT/],
        ['Web=tcp:81', /--named-port: "Web=tcp:81": the name "Web" is not a valid port name/],
      ] as const) {
        const r = await tri(['lab', 'pod', 'add', 'x/d', '--named-port', flag], lab);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, re);
      }
      const twice = await tri(['lab', 'pod', 'add', 'x/d', '--named-port', 'web=tcp:81', '--named-port', 'web=tcp:82'], lab);
      assert.match(twice.stderr, /the name "web" is given twice/);
      const st = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as StatusJson;
      assert.equal(st.pods.some((p) => p.name === 'd'), false, 'no pod d');
    });

    await t.test('lab down removes every external host', async () => {
      const pids = recordedPids(lab);
      await triOk(['lab', 'down', '--name', lab]);
      forgetLab(lab);
      await assertLabGone(lab, pids);
    });
  });
});
