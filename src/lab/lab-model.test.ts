// The lab's pure model: parsers of the command line's small languages, the address plan and
// naming, hosts files and node choice.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { TricolorError, isTricolorError } from '../base/index.ts';
import {
  MAX_EXTERNALS,
  labTyphaAddr,
  labEtcdMembers,
  TOR_ADDRESS,
  findExternal,
  labExternals,
  parseNamedPorts,
  allocateClusterIP,
  applyLabelEdits,
  labDatastoreEnv,
  nthAddress,
  parseLabelList,
  parseNamespacedName,
  parseProbePorts,
  parseProbeProtocols,
  parseServe,
  parseServicePort,
  pickNode,
  planLab,
  podNetnsName,
  renderHostsFile,
  renderPointerConfig,
  renderTorConfig,
  servePortName,
  validateLabName,
  cniArgs,
  labSeedDocuments,
  podServerArgv,
  POD_SERVER_SUPERVISOR,
  unboundServePorts,
  renderCniNetconf,
  renderLabStatus,
  type LabStatusView,
} from './lab-model.ts';

const usageError = (e: unknown): boolean => isTricolorError(e, 'ERR_USAGE');

void describe('lab parsers', () => {
  const good: [string, unknown][] = [
    ['tcp:80', [{ protocol: 'tcp', port: 80 }]],
    ['tcp:80,udp:81', [{ protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 81 }]],
    ['TCP:80,tcp:80', [{ protocol: 'tcp', port: 80 }]],
    ['', []],
  ];
  for (const [text, want] of good) void it(`--serve ${JSON.stringify(text)}`, () => assert.deepEqual(parseServe(text), want));
  for (const bad of ['80', 'sctp:80', 'tcp:0', 'tcp:65536', 'tcp:x']) {
    void it(`--serve ${JSON.stringify(bad)} is refused`, () => assert.throws(() => parseServe(bad), usageError));
  }

  const ports: [string, unknown][] = [
    ['80', { port: 80, targetPort: 80, protocol: 'TCP' }],
    ['80:8080', { port: 80, targetPort: 8080, protocol: 'TCP' }],
    ['53/udp', { port: 53, targetPort: 53, protocol: 'UDP' }],
    ['53:5353/UDP', { port: 53, targetPort: 5353, protocol: 'UDP' }],
  ];
  for (const [text, want] of ports) void it(`--port ${text}`, () => assert.deepEqual(parseServicePort(text), want));
  for (const bad of ['', 'x', '80:', '80/sctp', '70000']) {
    void it(`--port ${JSON.stringify(bad)} is refused`, () => assert.throws(() => parseServicePort(bad), usageError));
  }

  void it('lab probe --port lists: comma-separated or repeated, each once, in order', () => {
    assert.deepEqual(parseProbePorts(['80']), [80]);
    assert.deepEqual(parseProbePorts(['80,81']), [80, 81]);
    assert.deepEqual(parseProbePorts(['81', '80,81']), [81, 80]);
  });
  for (const bad of [['80,'], [''], ['0'], ['65536'], ['80,x'], ['80', '-1']]) {
    void it(`lab probe --port ${JSON.stringify(bad)} is refused naming --port and the item`, () => {
      assert.throws(
        () => parseProbePorts(bad),
        (e: unknown) => usageError(e) && (e as { field?: string }).field === '--port' && /--port: /.test((e as Error).message),
      );
    });
  }
  void it('lab probe --protocol lists: default tcp, case-insensitive, each once', () => {
    assert.deepEqual(parseProbeProtocols([]), ['tcp']);
    assert.deepEqual(parseProbeProtocols(['udp']), ['udp']);
    assert.deepEqual(parseProbeProtocols(['TCP,udp']), ['tcp', 'udp']);
    assert.deepEqual(parseProbeProtocols(['udp', 'tcp,udp']), ['udp', 'tcp']);
  });
  for (const bad of [['sctp'], ['tcp,'], ['tcp,icmp']]) {
    void it(`lab probe --protocol ${JSON.stringify(bad)} is refused naming --protocol and the item`, () => {
      assert.throws(
        () => parseProbeProtocols(bad),
        (e: unknown) => usageError(e) && (e as { field?: string }).field === '--protocol' && /--protocol: /.test((e as Error).message),
      );
    });
  }

  void it('NS/NAME', () => {
    assert.deepEqual(parseNamespacedName('quickstart/nginx'), { namespace: 'quickstart', name: 'nginx' });
    for (const bad of ['nginx', 'a/b/c', 'A/b', '/b', 'a/']) assert.throws(() => parseNamespacedName(bad), usageError, bad);
  });

  void it('label lists and kubectl-style edits', () => {
    assert.deepEqual(parseLabelList('app=nginx,tier=web'), { app: 'nginx', tier: 'web' });
    assert.deepEqual(parseLabelList('example.com/role=db,empty='), { 'example.com/role': 'db', empty: '' });
    assert.throws(() => parseLabelList('novalue'), usageError);
    assert.deepEqual(applyLabelEdits({ a: '1', b: '2' }, ['b-', 'c=3', 'a=9']), { a: '9', c: '3' });
    assert.throws(() => applyLabelEdits({}, []), usageError);
  });

  void it('lab names', () => {
    assert.equal(validateLabName('demo'), 'demo');
    for (const bad of ['', 'Demo', 'a-b', 'thisnameistoolong']) assert.throws(() => validateLabName(bad), usageError, bad);
  });
});

