// The eBPF dataplane for real: a node namespace with two pod namespaces on cali* veths (proxy ARP,
// /32 routes, as the CNI plugin sets them up), the BpfDataplane attaching its tc programs inside
// the node namespace and programming policy from calc messages. Proves:
//   - no window: thousands of new connections while the destination's policy is swapped hundreds
//     of times (content changes and policy-list changes), zero wrongly dropped or allowed — and a
//     negative control (deleting and re-adding the interface entry) that the same probe catches;
//   - restart: a second dataplane on the same pins adopts them with traffic flowing (no gap);
//   - a full map: the interface map filled to capacity, a new pod's entry cannot be written — a
//     coded ERR_BPF_MAP_FULL naming the failed write, the new pod's flows fail closed (counted as
//     unknown_interface), the others keep working, and freeing space programs it;
//   - teardown leaves nothing (programs, nft table, pins).
// Root only. Everything lives in uniquely named namespaces and a private bpffs, removed after.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { CalcMessage } from '../../src/calc/index.ts';
import { BpfDataplane } from '../../src/dataplane/bpf/io/bpf-dataplane.ts';
import { unmountBpffs } from '../../src/dataplane/bpf/io/bpf-loader.ts';
import { runCommand, runCommandRaw } from '../../src/dataplane/io/exec.ts';
import { bpftoolBatch } from '../../src/dataplane/bpf/io/bpftool.ts';
import { MAP_SIZES } from '../../src/dataplane/bpf/encoding.ts';
import { entity, policy, ports, rule, tierInfo, workload } from '../../src/dataplane/test-support.ts';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const id = randomBytes(3).toString('hex');
const N = `tri-bpfe-n-${id}`;
const P1 = `tri-bpfe-a-${id}`;
const P2 = `tri-bpfe-b-${id}`;
const P3 = `tri-bpfe-c-${id}`;
const BPFFS = `/run/tricolor-bpfe2e-${id}`;
const A = '10.70.0.1';
const B = '10.70.0.2';
const C = '10.70.0.3';

const ip = (ns: string, script: string): Promise<string> => runCommand(['ip', '-n', ns, '-batch', '-'], { input: script });

async function setup(): Promise<number[]> {
  for (const ns of [N, P1, P2, P3]) await runCommand(['ip', 'netns', 'add', ns]);
  await ip(N, `link add caliA type veth peer name eth0 netns ${P1}\nlink add caliB type veth peer name eth0 netns ${P2}\nlink add caliC type veth peer name eth0 netns ${P3}\nlink add up0 type veth peer name up1\n`);
  await ip(
    N,
    'link set lo up\nlink set caliA up\nlink set caliB up\nlink set caliC up\nlink set up0 up\nlink set up1 up\n' +
      `route add ${A}/32 dev caliA\nroute add ${B}/32 dev caliB\nroute add ${C}/32 dev caliC\nroute add default dev up0\n`,
  );
  for (const [ns, addr] of [
    [P1, A],
    [P2, B],
    [P3, C],
  ] as const) {
    await ip(ns, `link set lo up\naddr add ${addr}/32 dev eth0\nlink set eth0 up\nroute add 169.254.1.1 dev eth0 scope link\nroute add default via 169.254.1.1 dev eth0\n`);
  }
  await runCommand(['ip', 'netns', 'exec', N, 'sh', '-c', 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.caliA.proxy_arp=1 net.ipv4.conf.caliB.proxy_arp=1 net.ipv4.conf.caliC.proxy_arp=1']);
  return [];
}

/** A server on :80 and :81 in P2 (a Node process inside the namespace). */
function startServer(): ReturnType<typeof spawn> {
  const code = `const net=require('net');for(const p of [80,81])net.createServer(s=>{s.on('error',()=>{});s.end('ok')}).listen(p,'${B}');`;
  return spawn('nsenter', [`--net=/run/netns/${P2}`, process.execPath, '-e', code], { stdio: 'ignore' });
}

interface ProbeCounts {
  ok80: number;
  fail80: number;
  ok81: number;
  fail81: number;
}

/**
 * `n` new connections from P1: every 10th to :81 (always denied), the rest to :80 (always allowed).
 * A generous timeout on :80 so a loaded machine is not mistaken for a drop.
 */
function probe(n: number, from = P1): Promise<ProbeCounts> {
  const code = `
const net=require('net');const c={ok80:0,fail80:0,ok81:0,fail81:0};
function one(port){return new Promise(r=>{const s=net.connect({host:'${B}',port,timeout:port===80?5000:800});let done=false;
const fin=(ok)=>{if(done)return;done=true;s.destroy();c[(ok?'ok':'fail')+port]++;r();};
s.on('data',()=>fin(true));s.on('error',()=>fin(false));s.on('timeout',()=>fin(false));s.on('end',()=>fin(true));});}
(async()=>{for(let i=0;i<${n};i++){await one(i%10===9?81:80);}process.stdout.write(JSON.stringify(c));})();`;
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${from}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as ProbeCounts);
      } catch (e) {
        reject(new Error(`probe output unreadable: ${JSON.stringify(out)}`, { cause: e }));
      }
    });
  });
}

