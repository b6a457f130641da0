// The CNI plugin in real network namespaces, invoked exactly as a runtime does (env + stdin):
// pods get addresses, routes and veths as Calico's plugin gives them, the WorkloadEndpoint is
// stored, traffic flows pod → node → pod, CHECK really checks, DEL is idempotent, and every
// failure mode leaves nothing behind. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveResourceType } from '../../src/api/index.ts';
import { podHostIfName } from '../../src/cni/index.ts';
import { createNetns, linkNames, netnsSkipReason, type TestNetns } from '../support/netns.ts';
import { IPAM_BIN, makeRig, NODE_NAME, podArgs, type Rig } from './cni-harness.ts';

const skip = netnsSkipReason();

// Cleanups registered from inside hooks and tests run once, at the end of their suite.
function cleanupList(): { reg: (fn: () => Promise<void>) => void; run: () => Promise<void> } {
  const fns: (() => Promise<void>)[] = [];
  return {
    reg: (fn) => {
      fns.push(fn);
    },
    run: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}
const wepInfo = resolveResourceType('workloadendpoint');

async function weps(rig: Rig): Promise<string[]> {
  const c = await rig.client();
  try {
    return (await c.client.list(wepInfo)).items.map((w) => `${w.metadata.namespace}/${w.metadata.name}`);
  } finally {
    await c.close();
  }
}

async function handles(rig: Rig): Promise<string[]> {
  const c = await rig.client();
  try {
    return (await c.client.backend.list('/calico/ipam/v2/handle/')).items.map((kv) => kv.key.slice('/calico/ipam/v2/handle/'.length));
  } finally {
    await c.close();
  }
}

async function caliLinks(rig: Rig): Promise<string[]> {
  return (await linkNames(rig.node)).filter((n) => n.startsWith('cali'));
}

void describe('tricolor-cni in network namespaces', { skip }, () => {
  let rig: Rig;
  let podA: TestNetns;
  let podB: TestNetns;
  let resultA: Record<string, unknown>;
  let resultB: Record<string, unknown>;
  const cleanup = cleanupList();
  after(cleanup.run);

  before(async () => {
    rig = await makeRig(cleanup.reg, { cidr: '10.244.0.0/24', blockSize: 26 });
    podA = await createNetns(cleanup.reg);
    podB = await createNetns(cleanup.reg);
    // A stored Pod: its labels and service account must reach the endpoint.
    const c = await rig.client();
    await c.client.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      spec: { serviceAccountName: 'web-sa', containers: [{ name: 'c', image: 'x' }] },
    });
    await c.close();
  });

  void it('ADD plugs two pods: veth names, /32 addresses, routes, MTU, result JSON', async () => {
    const a = await rig.invoke('ADD', { containerId: 'ctr-a', netns: podA.path, args: podArgs('shop', 'web-1', 'ctr-a') });
    assert.equal(a.status, 0, a.stdout + a.stderr);
    const b = await rig.invoke('ADD', { containerId: 'ctr-b', netns: podB.path, args: podArgs('shop', 'db-1', 'ctr-b') });
    assert.equal(b.status, 0, b.stdout + b.stderr);
    resultA = a.json ?? {};
    resultB = b.json ?? {};
    const hostA = podHostIfName('shop', 'web-1');
    assert.match(hostA, /^cali[0-9a-f]{11}$/);
    assert.equal(resultA.cniVersion, '1.0.0');
    const ifs = resultA.interfaces as { name: string; mac?: string; sandbox?: string; mtu?: number }[];
    assert.equal(ifs[0]?.name, hostA);
    assert.equal(ifs[1]?.name, 'eth0');
    assert.equal(ifs[1]?.sandbox, podA.path);
    const ips = resultA.ips as { address: string; interface: number; gateway?: string }[];
    assert.equal(ips.length, 1);
    assert.match(ips[0]?.address ?? '', /^10\.244\.0\.\d+\/32$/);
    assert.equal(ips[0]?.interface, 1);
    assert.equal(ips[0]?.gateway, undefined);

    const [link] = await podA.ipJson(['addr', 'show', 'dev', 'eth0']);
    assert.equal(link?.mtu, 1440);
    assert.equal(link?.address, ifs[1]?.mac);
    const addrs = (link?.addr_info as { family: string; local: string; prefixlen: number }[]).filter((x) => x.family === 'inet');
    assert.deepEqual(addrs.map((x) => `${x.local}/${x.prefixlen}`), [ips[0]?.address]);
    const routes = await podA.ipJson(['route', 'show']);
    assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === '169.254.1.1' && r.dev === 'eth0'));
    assert.ok(routes.some((r) => r.dst === '169.254.1.1' && r.scope === 'link' && r.dev === 'eth0'));

    const [host] = await rig.node.ipJson(['link', 'show', 'dev', hostA]);
    assert.equal(host?.address, 'ee:ee:ee:ee:ee:ee');
    const ip = (ips[0]?.address ?? '').split('/')[0];
    const hostRoutes = await rig.node.ipJson(['route', 'show', 'exact', `${ip}/32`]);
    assert.equal(hostRoutes[0]?.dev, hostA);
    assert.equal(hostRoutes[0]?.scope, 'link');
    const proxyArp = await rig.node.execOk(['cat', `/proc/sys/net/ipv4/conf/${hostA}/proxy_arp`]);
    assert.equal(proxyArp.trim(), '1');
    const fwd = await rig.node.execOk(['cat', `/proc/sys/net/ipv4/conf/${hostA}/forwarding`]);
    assert.equal(fwd.trim(), '1');
  });

  void it('stores the WorkloadEndpoint with Calico naming, pod labels and service account', async () => {
    const c = await rig.client();
    try {
      const w = await c.client.get(wepInfo, `${NODE_NAME.replace(/-/g, '--')}-k8s-web--1-eth0`, 'shop');
      const spec = w.spec as Record<string, unknown>;
      assert.equal(spec.node, NODE_NAME);
      assert.equal(spec.orchestrator, 'k8s');
      assert.equal(spec.pod, 'web-1');
      assert.equal(spec.containerID, 'ctr-a');
      assert.equal(spec.interfaceName, podHostIfName('shop', 'web-1'));
      assert.equal(spec.serviceAccountName, 'web-sa');
      assert.deepEqual(spec.profiles, ['kns.shop', 'ksa.shop.web-sa']);
      assert.deepEqual(spec.ipNetworks, [(resultA.ips as { address: string }[])[0]?.address]);
      assert.equal(w.metadata.labels?.app, 'web');
      assert.equal(w.metadata.labels?.['projectcalico.org/namespace'], 'shop');
      assert.equal(w.metadata.labels?.['projectcalico.org/orchestrator'], 'k8s');
      assert.equal(w.metadata.labels?.['projectcalico.org/serviceaccount'], 'web-sa');
    } finally {
      await c.close();
    }
  });

  void it('pods reach each other through the node (proxy ARP gateway, /32 routes)', async () => {
    const ipB = ((resultB.ips as { address: string }[])[0]?.address ?? '').split('/')[0] ?? '';
    const r = await podA.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', ipB]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  void it('CHECK passes on a healthy pod and fails once an address is removed', async () => {
    const args = podArgs('shop', 'web-1', 'ctr-a');
    const ok = await rig.invoke('CHECK', { containerId: 'ctr-a', netns: podA.path, args, conf: rig.netconf({ prevResult: resultA }) });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, '');
    const addr = (resultA.ips as { address: string }[])[0]?.address ?? '';
    await podA.execOk(['ip', 'addr', 'del', addr, 'dev', 'eth0']);
    const bad = await rig.invoke('CHECK', { containerId: 'ctr-a', netns: podA.path, args, conf: rig.netconf({ prevResult: resultA }) });
    assert.equal(bad.status, 1);
    assert.equal(typeof bad.json?.code, 'number');
    assert.match(String(bad.json?.msg), new RegExp(`address "${addr.replace(/\./g, '\\.')}" is missing`));
    await podA.execOk(['ip', 'addr', 'add', addr, 'dev', 'eth0']);
  });

  void it('DEL cleans up (veth, endpoint, addresses) and is idempotent', async () => {
    const args = podArgs('shop', 'web-1', 'ctr-a');
    for (let i = 0; i < 2; i++) {
      const d = await rig.invoke('DEL', { containerId: 'ctr-a', netns: podA.path, args });
      assert.equal(d.status, 0, d.stdout + d.stderr);
      assert.equal(d.stdout, '');
    }
    assert.ok(!(await caliLinks(rig)).includes(podHostIfName('shop', 'web-1')));
    assert.ok(!(await linkNames(podA)).includes('eth0'));
    assert.ok(!(await weps(rig)).some((w) => w.includes('web--1')));
    assert.ok(!(await handles(rig)).includes('k8s-pod-network.ctr-a'));
    // DEL with the netns already gone, and with no CNI_NETNS at all.
    await podB.delete();
    const gone = await rig.invoke('DEL', { containerId: 'ctr-b', netns: podB.path, args: podArgs('shop', 'db-1', 'ctr-b') });
    assert.equal(gone.status, 0, gone.stdout + gone.stderr);
    const none = await rig.invoke('DEL', { containerId: 'ctr-b', args: podArgs('shop', 'db-1', 'ctr-b') });
    assert.equal(none.status, 0, none.stdout + none.stderr);
    assert.deepEqual(await caliLinks(rig), []);
    assert.deepEqual(await weps(rig), []);
    assert.deepEqual(await handles(rig), []);
  });

  void it('DEL of something never added succeeds', async () => {
    const pod = await createNetns(cleanup.reg);
    const d = await rig.invoke('DEL', { containerId: 'never', netns: pod.path, args: podArgs('shop', 'ghost', 'never') });
    assert.equal(d.status, 0, d.stdout + d.stderr);
  });

  void it('ADD into a missing netns fails with code 3 and leaks nothing', async () => {
    const r = await rig.invoke('ADD', { containerId: 'ctr-x', netns: '/var/run/netns/tri-t-does-not-exist', args: podArgs('shop', 'x', 'ctr-x') });
    assert.equal(r.status, 1);
    assert.equal(r.json?.code, 3);
    assert.match(String(r.json?.msg), /CNI_NETNS: "\/var\/run\/netns\/tri-t-does-not-exist"/);
    assert.deepEqual(await caliLinks(rig), []);
    assert.deepEqual(await weps(rig), []);
    assert.deepEqual(await handles(rig), []);
  });

  void it('a failure after IPAM (interface name taken in the pod) undoes everything', async () => {
    const pod = await createNetns(cleanup.reg);
    await pod.execOk(['ip', 'link', 'add', 'eth0', 'type', 'dummy']).catch(async () => {
      await pod.execOk(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    });
    const r = await rig.invoke('ADD', { containerId: 'ctr-y', netns: pod.path, args: podArgs('shop', 'y', 'ctr-y') });
    assert.equal(r.status, 1, r.stdout);
    assert.deepEqual(await caliLinks(rig), []);
    assert.deepEqual(await weps(rig), []);
    assert.deepEqual(await handles(rig), []);
  });

  const malformed: { name: string; stdin?: string; env?: Record<string, string | undefined>; conf?: Record<string, unknown>; code: number; msg: RegExp }[] = [
    { name: 'stdin not JSON', stdin: '{not json', code: 6, msg: /not valid JSON/ },
    { name: 'stdin not an object', stdin: '[1,2]', code: 6, msg: /not a JSON object/ },
    { name: 'unsupported cniVersion', conf: { cniVersion: '9.9.9' }, code: 1, msg: /cniVersion: "9.9.9" is not supported/ },
    { name: 'bad network name', conf: { name: 'bad name!' }, code: 7, msg: /^name: "bad name!"/ },
    { name: 'mtu not a number', conf: { mtu: 'big' }, code: 7, msg: /^mtu: "big" must be an integer/ },
    { name: 'ipam.assign_ipv4 not a boolean string', conf: { ipam: { type: 'tricolor-ipam', assign_ipv4: 'yes' } }, code: 7, msg: /ipam\.assign_ipv4: "yes"/ },
    { name: 'missing CNI_COMMAND', env: { CNI_COMMAND: undefined }, code: 4, msg: /CNI_COMMAND: undefined is not one of/ },
    { name: 'unknown CNI_COMMAND', env: { CNI_COMMAND: 'FROB' }, code: 4, msg: /CNI_COMMAND: "FROB"/ },
    { name: 'missing CNI_CONTAINERID', env: { CNI_CONTAINERID: undefined }, code: 4, msg: /CNI_CONTAINERID: required for ADD/ },
    { name: 'bad CNI_CONTAINERID', env: { CNI_CONTAINERID: '-bad id' }, code: 4, msg: /CNI_CONTAINERID: "-bad id"/ },
    { name: 'missing CNI_NETNS', env: { CNI_NETNS: undefined }, code: 4, msg: /CNI_NETNS: required for ADD/ },
    { name: 'CNI_IFNAME too long', env: { CNI_IFNAME: 'eth0123456789abc' }, code: 4, msg: /CNI_IFNAME: "eth0123456789abc" is longer than 15 bytes/ },
    { name: 'CNI_ARGS not KEY=VALUE', env: { CNI_ARGS: 'K8S_POD_NAME' }, code: 4, msg: /CNI_ARGS: "K8S_POD_NAME" is not a KEY=VALUE pair/ },
  ];
  for (const m of malformed) {
    void it(`rejects malformed input: ${m.name}`, async () => {
      const pod = await createNetns(cleanup.reg);
      const r = await rig.invoke('ADD', {
        containerId: 'ctr-m',
        netns: pod.path,
        args: podArgs('shop', 'm', 'ctr-m'),
        ...(m.stdin === undefined ? { conf: rig.netconf(m.conf) } : { stdin: m.stdin }),
        ...(m.env === undefined ? {} : { env: m.env }),
      });
      assert.equal(r.status, 1, r.stdout);
      assert.equal(r.json?.code, m.code, r.stdout);
      assert.match(String(r.json?.msg), m.msg);
      assert.deepEqual(await caliLinks(rig), []);
    });
  }

  void it('VERSION lists the supported spec versions', async () => {
    const r = await rig.invoke('VERSION', { stdin: '{"cniVersion":"1.1.0"}' });
    assert.equal(r.status, 0);
    assert.deepEqual(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  void it('STATUS succeeds and GC releases handles of attachments the runtime no longer holds', async () => {
    const conf11 = rig.netconf({ cniVersion: '1.1.0' });
    const s = await rig.invoke('STATUS', { conf: conf11 });
    assert.equal(s.status, 0, s.stdout + s.stderr);
    // Two allocations through the IPAM plugin alone; GC keeps only "keep".
    for (const id of ['keep', 'stale']) {
      const r = await rig.invoke('ADD', { bin: IPAM_BIN, containerId: id, netns: '/proc/self/ns/net', args: podArgs('shop', id, id), conf: conf11 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(String((r.json?.ips as { address: string }[])[0]?.address), /^10\.244\.0\.\d+\/26$/);
    }
    const gc = await rig.invoke('GC', { conf: { ...conf11, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] } });
    assert.equal(gc.status, 0, gc.stdout + gc.stderr);
    assert.deepEqual(await handles(rig), ['k8s-pod-network.keep']);
    const d = await rig.invoke('DEL', { bin: IPAM_BIN, containerId: 'keep', args: podArgs('shop', 'keep', 'keep'), conf: conf11 });
    assert.equal(d.status, 0, d.stdout + d.stderr);
    assert.deepEqual(await handles(rig), []);
  });
});

void describe('tricolor-cni IPAM exhaustion', { skip }, () => {
  const cleanup = cleanupList();
  after(cleanup.run);
  void it('fails with ERR_IPAM_EXHAUSTED (code 103) once the pool is full and leaks nothing', async () => {
    const rig = await makeRig(cleanup.reg, { cidr: '10.99.0.0/30', blockSize: 30 });
    let added = 0;
    let failure: Record<string, unknown> | undefined;
    for (let i = 0; i < 8 && failure === undefined; i++) {
      const pod = await createNetns(cleanup.reg);
      const r = await rig.invoke('ADD', { containerId: `ex-${i}`, netns: pod.path, args: podArgs('shop', `ex-${i}`, `ex-${i}`) });
      if (r.status === 0) added++;
      else failure = r.json;
    }
    assert.ok(added >= 1 && added <= 4, `added ${added}`);
    assert.equal(failure?.code, 103, JSON.stringify(failure));
    assert.equal((await caliLinks(rig)).length, added);
    assert.equal((await weps(rig)).length, added);
    assert.equal((await handles(rig)).length, added);
  });
});
