// The host path end to end (issue 16 item 1), as README "Run Tricolor on your hosts" tells a
// user: install-units, install-cni, the agent started as its unit starts it, then a pod's ADD,
// CHECK and DEL through the installed plugin. A network namespace stands in for the host; the
// child (host-path-child.ts) runs in a private mount namespace where /etc is a copy and
// /var/lib, /opt and /var/run/tricolor are empty, so every default path is used as installed
// and nothing is written to the real host's files.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNetns, netnsSkipReason } from '../support/netns.ts';

const CHILD = join(import.meta.dirname, 'host-path-child.ts');
type J = Record<string, unknown>;

/** The host's underlay MTU: not the kernel's 1500, so a pod that got no MTU from the agent shows. */
const UNDERLAY_MTU = 1400;

/** Runs host-path-child.ts with the agent's ExecStart plus `extraAgentArgs`; its observations. */
async function hostPath(t: TestContext, extraAgentArgs: readonly string[]): Promise<J> {
  const host = await createNetns(t, 'tri-hp-');
  const pod = await createNetns(t, 'tri-hpp-');
  // the host's uplink with an address, so the agent can find its node IP as on a real host
  await host.execOk(['ip', 'link', 'add', 'eth0', 'mtu', String(UNDERLAY_MTU), 'type', 'veth', 'peer', 'name', 'eth0p']);
  await host.execOk(['ip', 'link', 'set', 'eth0p', 'up']);
  await host.execOk(['ip', 'addr', 'add', '10.213.255.1/24', 'dev', 'eth0']);
  await host.execOk(['ip', 'link', 'set', 'eth0', 'up']);
  const work = mkdtempSync(join(tmpdir(), 'tri-hostpath-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  const child = spawn('unshare', ['--mount', '--propagation', 'private', process.execPath, CHILD, host.name, pod.name, work, JSON.stringify(extraAgentArgs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `child printed no result (exit ${code}):\n${stderr}\n${stdout}`);
  const o = JSON.parse(line) as J;
  const agentLog = typeof o['agentLog'] === 'string' ? o['agentLog'] : '';
  assert.equal(o['error'], undefined, `${String(o['error'])}\nagent log:\n${agentLog}`);
  return o;
}

/** The pod got the agent's MTU through the installed plugin's default mtu_file (Calico's path). */
function assertPodMtu(o: J): void {
  assert.equal(o['mtuFile'], String(UNDERLAY_MTU), 'the agent did not write the underlay MTU to /var/lib/calico/mtu');
  const add = o['add'] as { code: number };
  assert.equal(add.code, 0);
  const link = (o['podLink'] as { mtu: number }[])[0];
  assert.equal(link?.mtu, UNDERLAY_MTU, `pod eth0 MTU ${String(link?.mtu)}: the plugin did not find the agent's MTU file`);
}

void test('host path: install-units + install-cni defaults, agent as its unit runs it, pod ADD/CHECK/DEL', { skip: netnsSkipReason(), timeout: 360_000 }, async (t) => {
  const o = await hostPath(t, []);
  const agentLog = typeof o['agentLog'] === 'string' ? o['agentLog'] : '';

  // the installed configuration was used as installed: unit ExecStart is `<node> <cli> node run`
  const words = o['execStart'] as string[];
  assert.deepEqual(words.slice(-2), ['node', 'run']);
  assert.match(String(o['installUnits']), /tricolor-node\.service/);
  assert.match(String(o['installUnits']), /\/etc\/tricolor\/tricolor\.env/);
  // the agent wrote the nodename file at Calico's default path, with the name the CNI then used
  const nodeName = String(o['nodenameFile']);
  assert.ok(nodeName.length > 0);

  assert.equal(o['cniSocketMode'], 0o600);
  const nobody = o['cniSocketAsNobody'] as { code: number; stderr: string };
  assert.notEqual(nobody.code, 0);
  assert.match(nobody.stderr, /Permission denied/);

  const add = o['add'] as { code: number; stdout: string; stderr: string };
  assert.equal(add.code, 0, `ADD failed: ${add.stdout}${add.stderr}\nagent log:\n${agentLog}`);
  const result = JSON.parse(add.stdout) as { ips: { address: string }[]; interfaces: { name: string }[] };
  const ip = result.ips[0]?.address ?? '';
  assert.match(ip, /^10\.213\.0\.\d+\/32$/);
  const podAddrs = (o['podAddresses'] as { addr_info: { local: string }[] }[])[0]?.addr_info.map((a) => a.local) ?? [];
  assert.ok(podAddrs.includes(ip.split('/')[0] ?? ''), `pod eth0 lacks ${ip}: ${JSON.stringify(podAddrs)}`);
  const hostIf = result.interfaces.find((i) => i.name.startsWith('cali'))?.name ?? '';
  assert.ok((o['hostLinksAfterAdd'] as { ifname: string }[]).some((l) => l.ifname === hostIf), `no host veth ${hostIf}`);
  // the pod route is there at the agent's metric from the start (issue 16 item 2)
  const route = (o['hostRoutesAfterAdd'] as { dst: string; dev: string; metric?: number }[]).find((r) => r.dev === hostIf);
  assert.ok(route !== undefined, 'no route to the pod');
  assert.equal(route.metric, 1024, `pod route at metric ${String(route.metric)}: ${JSON.stringify(route)}`);
  const weps = (o['wepsAfterAdd'] as { items: { spec: { node: string; interfaceName: string } }[] }).items;
  assert.equal(weps.length, 1);
  assert.equal(weps[0]?.spec.node, nodeName);
  assert.equal(weps[0]?.spec.interfaceName, hostIf);

  const check = o['check'] as { code: number; stdout: string; stderr: string };
  assert.equal(check.code, 0, `CHECK failed: ${check.stdout}${check.stderr}`);
  const del = o['del'] as { code: number; stdout: string; stderr: string };
  assert.equal(del.code, 0, `DEL failed: ${del.stdout}${del.stderr}`);
  assert.ok(!(o['hostLinksAfterDel'] as { ifname: string }[]).some((l) => l.ifname === hostIf), 'host veth left after DEL');
  assert.deepEqual((o['wepsAfterDel'] as { items: unknown[] }).items, []);
  // the agent served the calls (not the stand-alone fallback)
  const status = JSON.parse(String(o['agentStatus'])) as { running: boolean };
  assert.equal(status.running, true);
  assertPodMtu(o);
});

// A user who names the run directory (`node run --run-dir /var/run/tricolor`, as the docs spell
// the default) must still get pods with the agent's MTU: --run-dir moves neither the nodename
// file nor the MTU file, both being the contract with the plugin's default configuration.
void test('host path: an agent given --run-dir still writes the MTU file the installed plugin reads', { skip: netnsSkipReason(), timeout: 360_000 }, async (t) => {
  const o = await hostPath(t, ['--run-dir', '/var/run/tricolor']);
  assertPodMtu(o);
  assert.equal(o['runDirMtuFile'], false, '--run-dir moved the MTU file');
});
