// The fast CNI path in real namespaces: `tricolor install-cni` writes a POSIX sh `tricolor-cni`
// that hands each call to the node agent's unix socket (socat); the agent, running in the node
// namespace, does ADD/CHECK/DEL in-process. Also: malformed requests to the socket get CNI
// error JSON, a failed ADD through the agent leaves nothing behind, and with the agent stopped
// (socket gone) or killed (stale socket refusing) the same script runs the plugin itself.
// Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { resolveResourceType } from '../../src/api/index.ts';
import { AGENT_PROTOCOL_MAGIC, encodeAgentRequest, parseAgentReply, podHostIfName } from '../../src/cni/index.ts';
import { createNetns, linkNames, netnsSkipReason, type TestNetns } from '../support/netns.ts';
import { installWrapper, makeRig, podArgs, startAgent, type CniAgent, type Rig } from './cni-harness.ts';

const skip = netnsSkipReason() ?? (spawnSync('socat', ['-V']).status === 0 ? undefined : 'socat is not installed');
const wepInfo = resolveResourceType('workloadendpoint');

function cleanupList(): { reg: (fn: () => Promise<void>) => void; run: () => Promise<void> } {
  const fns: (() => Promise<void>)[] = [];
  return {
    reg: (fn) => void fns.push(fn),
    run: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

/** Send raw bytes to the socket, half-close, read the whole answer. */
function rawRequest(path: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    s.on('error', reject);
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.end(data);
  });
}

async function state(rig: Rig): Promise<{ weps: string[]; handles: string[]; cali: string[] }> {
  const c = await rig.client();
  try {
    return {
      weps: (await c.client.list(wepInfo)).items.map((w) => w.metadata.name),
      handles: (await c.client.backend.list('/calico/ipam/v2/handle/')).items.map((kv) => kv.key),
      cali: (await linkNames(rig.node)).filter((n) => n.startsWith('cali')),
    };
  } finally {
    await c.close();
  }
}

const served = (agent: CniAgent, cmd: string, id: string): boolean => agent.log().includes(`cni: ${cmd} ${id} ok`);

