// The lab's pure model: parsers of the command line's small languages, the address plan and
// naming, hosts files and node choice.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTricolorError } from '../base/index.ts';
import {
  TOR_ADDRESS,
  allocateClusterIP,
  applyLabelEdits,
  labDatastoreEnv,
  nthAddress,
  parseLabelList,
  parseNamespacedName,
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
  void it('etcdv3: its own etcd in a prefixed namespace, clients on a unix socket in the run dir', () => {
    const s = planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', root: '/tmp/r', datastore: 'etcdv3' });
    assert.equal(s.etcd?.netns, 'tri-x-etcd');
    assert.equal(s.etcd?.endpoint, 'unix:///tmp/r/x/etcd/etcd:2379');
    assert.deepEqual(labDatastoreEnv(s), { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'unix:///tmp/r/x/etcd/etcd:2379' });
    const cfg = renderPointerConfig(s);
    assert.match(cfg, /^ {2}datastoreType: etcdv3$/m);
    assert.match(cfg, /^ {2}etcdEndpoints: unix:\/\/\/tmp\/r\/x\/etcd\/etcd:2379$/m);
    assert.throws(() => planLab({ name: 'x', nodes: 1, encap: 'none', podCidr: '10.244.0.0/16', datastore: 'redis' as 'etcdv3' }), usageError);
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
  void it('refuses a bad node count or an unknown route reflector', () => {
    assert.throws(() => planLab({ name: 'x', nodes: 0, encap: 'none', podCidr: '10.244.0.0/16' }), usageError);
    assert.throws(() => planLab({ name: 'x', nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', routeReflector: 'node-3' }), usageError);
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
