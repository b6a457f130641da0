// The eBPF dataplane's kube-proxy replacement in a real lab (`lab up --dataplane bpf`): Services
// through the BPF NAT maps, as a client pod sees them. Each backend pod runs a small server (this
// test's own, on port 9000, beside the lab's pod servers) that answers with its pod's name, so
// every connection says which backend it reached. Proves:
//   - without affinity, new connections from one client spread over the backends;
//   - `sessionAffinity: ClientIP` (timeout 3 s) pins the client to one backend, and once the
//     timeout has passed a new backend can be chosen;
//   - with a long timeout, removing the pinned backend sends the client to the remaining one at
//     once (the affinity record of the removed backend is deleted, not left to time out);
//   - the client node's nat_frontend_hit counter counts the new service connections;
//   - a bad affinity timeout is refused with a coded error naming field and value, and no
//     Service is created.
// Root only; the lab has a unique name and is taken down after (and at exit as a last resort).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeNatAff } from '../../src/dataplane/bpf/encoding.ts';
import { bpftoolBatchOk, dumpEntries } from '../../src/dataplane/bpf/io/bpftool.ts';
import { listPods, readLabState } from '../../src/lab/index.ts';
import { eventually, forgetLab, labSkipReason, sleep, tri, triOk, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason(['bpftool', 'clang']);
const PORT = 9000;

void describe('eBPF services in a lab', { skip, timeout: 600_000 }, () => {
  void it('spreads without affinity, pins with ClientIP, re-picks after the timeout, forgets a removed backend', async (t) => {
    const lab = uniqueLab();
    const servers: ChildProcess[] = [];
    t.after(async () => {
      // (a removed pod's server was killed with its pod)
      for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--dataplane', 'bpf']);
    await triOk(['lab', 'pod', 'add', 'default/a', '--node', 'node-1', '--labels', 'app=web'], lab);
    await triOk(['lab', 'pod', 'add', 'default/b', '--node', 'node-2', '--labels', 'app=web'], lab);
    await triOk(['lab', 'pod', 'add', 'other/c', '--node', 'node-1', '--labels', 'app=client'], lab);
    const state = readLabState(lab);
    assert.ok(state !== undefined);
    const pods = listPods(state);
    const podIP = new Map(pods.map((p) => [p.name, p.ip]));
    for (const p of pods.filter((x) => x.name === 'a' || x.name === 'b')) {
      const code = `require('net').createServer((s)=>{s.on('error',()=>{});s.end('${p.name}\\n')}).listen(${PORT})`;
      const child = spawn('nsenter', [`--net=/run/netns/${p.netns}`, process.execPath, '-e', code], { stdio: 'ignore' });
      servers.push(child);
    }
    // both servers answer (directly, no service) before any service is probed
    for (const name of ['a', 'b']) {
      assert.ok(await eventually(async () => (await connectNames(lab, podIP.get(name) ?? '', PORT, 1))[0] === name, 15_000), `server in ${name}`);
    }

    const svc = async (name: string, port: number, extra: string[] = []): Promise<string> =>
      (await triOk(['lab', 'svc', 'add', `default/${name}`, '--selector', 'app=web', '--port', `${port}:${PORT}`, ...extra], lab)).trim();
    const plain = await svc('plain', 9000);
    const sticky = await svc('sticky', 9001, ['--session-affinity', 'ClientIP', '--affinity-timeout', '3']);
    const long = await svc('long', 9002, ['--session-affinity', 'ClientIP', '--affinity-timeout', '600']);
    const hits0 = await natHits(lab);
    let connections = 0;

    await t.test('without affinity, new connections spread over both backends', async () => {
      const got = await connectNames(lab, plain, 9000, 16);
      connections += got.length;
      assert.ok(got.every((n) => n === 'a' || n === 'b'), `every connection answered: ${got.join(',')}`);
      assert.deepEqual([...new Set(got)].sort(), ['a', 'b'], `16 connections over two backends: ${got.join(',')}`);
    });

    await t.test('ClientIP affinity pins the client to one backend; after the timeout a new one can be chosen', async () => {
      const timed = await connectTimed(lab, sticky, 9001, 10);
      connections += timed.length;
      const got = timed.map((c) => c.to);
      const pinned = got[0];
      assert.ok(pinned === 'a' || pinned === 'b', `answered: ${got.join(',')}`);
      // those started within the timeout of the first pick (a loaded machine may take longer for all 10)
      const within = timed.filter((c) => c.at - (timed[0]?.at ?? 0) < 2_500).map((c) => c.to);
      assert.ok(within.length >= 3, `at least 3 connections within the timeout (${within.length})`);
      assert.deepEqual(within, Array<string>(within.length).fill(pinned), `every connection within the timeout on the pinned backend: ${got.join(',')}`);
      // the pin dates from the first pick; each round waits past the 3 s timeout, so its connection
      // is a fresh random pick (1 in 2 to change): 12 rounds miss a change with p = 2^-12
      const seen: string[] = [];
      for (let round = 0; round < 12 && !seen.some((n) => n !== pinned); round++) {
        await sleep(3_300);
        seen.push(...(await connectNames(lab, sticky, 9001, 1)));
        connections++;
      }
      assert.ok(seen.every((n) => n === 'a' || n === 'b'), `answered after the timeout: ${seen.join(',')}`);
      assert.ok(seen.some((n) => n !== pinned), `after the timeout another backend was chosen (pinned ${pinned}, then ${seen.join(',')})`);
    });

    await t.test("the client node's nat_frontend_hit counter counts the new service connections", async () => {
      const hits = await natHits(lab);
      assert.ok(hits - hits0 >= BigInt(connections), `nat_frontend_hit grew by ${hits - hits0}, ${connections} service connections were made`);
    });

    await t.test('removing the pinned backend sends the client to the other one at once, not after the 600 s timeout', async () => {
      const got = await connectNames(lab, long, 9002, 6);
      const pinned = got[0] ?? '';
      assert.ok(pinned === 'a' || pinned === 'b', `answered: ${got.join(',')}`);
      assert.deepEqual(got, Array<string>(6).fill(pinned));
      const other = pinned === 'a' ? 'b' : 'a';
      await triOk(['lab', 'pod', 'del', `default/${pinned}`], lab);
      // the proxy learns of the removal, flips the frontend and deletes the record; then every
      // connection lands on the remaining backend
      const moved = await eventually(async () => (await connectNames(lab, long, 9002, 4)).every((n) => n === other), 30_000, 500);
      assert.ok(moved, `after ${pinned} was removed, connections reach ${other}`);
      const aff = await affinityRecords(lab, 'node-1');
      const gone = podIP.get(pinned);
      const pins = aff.map((e) => `${e.client}→${e.ip}:${e.port} ${e.backendIP}:${e.backendPort}`);
      assert.ok(!aff.some((e) => e.backendIP === gone), `no affinity record points at the removed backend ${gone ?? ''}: ${pins.join(', ')}`);
    });

    await t.test('a bad affinity timeout is refused naming the field and the value; no Service is created', async () => {
      const r = await tri(['lab', 'svc', 'add', 'default/bad', '--selector', 'app=web', '--port', '9003:9000', '--session-affinity', 'ClientIP', '--affinity-timeout', '86401'], lab);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: 86401 is out of range/);
      const status = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { services: { name: string }[] };
      assert.ok(!status.services.some((s) => s.name === 'bad'), 'no Service "bad"');
    });
  });
});

/** `n` connections, one after another, from other/c to ip:port; each gives the answering pod's name ('' on failure). */
async function connectNames(lab: string, ip: string, port: number, n: number): Promise<string[]> {
  const script = `for i in $(seq ${n}); do echo "=$(socat -T2 - TCP:${ip}:${port},connect-timeout=2 </dev/null 2>/dev/null)"; done`;
  const r = await tri(['lab', 'exec', 'other/c', '--', 'sh', '-c', script], lab);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('='))
    .map((l) => l.slice(1).trim());
}

/** Like connectNames, with each connection's start (ms, the pod's clock = the host's). */
async function connectTimed(lab: string, ip: string, port: number, n: number): Promise<{ at: number; to: string }[]> {
  const script = `for i in $(seq ${n}); do s=$(date +%s%3N); echo "=$s $(socat -T2 - TCP:${ip}:${port},connect-timeout=2 </dev/null 2>/dev/null)"; done`;
  const r = await tri(['lab', 'exec', 'other/c', '--', 'sh', '-c', script], lab);
  return r.stdout
    .split('\n')
    .map((l) => /^=(\d+) ?(\S*)$/.exec(l.trim()))
    .filter((m) => m !== null)
    .map((m) => ({ at: Number(m[1]), to: m[2] ?? '' }));
}

async function natHits(lab: string): Promise<bigint> {
  const c = JSON.parse(await triOk(['bpf', 'counters', 'dump', '--node', 'node-1', '-o', 'json'], lab)) as Record<string, string>;
  return BigInt(c['nat_frontend_hit'] ?? '0');
}

async function affinityRecords(lab: string, node: string): Promise<ReturnType<typeof decodeNatAff>[]> {
  const n = readLabState(lab)?.nodes.find((x) => x.name === node);
  assert.ok(n !== undefined);
  const out = await bpftoolBatchOk([`map dump pinned ${join(n.runDir, 'bpf', 'maps', 'tri1_nat_aff')}`]);
  return dumpEntries(out[0]).map((e) => decodeNatAff(e.key, e.value));
}