void describe('lab plan', () => {
  void it('gives every namespace the lab prefix and every node a distinct underlay address', () => {
    const s = planLab({ name: 'x', nodes: 10, encap: 'none', podCidr: '10.244.0.0/16', root: '/tmp/r', now: new Date(0) });
    const names = [s.underlayNetns, s.externalNetns, ...s.nodes.map((n) => n.netns)];
    for (const n of names) assert.ok(n.startsWith('tri-x-'), n);
    assert.equal(new Set(s.nodes.map((n) => n.address)).size, 10);
    assert.equal(new Set(s.nodes.map((n) => n.uplink)).size, 10);
    for (const n of s.nodes) assert.ok(n.uplink.length <= 15, 'interface names fit IFNAMSIZ');
    assert.equal(s.nodes[0]?.address, '172.31.0.11');
    assert.equal(s.datastorePath, '/tmp/r/x/datastore.db');
    assert.ok(podNetnsName('x', 'quickstart', 'web.v1').startsWith('tri-x-'));
    assert.ok(!podNetnsName('x', 'quickstart', 'web.v1').includes('.'));
  });
  void it('embedded by default: no etcd, no tor; the datastore is a file in the run dir', () => {
    const s = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', root: '/tmp/r' });
    assert.equal(s.datastore, 'embedded');
    assert.equal(s.etcd, undefined);
    assert.equal(s.tor, undefined);
    assert.deepEqual(labDatastoreEnv(s), { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: '/tmp/r/x/datastore.db' });
    assert.match(renderPointerConfig(s), /^kind: CalicoAPIConfig$[\s\S]*^ {2}datastoreType: embedded\n {2}datastorePath: \/tmp\/r\/x\/datastore\.db$/m);
  });
  void it('etcdv3: its own etcd in a prefixed namespace, mutual TLS on a unix socket in the run dir, one client certificate per component', () => {
    const s = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', root: '/tmp/r', datastore: 'etcdv3' });
    assert.equal(s.etcd?.netns, 'tri-x-etcd');
    assert.equal(s.etcd?.endpoint, 'unixs:///tmp/r/x/etcd/etcd:2379');
    const pki = '/tmp/r/x/etcd/pki';
    assert.deepEqual(labDatastoreEnv(s), { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'unixs:///tmp/r/x/etcd/etcd:2379', ETCD_CA_CERT_FILE: `${pki}/ca.crt`, ETCD_CERT_FILE: `${pki}/lab.crt`, ETCD_KEY_FILE: `${pki}/lab.key` });
    assert.equal(labDatastoreEnv(s, 'agent')['ETCD_CERT_FILE'], `${pki}/agent.crt`);
    const cfg = renderPointerConfig(s);
    assert.match(cfg, /^ {2}datastoreType: etcdv3$/m);
    assert.match(cfg, /^ {2}etcdEndpoints: unixs:\/\/\/tmp\/r\/x\/etcd\/etcd:2379$/m);
    assert.match(cfg, /^ {2}etcdCertFile: \/tmp\/r\/x\/etcd\/pki\/cli\.crt$/m);
    assert.throws(() => planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', datastore: 'redis' as 'etcdv3' }), usageError);
  });
  void it('typha: N replicas in the first N nodes, every agent told all of them; more replicas than nodes is refused', () => {
    assert.equal(labTyphaAddr(planLab({ name: 'x', nodes: 3, encap: 'none', podCidr: '10.244.0.0/16' })), undefined);
    const s = planLab({ name: 'x', nodes: 3, encap: 'none', podCidr: '10.244.0.0/16', typha: 2 });
    assert.equal(labTyphaAddr(s), `${s.nodes[0]?.address}:5473,${s.nodes[1]?.address}:5473`);
    assert.throws(() => planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', typha: 3 }), (e: unknown) => isTricolorError(e) && /--typha: "3"/.test(e.message));
  });
  void it('etcd members: 3 sockets each in its own namespace, all in every endpoint list; even counts and the embedded store refused', () => {
    const s = planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', datastore: 'etcdv3', etcdMembers: 3, root: '/tmp/r' });
    assert.ok(s.etcd !== undefined);
    const members = labEtcdMembers(s.etcd);
    assert.deepEqual(members.map((m) => [m.name, m.netns, m.peerUrl]), [1, 2, 3].map((i) => [`etcd-${i}`, `tri-x-etcd-${i}`, `https://172.31.0.${240 + i}:2380`]));
    assert.equal(labDatastoreEnv(s, 'agent')['ETCD_ENDPOINTS'], members.map((m) => m.endpoint).join(','));
    assert.match(renderPointerConfig(s), /etcdEndpoints: unixs:\/\/\/tmp\/r\/x\/etcd\/etcd-1:2379,unixs:.*etcd-3:2379$/m);
    assert.equal(labEtcdMembers(planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', datastore: 'etcdv3', root: '/tmp/r' }).etcd ?? assert.fail()).length, 1);
    assert.throws(() => planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', datastore: 'etcdv3', etcdMembers: 2 }), (e: unknown) => isTricolorError(e) && /--etcd-members: "2"/.test(e.message));
    assert.throws(() => planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', etcdMembers: 3 }), (e: unknown) => isTricolorError(e) && /--etcd-members: "3" needs --datastore etcdv3/.test(e.message));
  });
  void it('tor: a prefixed namespace past every node address, AS 64513, one eBGP neighbour per node', () => {
    const s = planLab({ name: 'x', nodes: 200, encap: 'none', podCidr: '10.244.0.0/16', tor: true });
    assert.equal(s.tor?.netns, 'tri-x-tor');
    assert.equal(s.tor?.asNumber, 64513);
    assert.ok(!s.nodes.some((n) => n.address === TOR_ADDRESS), 'no node shares the tor address');
    const text = renderTorConfig({ address: TOR_ADDRESS, asNumber: 64513 }, s.nodes.slice(0, 2));
    assert.equal(
      text,
      [
        "# gobgpd of the lab's tor router (written by `tricolor lab up --tor`)",
        '[global.config]',
        '  as = 64513',
        '  router-id = "172.31.0.250"',
        '  local-address-list = ["172.31.0.250"]',
        '',
        '[[neighbors]]',
        '  [neighbors.config]',
        '    neighbor-address = "172.31.0.11"',
        '    peer-as = 64512',
        '',
        '[[neighbors]]',
        '  [neighbors.config]',
        '    neighbor-address = "172.31.0.12"',
        '    peer-as = 64512',
        '',
      ].join('\n'),
    );
  });
  void it('externals: external-1 … external-N, each its own namespace, address and uplink; external-1 is the single-external lab', () => {
    const one = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16' });
    assert.deepEqual(labExternals(one), [{ name: 'external-1', netns: 'tri-x-external', ip: '203.0.113.10', uplink: 'ext1' }]);
    const s = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', externals: MAX_EXTERNALS });
    const ext = labExternals(s);
    assert.equal(ext.length, MAX_EXTERNALS);
    assert.equal(new Set(ext.map((e) => e.ip)).size, MAX_EXTERNALS);
    assert.equal(new Set(ext.map((e) => e.netns)).size, MAX_EXTERNALS);
    for (const e of ext) assert.ok(e.netns.startsWith('tri-x-') && e.uplink.length <= 15, JSON.stringify(e));
    assert.deepEqual(ext[2], { name: 'external-3', netns: 'tri-x-external-3', ip: '203.0.113.12', uplink: 'ext3' });
    assert.equal(findExternal(s, 'external'), ext[0]);
    assert.equal(findExternal(s, 'external-16'), ext[15]);
    assert.equal(findExternal(s, 'external-17'), undefined);
    // a state file from before --externals: only the first
    const { externals: _dropped, ...old } = s;
    assert.deepEqual(labExternals(old).map((e) => e.ip), ['203.0.113.10']);
    for (const bad of [0, MAX_EXTERNALS + 1, 1.5]) {
      assert.throws(
        () => planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', externals: bad }),
        (e: unknown) => e instanceof TricolorError && e.code === 'ERR_USAGE' && e.message.startsWith(`--externals: "${bad}"`),
      );
    }
  });
  void it('refuses a bad node count or an unknown route reflector', () => {
    assert.throws(() => planLab({ name: 'x', nodes: 0, encap: 'none', podCidr: '10.244.0.0/16' }), usageError);
    assert.throws(() => planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', routeReflector: 'node-3' }), usageError);
  });
});

void describe('--named-port', () => {
  void it('parses NAME=PROTO:PORT, repeatable; one name may mean different numbers on different pods', () => {
    assert.deepEqual(parseNamedPorts(['web=tcp:81', 'dns=UDP:53']), [
      { name: 'web', protocol: 'tcp', port: 81 },
      { name: 'dns', protocol: 'udp', port: 53 },
    ]);
    assert.deepEqual(parseNamedPorts(['web=tcp:82']), [{ name: 'web', protocol: 'tcp', port: 82 }]);
    assert.deepEqual(parseNamedPorts([]), []);
  });
  void it('refuses bad input naming the flag and the value', () => {
    const cases: [string[], RegExp][] = [
      [['web'], /^--named-port: "web" is not NAME=PROTO:PORT/],
      [['web=tcp'], /^--named-port: "web=tcp" is not NAME=PROTO:PORT/],
      [['web=sctp:80'], /^--named-port: "web=sctp:80" is not NAME=PROTO:PORT/],
      [['web=tcp:0'], /--named-port.*"0"/],
      [['web=tcp:65536'], /--named-port.*"65536"/],
      [['Web=tcp:80'], /^--named-port: "Web=tcp:80": the name "Web" is not a valid port name/],
      [['a-very-long-port-name=tcp:80'], /^--named-port: "a-very-long-port-name=tcp:80": the name .* no more than 15 characters/],
      [['80=tcp:80'], /at least one letter/],
      [['=tcp:80'], /^--named-port: "=tcp:80": the name ""/],
      [['web=tcp:81', 'web=udp:81'], /^--named-port: "web=udp:81": the name "web" is given twice/],
    ];
    for (const [items, re] of cases) {
      assert.throws(
        () => parseNamedPorts(items),
        (e: unknown) => e instanceof TricolorError && e.code === 'ERR_USAGE' && re.test(e.message) && e.field === '--named-port',
        items.join(' '),
      );
    }
    assert.throws(() => parseNamedPorts(['serve-80-tcp=tcp:81'], [{ protocol: 'tcp', port: 80 }]), /is the name of a --serve port/);
  });
});

void describe('addresses and placement', () => {
  void it('nthAddress', () => {
    assert.equal(nthAddress('10.96.0.0/16', 10), '10.96.0.10');
    assert.equal(nthAddress('10.96.0.0/16', 256), '10.96.1.0');
    assert.equal(nthAddress('10.96.5.7/16', 0), '10.96.0.0');
    assert.throws(() => nthAddress('10.0.0.0/30', 4), (e: unknown) => isTricolorError(e, 'ERR_IPAM_EXHAUSTED'));
  });
  void it('cluster IPs are never handed out twice (property: sequential allocation)', () => {
    const used = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const ip = allocateClusterIP('10.96.0.0/16', used);
      assert.ok(!used.has(ip));
      used.add(ip);
    }
    assert.equal(used.size, 300);
  });
  void it('pickNode balances pods over nodes', () => {
    const pods: { node: string }[] = [];
    for (let i = 0; i < 9; i++) pods.push({ node: pickNode(['n1', 'n2', 'n3'], pods) });
    assert.deepEqual(['n1', 'n2', 'n3'].map((n) => pods.filter((p) => p.node === n).length), [3, 3, 3]);
  });
});

void describe('hosts file and port names', () => {
  void it('names services fully everywhere and by short name in their own namespace', () => {
    const text = renderHostsFile({ namespace: 'a', name: 'p', ip: '10.244.0.5' }, [
      { namespace: 'b', name: 'db', clusterIP: '10.96.0.11' },
      { namespace: 'a', name: 'web', clusterIP: '10.96.0.10' },
    ]);
    assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(text, /^10\.244\.0\.5\tp$/m);
    assert.match(text, /^10\.96\.0\.10\tweb\.a\.svc\.cluster\.local web\.a\.svc web\.a web$/m);
    assert.match(text, /^10\.96\.0\.11\tdb\.b\.svc\.cluster\.local db\.b\.svc db\.b$/m);
  });
  void it('container port names follow the contract', () => {
    assert.equal(servePortName({ protocol: 'tcp', port: 80 }), 'serve-80-tcp');
    assert.equal(servePortName({ protocol: 'udp', port: 81 }), 'serve-81-udp');
  });
});

void describe('what lab up seeds and how pods are plugged', () => {
  const kinds = (docs: unknown[]): string[] => docs.map((d) => `${(d as { kind: string }).kind}/${(d as { metadata: { name: string } }).metadata.name}`);

  void it('a mesh lab: pool, Felix and BGP defaults, one Node per node, no peers', () => {
    const s = planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', routeReflector: undefined });
    const docs = labSeedDocuments(s);
    assert.deepEqual(kinds(docs), ['IPPool/default-ipv4-ippool', 'FelixConfiguration/default', 'BGPConfiguration/default', 'Node/node-1', 'Node/node-2']);
    assert.deepEqual((docs[0] as { spec: unknown }).spec, { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()' });
    assert.equal((docs[2] as { spec: { nodeToNodeMeshEnabled: boolean } }).spec.nodeToNodeMeshEnabled, true);
    assert.deepEqual((docs[1] as { spec: unknown }).spec, {});
    const wg = labSeedDocuments(planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', routeReflector: undefined, wireguard: true }));
    assert.deepEqual((wg[1] as { spec: unknown }).spec, { wireguardEnabled: true });
  });

  void it('a reflector lab with a tor: the mesh is off, the reflector is labelled, both peers exist', () => {
    const s = planLab({ name: 'x', nodes: 3, encap: 'vxlan', podCidr: '10.244.0.0/16', routeReflector: 'node-2', tor: true });
    const docs = labSeedDocuments(s);
    assert.deepEqual(kinds(docs).slice(-2), ['BGPPeer/peer-with-route-reflectors', 'BGPPeer/tor']);
    assert.equal((docs[0] as { spec: { vxlanMode: string } }).spec.vxlanMode, 'Always');
    assert.equal((docs[2] as { spec: { nodeToNodeMeshEnabled: boolean } }).spec.nodeToNodeMeshEnabled, false);
    const rr = docs[4] as { metadata: { labels: Record<string, string> }; spec: { bgp: Record<string, string> } };
    assert.equal(rr.metadata.labels['route-reflector'], 'true');
    assert.equal(rr.spec.bgp['routeReflectorClusterID'], '224.0.0.1');
    assert.deepEqual((docs.at(-1) as { spec: unknown }).spec, { peerIP: TOR_ADDRESS, asNumber: 64513 });
  });

  void it('CNI netconf names the datastore, the node and the pod MTU', () => {
    const s = planLab({ name: 'x', nodes: 1, encap: 'vxlan', podCidr: '10.244.0.0/16', routeReflector: undefined });
    const n = s.nodes[0];
    assert.ok(n !== undefined);
    const conf = JSON.parse(renderCniNetconf(s, n)) as Record<string, unknown>;
    assert.equal(conf['type'], 'tricolor-cni');
    assert.equal(conf['datastore_type'], 'embedded');
    assert.equal(conf['datastore_path'], s.datastorePath);
    assert.equal(conf['nodename_file'], `${n.runDir}/nodename`);
    assert.equal(conf['mtu'], 0, 'the agent computes the pod MTU');
    assert.equal(conf['mtu_file'], `${n.runDir}/mtu`);
    assert.equal(conf['require_mtu_file'], true);
    const e = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', routeReflector: undefined, datastore: 'etcdv3' });
    const ce = JSON.parse(renderCniNetconf(e, n)) as Record<string, unknown>;
    assert.equal(ce['datastore_type'], 'etcdv3');
    assert.equal(ce['etcd_endpoints'], e.etcd?.endpoint);
    assert.equal(ce['etcd_cert_file'], `${e.etcd?.pki ?? ''}/cni.crt`);
  });

  void it('CNI_ARGS and pod servers', () => {
    assert.equal(cniArgs({ namespace: 'a', name: 'p', containerId: 'c1' }), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=a;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=c1');
    const tcp = podServerArgv('ns1', { protocol: 'tcp', port: 80 }, 'x/a', ['node', 'echo.ts']);
    assert.deepEqual(tcp.slice(0, 6), ['ip', 'netns', 'exec', 'ns1', 'sh', '-c']);
    assert.deepEqual(tcp.slice(7), ['tricolor-pod-server', 'x/a tcp:80', 'socat', 'TCP4-LISTEN:80,reuseaddr,fork,backlog=1024', 'PIPE']);
    assert.deepEqual(podServerArgv('ns1', { protocol: 'udp', port: 53 }, 'x/a', ['node', 'echo.ts']).slice(7), ['tricolor-pod-server', 'x/a udp:53', 'node', 'echo.ts', '53']);
  });

  void it('unbound serve ports from /proc/net/tcp and /proc/net/udp', () => {
    const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    // TCP :80 listening (0A), :81 only a connection (01, not a listener); UDP :81 bound (07)
    const tcp = `${head}   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n   1: 0A000002:0051 0A000003:C350 01 00000000:00000000 00:00000000 00000000     0        0 2\n`;
    const udp = `${head}  10: 00000000:0051 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3\n`;
    const serve = [
      { protocol: 'tcp', port: 80 },
      { protocol: 'tcp', port: 81 },
      { protocol: 'udp', port: 80 },
      { protocol: 'udp', port: 81 },
    ] as const;
    assert.deepEqual(unboundServePorts(serve, tcp, udp), [
      { protocol: 'tcp', port: 81 },
      { protocol: 'udp', port: 80 },
    ]);
    assert.deepEqual(unboundServePorts(serve, head, head), serve);
  });

  void it('the pod server supervisor starts an exited server again and logs why; TERM stops both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-sup-'));
    try {
      const marker = join(dir, 'runs');
      // the "server" appends a line and exits with status 3; the loop must start it again
      const child = spawn('sh', ['-c', POD_SERVER_SUPERVISOR, 'tricolor-pod-server', 'x/a udp:81', 'sh', '-c', `echo run >> ${marker}; exit 3`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const deadline = Date.now() + 20_000;
      while ((existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').length - 1 : 0) < 2) {
        assert.ok(Date.now() < deadline, 'the server was not started a second time');
        await sleep(50);
      }
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(stderr, /pod server x\/a udp:81 exited with status 3; starting it again in 1 s/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('lab status renders nodes, BGP, the tor, pods and services', () => {
    const v: LabStatusView = {
      name: 'x',
      runDir: '/r',
      datastore: 'embedded /r/datastore.db',
      datastorePath: '/r/datastore.db',
      encap: 'none',
      routeReflector: null,
      tor: { netns: 'tri-x-tor', address: TOR_ADDRESS, asNumber: 64513, running: true, sessions: [{ peer: '172.31.0.11', asNumber: 64512, state: 'Established' }], routes: [{ prefix: '10.244.1.0/26', nextHops: ['172.31.0.11'] }] },
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/16',
      external: { netns: 'tri-x-external', ip: '203.0.113.10' },
      externals: [{ name: 'external-1', ip: '203.0.113.10' }],
      nodes: [{ name: 'node-1', netns: 'tri-x-node-1', address: '172.31.0.11', agent: { running: true, ready: true, endpoints: 1, policies: 0 }, proxy: { running: true, services: 1 }, bgp: null }],
      pods: [{ namespace: 'default', name: 'a', node: 'node-1', ip: '10.244.1.1', labels: { app: 'web' }, serve: ['tcp:80'] }],
      services: [],
    };
    const text = renderLabStatus(v);
    assert.match(text, /^ {2}node-1 +172\.31\.0\.11 +agent ready \(1 endpoints, 0 policies\) {2}proxy running$/m);
    assert.match(text, /^ {4}BGP: no BIRD status$/m);
    assert.match(text, /^TOR 172\.31\.0\.250 AS 64513 \(gobgpd running, namespace tri-x-tor\): 1\/1 sessions established, 1 routes$/m);
    assert.match(text, /^ {2}default\/a +10\.244\.1\.1 +node-1 +app=web {2}serves tcp:80$/m);
    assert.match(text, /^SERVICES\n {2}\(none\)$/m);
  });
});