const TCP = 6;
const pkey = (n: string): string => `NetworkPolicy/x/${n}`;
/** Four shapes of "allow 80, not 81" (different rules, same verdicts on the probe). */
const VARIANTS = [
  [rule({ action: 'allow', protocol: TCP, destination: entity({ ports: ports(80) }) })],
  [rule({ action: 'allow', protocol: TCP, destination: entity({ ports: ports([79, 80]) }) })],
  [rule({ action: 'deny', protocol: TCP, destination: entity({ ports: ports(81) }) }), rule({ action: 'allow', protocol: TCP, destination: entity({ ports: ports([80, 81]) }) })],
  [rule({ action: 'allow', protocol: TCP, destination: entity({ ports: ports(80, 82), nets: ['10.70.0.0/24'] }) })],
];

function messages(i: number): CalcMessage[] {
  const name = i % 2 === 0 ? 'pa' : 'pb';
  return [
    policy('x', 'egress', [], [rule({ action: 'allow' })]),
    policy('x', name, VARIANTS[i % VARIANTS.length] ?? []),
    workload('x', 'a', 'caliA', A, [tierInfo('default', [], [pkey('egress')])], []),
    workload('x', 'b', 'caliB', B, [tierInfo('default', [pkey(name)], [])], []),
    ...(i > 0 ? [{ type: 'ActivePolicyRemove' as const, key: pkey(i % 2 === 0 ? 'pb' : 'pa') }] : []),
    { type: 'InSync' },
  ];
}