void describe('tricolor-cni through the node agent socket', { skip }, () => {
  let rig: Rig;
  let wrapper: string;
  let agent: CniAgent;
  let pod: TestNetns;
  const cleanup = cleanupList();
  after(cleanup.run);

  before(async () => {
    rig = await makeRig(cleanup.reg, { cidr: '10.246.0.0/24', blockSize: 26 });
    pod = await createNetns(cleanup.reg);
    agent = await startAgent(rig, cleanup.reg);
    wrapper = await installWrapper(rig, agent.socketPath);
  });

  void it('serves ADD, CHECK and DEL through the installed wrapper (run by dash)', async () => {
    assert.equal(statSync(agent.socketPath).mode & 0o777, 0o600);
    const args = podArgs('shop', 'fast-1', 'ctr-f1');
    const add = await rig.invoke('ADD', { containerId: 'ctr-f1', netns: pod.path, args, wrapper });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    assert.ok(served(agent, 'ADD', 'ctr-f1'), `the agent did not serve the ADD:\n${agent.log()}`);
    const ips = add.json?.ips as { address: string }[];
    assert.match(ips[0]?.address ?? '', /^10\.246\.0\.\d+\/32$/);
    const hostIf = podHostIfName('shop', 'fast-1');
    assert.deepEqual((await state(rig)).cali, [hostIf]);
    assert.equal((await state(rig)).weps.length, 1);
    // the pod side is really configured
    const addrs = await pod.ipJson(['addr', 'show', 'dev', 'eth0']);
    assert.ok(JSON.stringify(addrs).includes((ips[0]?.address ?? '').split('/')[0] ?? 'x'));

    const conf = { ...rig.netconf(), prevResult: add.json };
    const check = await rig.invoke('CHECK', { containerId: 'ctr-f1', netns: pod.path, args, conf, wrapper });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.ok(served(agent, 'CHECK', 'ctr-f1'));
    // dash explicitly: the script must not depend on bash
    const viaDash = await rig.node.exec(['dash', wrapper], {
      input: JSON.stringify(conf),
      env: { PATH: process.env.PATH, CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'ctr-f1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: args },
    });
    assert.equal(viaDash.status, 0, viaDash.stdout + viaDash.stderr);

    const del = await rig.invoke('DEL', { containerId: 'ctr-f1', netns: pod.path, args, wrapper });
    assert.equal(del.status, 0, del.stdout + del.stderr);
    assert.equal(del.stdout, '');
    assert.ok(served(agent, 'DEL', 'ctr-f1'));
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
    const again = await rig.invoke('DEL', { containerId: 'ctr-f1', netns: pod.path, args, wrapper });
    assert.equal(again.status, 0, again.stdout + again.stderr);
  });

  void it('serves concurrent ADDs and DELs: distinct addresses, every endpoint, nothing left after', async () => {
    const n = 6;
    const pods: TestNetns[] = [];
    for (let i = 0; i < n; i++) pods.push(await createNetns(cleanup.reg));
    const call = (cmd: string, i: number) =>
      rig.invoke(cmd, { containerId: `ctr-c${i}`, netns: (pods[i] as TestNetns).path, args: podArgs('conc', `pod-${i}`, `ctr-c${i}`), wrapper });
    const adds = await Promise.all(pods.map((_, i) => call('ADD', i)));
    for (const r of adds) assert.equal(r.status, 0, r.stdout + r.stderr);
    const ips = adds.map((r) => (r.json?.ips as { address: string }[])[0]?.address);
    assert.equal(new Set(ips).size, n, `addresses handed out twice: ${ips.join(', ')}`);
    const st = await state(rig);
    assert.equal(st.weps.length, n);
    assert.equal(st.cali.length, n);
    assert.equal(st.handles.length, n);
    const dels = await Promise.all(pods.map((_, i) => call('DEL', i)));
    for (const r of dels) assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
  });

  void it('ADD replaces a stale host interface of the same pod (an earlier sandbox)', async () => {
    const hostIf = podHostIfName('shop', 'stale-1');
    // the stale one: a veth whose other end is still in the node namespace
    await rig.node.execOk(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'stale-peer']);
    const args = podArgs('shop', 'stale-1', 'ctr-st1');
    const add = await rig.invoke('ADD', { containerId: 'ctr-st1', netns: pod.path, args, wrapper });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const names = await linkNames(rig.node);
    assert.ok(names.includes(hostIf) && !names.includes('stale-peer'), names.join(' '));
    assert.equal((await pod.ipJson(['link', 'show', 'dev', 'eth0'])).length, 1);
    const del = await rig.invoke('DEL', { containerId: 'ctr-st1', netns: pod.path, args, wrapper });
    assert.equal(del.status, 0, del.stdout + del.stderr);
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
  });

  void it('a failed ADD through the agent is a CNI error and leaves nothing behind', async () => {
    const r = await rig.invoke('ADD', { containerId: 'ctr-gone', netns: '/var/run/netns/tri-no-such-ns', args: podArgs('shop', 'gone', 'ctr-gone'), wrapper });
    assert.equal(r.status, 1);
    assert.equal(r.json?.code, 3, r.stdout);
    assert.match(String(r.json?.msg), /tri-no-such-ns/);
    assert.ok(agent.log().includes('ADD ctr-gone failed'));
    const bad = await rig.invoke('ADD', { containerId: 'ctr-bad', netns: pod.path, stdin: '{"cniVersion":"1.0.0", nope', wrapper });
    assert.equal(bad.status, 1);
    assert.equal(bad.json?.code, 6, bad.stdout);
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
  });

  void it('answers malformed requests on the socket with CNI error JSON', async () => {
    const cases: { name: string; data: string; match: RegExp }[] = [
      { name: 'wrong greeting', data: 'HELLO\n\n{}', match: /first line "HELLO"/ },
      { name: 'no end of variables', data: `${AGENT_PROTOCOL_MAGIC}\nCNI_COMMAND=ADD\n`, match: /not ended by an empty line/ },
      { name: 'unknown variable', data: `${AGENT_PROTOCOL_MAGIC}\nLD_PRELOAD=/x.so\n\n{}`, match: /LD_PRELOAD/ },
      { name: 'duplicate variable', data: `${AGENT_PROTOCOL_MAGIC}\nCNI_COMMAND=ADD\nCNI_COMMAND=DEL\n\n{}`, match: /given twice/ },
      { name: 'empty request', data: '', match: /first line/ },
    ];
    for (const c of cases) {
      const reply = parseAgentReply(await rawRequest(agent.socketPath, c.data));
      assert.ok(reply !== undefined, c.name);
      assert.equal(reply.status, 1, c.name);
      const err = JSON.parse(reply.stdout) as { code: number; msg: string };
      assert.equal(err.code, 6, `${c.name}: ${reply.stdout}`);
      assert.match(err.msg, c.match, c.name);
    }
    // Well framed but invalid CNI: the plugin's own validation answers (code 4, invalid env).
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bad id!', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
    const reply = parseAgentReply(await rawRequest(agent.socketPath, encodeAgentRequest({ env, stdin: JSON.stringify(rig.netconf()) })));
    assert.equal(reply?.status, 1);
    assert.equal((JSON.parse(reply?.stdout ?? '{}') as { code: number }).code, 4);
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
  });

  void it('falls back to running the plugin itself when the agent is killed (stale socket) or stopped (no socket)', async () => {
    await agent.stop('SIGKILL');
    assert.ok(existsSync(agent.socketPath), 'a killed agent leaves its socket file');
    const args = podArgs('shop', 'slow-1', 'ctr-s1');
    const add = await rig.invoke('ADD', { containerId: 'ctr-s1', netns: pod.path, args, wrapper });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    assert.equal((await state(rig)).weps.length, 1);
    // a restarted agent replaces the stale socket and serves again
    agent = await startAgent(rig, cleanup.reg);
    const del = await rig.invoke('DEL', { containerId: 'ctr-s1', netns: pod.path, args, wrapper });
    assert.equal(del.status, 0, del.stdout + del.stderr);
    assert.ok(served(agent, 'DEL', 'ctr-s1'));
    await agent.stop('SIGTERM');
    assert.equal(existsSync(agent.socketPath), false, 'a stopped agent removes its socket');
    const add2 = await rig.invoke('ADD', { containerId: 'ctr-s2', netns: pod.path, args: podArgs('shop', 'slow-2', 'ctr-s2'), wrapper });
    assert.equal(add2.status, 0, add2.stdout + add2.stderr);
    const del2 = await rig.invoke('DEL', { containerId: 'ctr-s2', netns: pod.path, args: podArgs('shop', 'slow-2', 'ctr-s2'), wrapper });
    assert.equal(del2.status, 0, del2.stdout + del2.stderr);
    assert.deepEqual(await state(rig), { weps: [], handles: [], cali: [] });
  });
});