void describe('eBPF dataplane in namespaces', { skip: root ? false : 'needs root', timeout: 600_000 }, () => {
  let server: ReturnType<typeof spawn> | undefined;
  let dp: BpfDataplane;
  before(async () => {
    await setup();
    server = startServer();
    // wait for the server (a Node process starting inside P2) before measuring anything
    for (let i = 0; i < 100 && (await probe(1)).ok80 === 0; i++) await new Promise((r) => setTimeout(r, 100));
    dp = new BpfDataplane({ bpffsDir: BPFFS, netnsPath: `/run/netns/${N}` });
    dp.onMessages(messages(0));
    await dp.flush();
  });
  after(async () => {
    dp?.dispose();
    server?.kill('SIGKILL');
    for (const ns of [P1, P2, P3, N]) await runCommandRaw(['ip', 'netns', 'del', ns]);
    await unmountBpffs(BPFFS);
  });

  void it('enforces: 80 allowed, 81 denied; an unprogrammed cali interface is not ready', async () => {
    const c = await probe(20);
    assert.deepEqual(c, { ok80: 18, fail80: 0, ok81: 0, fail81: 2 });
    const table = await runCommand(['nft', 'list', 'table', 'inet', 'tricolor-bpf'], { netnsPath: `/run/netns/${N}` });
    assert.match(table, /elements = \{ "caliA",\s+"caliB" \}/);
    const filters = await runCommand(['tc', 'filter', 'show', 'dev', 'caliB', 'egress'], { netnsPath: `/run/netns/${N}` });
    assert.match(filters, /tri_to_wep/);
  });

  void it('no window: thousands of connections while policies swap, zero wrong verdicts', async () => {
    let swaps = 0;
    let stop = false;
    const swapper = (async () => {
      for (let i = 1; !stop; i++) {
        dp.onMessages(messages(i));
        await dp.flush();
        swaps++;
      }
    })();
    const c = await probe(2000);
    stop = true;
    await swapper;
    assert.equal(c.fail80, 0, `allowed connections dropped during swaps: ${JSON.stringify(c)}`);
    assert.equal(c.ok81, 0, `denied connections let through during swaps: ${JSON.stringify(c)}`);
    assert.ok(swaps >= 20, `only ${swaps} swaps happened`);
  });

  void it('negative control: deleting and re-adding the interface entry opens a window the probe sees', async () => {
    const maps = `${BPFFS}/maps/tri1_ifs`;
    const ifindex = JSON.parse(await runCommand(['ip', '-n', N, '-j', 'link', 'show', 'caliB'])) as { ifindex: number }[];
    const idx = ifindex[0]?.ifindex ?? 0;
    const key = `hex ${[0, 1, 2, 3].map((i) => ((idx >>> (8 * i)) & 0xff).toString(16).padStart(2, '0')).join(' ')}`;
    const entry = JSON.parse(await runCommand(['bpftool', '-j', 'map', 'lookup', 'pinned', maps, 'key', ...key.split(' ')])) as { value: string[] };
    const value = `hex ${entry.value.map((v) => v.replace('0x', '')).join(' ')}`;
    let stop = false;
    const breaker = (async () => {
      // A protocol that is NOT prefix-safe: remove the entry, then (a moment later) put it back.
      while (!stop) {
        await runCommandRaw(['bpftool', 'map', 'delete', 'pinned', maps, 'key', ...key.split(' ')]);
        await runCommandRaw(['bpftool', 'map', 'update', 'pinned', maps, 'key', ...key.split(' '), 'value', ...value.split(' ')]);
      }
    })();
    const c = await probe(300);
    stop = true;
    await breaker;
    assert.ok(c.fail80 > 0, `the control must show a window: ${JSON.stringify(c)}`);
  });

  void it('restart: a new dataplane adopts the pins with traffic flowing (no gap), then replaces the state', async () => {
    dp.dispose();
    const running = probe(400);
    const dp2 = new BpfDataplane({ bpffsDir: BPFFS, netnsPath: `/run/netns/${N}` });
    dp2.onMessages(messages(7));
    await dp2.flush();
    const c = await running;
    assert.equal(c.fail80, 0, JSON.stringify(c));
    assert.equal(c.ok81, 0, JSON.stringify(c));
    assert.deepEqual(await probe(10), { ok80: 9, fail80: 0, ok81: 0, fail81: 1 });
    dp = dp2;
  });

  void it('a full map: a coded error, the new pod fails closed (counted), the others keep working; freed space programs it', async () => {
    const ifs = `${BPFFS}/maps/tri1_ifs`;
    const hexKey = (n: number): string => [0, 1, 2, 3].map((i) => ((n >>> (8 * i)) & 0xff).toString(16).padStart(2, '0')).join(' ');
    const entries = JSON.parse(await runCommand(['bpftool', '-j', 'map', 'dump', 'pinned', ifs])) as { key: string[]; value: string[] }[];
    const value = (entries[0]?.value ?? []).map((v) => v.replace('0x', '')).join(' ');
    // fill the interface map to capacity with entries for interfaces that do not exist
    const junk = Array.from({ length: MAP_SIZES.ifs - entries.length }, (_, i) => 1_000_000 + i);
    const fill = await bpftoolBatch(junk.map((k) => `map update pinned ${ifs} key hex ${hexKey(k)} value hex ${value}`));
    assert.equal(fill.failedAt, undefined, fill.error);
    const before = (await dp.packetCounters()).get('unknown_interface') ?? 0n;
    const withC = [...messages(7).slice(0, -1), workload('x', 'c', 'caliC', C, [tierInfo('default', [], [pkey('egress')])], []), { type: 'InSync' as const }];
    dp.onMessages(withC);
    await assert.rejects(dp.flush(), (e: unknown) => {
      const err = e as { code?: string; message?: string };
      assert.equal(err.code, 'ERR_BPF_MAP_FULL');
      assert.match(err.message ?? '', /map write \d+ of \d+ failed: .*; the \d+ writes before it are in force .*a map is full, new flows to the endpoints still being changed fail closed/);
      return true;
    });
    const fromC = await probe(10, P3);
    assert.equal(fromC.ok80, 0, `the unprogrammed pod fails closed: ${JSON.stringify(fromC)}`);
    assert.ok(((await dp.packetCounters()).get('unknown_interface') ?? 0n) > before, 'its packets are counted as unknown_interface');
    assert.deepEqual(await probe(10), { ok80: 9, fail80: 0, ok81: 0, fail81: 1 }, 'the programmed pods keep working');
    // space freed: the retry programs the new pod
    const free = await bpftoolBatch(junk.map((k) => `map delete pinned ${ifs} key hex ${hexKey(k)}`));
    assert.equal(free.failedAt, undefined, free.error);
    for (let i = 0; i < 20; i++) {
      try {
        await dp.flush();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.deepEqual(await probe(10, P3), { ok80: 9, fail80: 0, ok81: 0, fail81: 1 });
  });

  void it('teardown leaves no programs, no nft table and no pins', async () => {
    await dp.teardown();
    const filters = await runCommand(['tc', 'filter', 'show', 'dev', 'caliB', 'egress'], { netnsPath: `/run/netns/${N}` });
    assert.equal(filters.trim(), '');
    const tables = await runCommand(['nft', 'list', 'tables'], { netnsPath: `/run/netns/${N}` });
    assert.doesNotMatch(tables, /tricolor/);
    // maps.debug / progs.debug are the kernel's own iterator files at every bpffs root
    const left = (await runCommand(['ls', '-A', BPFFS])).split('\n').filter((l) => l !== '' && !l.endsWith('.debug'));
    assert.deepEqual(left, []);
  });
});
