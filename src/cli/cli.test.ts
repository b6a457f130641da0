// The `tricolor` CLI as users run it: a real process (`node bin/tricolor.ts ...`) against a
// temp embedded datastore and against a real etcd, with documents shaped like the examples in
// Calico's docs. One suite, both backends.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import { openBackend, type DatastoreBackend, type DatastoreConfig } from '../datastore/index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tricolor.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

// Shaped like the examples on docs.tigera.io for each kind.
const EXAMPLES = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: my.ippool-1
spec:
  cidr: 10.1.0.0/16
  ipipMode: CrossSubnet
  natOutgoing: true
  disabled: false
  nodeSelector: all()
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: internal-access
spec:
  order: 100
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-tcp-6379
spec:
  tier: internal-access
  selector: role == 'database'
  types:
    - Ingress
    - Egress
  ingress:
    - action: Allow
      metadata:
        annotations:
          from: frontend
          to: database
      protocol: TCP
      source:
        selector: role == 'frontend'
      destination:
        ports:
          - 6379
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-tcp-6379
  namespace: production
spec:
  selector: role == 'database'
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == 'frontend'
      destination:
        ports:
          - 6379
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: external-database
  namespace: staging
  labels:
    role: db
spec:
  nets:
    - 198.51.100.0/28
    - 203.0.113.0/24
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: some.name
  labels:
    type: production
spec:
  interfaceName: eth0
  node: myhost
  expectedIPs:
    - 192.168.0.1
    - 192.168.0.2
  profiles:
    - profile1
    - profile2
  ports:
    - name: some-port
      port: 1234
      protocol: TCP
    - name: another-port
      port: 5432
      protocol: UDP
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: some.name
spec:
  node: rack1-host1
  peerIP: 192.168.1.1
  asNumber: 63400
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-tcp-6379
  namespace: production
spec:
  podSelector:
    matchLabels:
      role: database
  policyTypes:
    - Ingress
  ingress:
    - from:
        - podSelector:
            matchLabels:
              role: frontend
      ports:
        - protocol: TCP
          port: 6379
`;

/** Every field of `want` is in `got` with the same value (got may have more: defaults). */
function assertContains(got: unknown, want: unknown, path = ''): void {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    assert.ok(got !== null && typeof got === 'object', `${path}: expected an object, got ${JSON.stringify(got)}`);
    for (const [k, v] of Object.entries(want as Record<string, unknown>)) assertContains((got as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    want.forEach((v, i) => assertContains(got[i], v, `${path}[${i}]`));
    return;
  }
  assert.deepEqual(got, want, path);
}

interface Env {
  env: NodeJS.ProcessEnv;
  dir: string;
  cfg: DatastoreConfig;
  close(): Promise<void>;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

function suite(name: string, open: () => Promise<Env>): void {
  void describe(`tricolor CLI on ${name}`, () => {
    let e: Env;
    const t = (args: string[], input?: string): Promise<Run> => run(args, e.env, e.dir, input);
    const write = (file: string, text: string): string => {
      const p = join(e.dir, file);
      writeFileSync(p, text);
      return p;
    };
    let backend: DatastoreBackend;
    before(async () => {
      e = await open();
      backend = await openBackend(e.cfg);
    });
    after(async () => {
      await backend.close();
      await e.close();
    });

    void test('apply -f of Calico docs examples; get -f -o yaml gives them back with defaults', async () => {
      write('examples.yaml', EXAMPLES);
      const r = await t(['apply', '-f', 'examples.yaml']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Successfully applied 8 resource(s)\n');
      const g = await t(['get', '-f', 'examples.yaml', '-o', 'yaml']);
      assert.equal(g.code, 0, g.stderr);
      const got = parse(g.stdout) as Record<string, unknown>[];
      const want = parseAllDocuments(EXAMPLES).map((d) => d.toJS() as Record<string, unknown>);
      assert.equal(got.length, want.length);
      want.forEach((w, i) => assertContains(got[i], w, `doc${i + 1}`));
      for (const o of got) {
        const md = o['metadata'] as Record<string, unknown>;
        assert.match(String(md['uid']), /^[0-9a-f-]{36}$/);
        assert.match(String(md['resourceVersion']), /^\d+$/);
        assert.ok(md['creationTimestamp']);
      }
      // Calico's defaults
      assertContains(got[0], { spec: { blockSize: 26, vxlanMode: 'Never', allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic' } });
      assertContains(got[1], { spec: { defaultAction: 'Deny' } });
      assertContains(got[2], { metadata: { labels: { 'projectcalico.org/tier': 'internal-access' } } });
      assertContains(got[3], { spec: { tier: 'default', types: ['Ingress', 'Egress'] } });
      // YAML keys come out sorted, as calicoctl prints them
      assert.match(g.stdout, /^- apiVersion: projectcalico\.org\/v3\n {2}kind: IPPool\n {2}metadata:\n/);
    });

    void test('get: default table, wide, json, name, custom-columns', async () => {
      const ps = await t(['get', 'ippools']);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(ps.stdout, 'NAME          CIDR          SELECTOR   \nmy.ippool-1   10.1.0.0/16   all()      \n\n');
      const wide = await t(['get', 'ippool', '-o', 'wide']);
      assert.equal(
        wide.stdout,
        'NAME          CIDR          NAT    IPIPMODE      VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR   ASSIGNMENTMODE   \n' +
          'my.ippool-1   10.1.0.0/16   true   CrossSubnet   Never       false      false              all()      Automatic        \n\n',
      );
      const tiers = await t(['get', 'tiers']);
      assert.match(tiers.stdout, /^NAME {14}ORDER {3}\ndefault {11}1e\+06 {3}\ninternal-access {3}100 {5}\n/);
      const json = await t(['get', 'gnp', 'allow-tcp-6379', '-o', 'json']);
      const obj = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.equal(obj['kind'], 'GlobalNetworkPolicy');
      assert.deepEqual(Object.keys(obj).slice(0, 2), ['kind', 'apiVersion']);
      const list = JSON.parse((await t(['get', 'hostendpoints', '-o', 'json'])).stdout) as { kind: string; items: unknown[] };
      assert.equal(list.kind, 'HostEndpointList');
      assert.equal(list.items.length, 1);
      const names = await t(['get', 'bgppeers', '-o', 'name']);
      assert.equal(names.stdout, 'bgppeer.projectcalico.org/some.name\n');
      const cc = await t(['get', 'hep', '-o', 'custom-columns=NAME,IPS']);
      assert.equal(cc.stdout, 'NAME        IPS                       \nsome.name   192.168.0.1,192.168.0.2   \n\n');
      const bad = await t(['get', 'hep', '-o', 'custom-columns=NOPE']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /unknown heading NOPE, valid values are: /);
      const badFmt = await t(['get', 'hep', '-o', 'xml']);
      assert.equal(badFmt.code, 2);
      assert.match(badFmt.stderr, /unrecognized output format 'xml'/);
    });

    void test('namespaces: -n, -A, and cluster kinds refuse them', async () => {
      const inNs = await t(['get', 'networkpolicy', '-n', 'production']);
      assert.equal(inNs.stdout, 'NAMESPACE    NAME             TIER      \nproduction   allow-tcp-6379   default   \n\n');
      const none = await t(['get', 'networkpolicies']);
      assert.equal(none.stdout, 'NAME   TIER   \n\n', 'default namespace is empty');
      const all = await t(['get', 'netsets', '-A']);
      assert.match(all.stdout, /^NAMESPACE +NAME +\nstaging +external-database +\n/);
      const clusterNs = await t(['get', 'ippool', '-n', 'x']);
      assert.equal(clusterNs.code, 2);
      assert.match(clusterNs.stderr, /IPPool is not namespaced/);
      const both = await t(['get', 'np', '-n', 'a', '-A']);
      assert.match(both.stderr, /cannot use both --namespace and --all-namespaces/);
      const singleA = await t(['get', 'np', 'x', '-A']);
      assert.match(singleA.stderr, /cannot use --all-namespace flag for getting a single resource/);
    });

    void test('the Kubernetes NetworkPolicy is its own kind in every verb', async () => {
      const calico = await t(['get', 'networkpolicy', '-A', '-o', 'name']);
      assert.equal(calico.stdout, 'networkpolicy.projectcalico.org/allow-tcp-6379\n');
      const k8s = await t(['get', 'networkpolicies.networking.k8s.io', '-A', '-o', 'name']);
      assert.equal(k8s.stdout, 'networkpolicy.networking.k8s.io/allow-tcp-6379\n');
      const lab = await t(['label', 'knp', 'allow-tcp-6379', '-n', 'production', 'team=db']);
      assert.equal(lab.code, 0, lab.stderr);
      const calicoObj = parse((await t(['get', 'np', 'allow-tcp-6379', '-n', 'production', '-o', 'yaml'])).stdout) as { metadata: { labels?: Record<string, string> } };
      assert.equal(calicoObj.metadata.labels?.['team'], undefined);
      const del = await t(['delete', 'k8snetworkpolicy', 'allow-tcp-6379', '-n', 'production']);
      assert.equal(del.code, 0, del.stderr);
      assert.equal((await t(['get', 'np', 'allow-tcp-6379', '-n', 'production'])).code, 0);
    });

    void test('create: already exists fails; --skip-exists succeeds', async () => {
      const again = await t(['create', '-f', 'examples.yaml']);
      assert.equal(again.code, 5);
      assert.match(again.stderr, /resource already exists: IPPool\(my\.ippool-1\)/);
      const skip = await t(['create', '-f', 'examples.yaml', '--skip-exists']);
      assert.equal(skip.code, 0, skip.stderr);
      assert.match(skip.stdout, /^Successfully created 8 resource\(s\)/);
    });

    void test('a multi-document file with one invalid document writes nothing and names doc, field, value', async () => {
      write(
        'bad.yaml',
        `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-ping}
spec: {selector: all(), ingress: [{action: Allow, protocol: ICMP}]}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: fresh}
spec: {cidr: 10.200.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all
spec:
  selector: all()
  ingress:
    - action: Allw
`,
      );
      const before = await backend.revision();
      const r = await t(['apply', '-f', 'bad.yaml']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /^error: document 3 \(GlobalNetworkPolicy "deny-all"\): spec\.ingress\[0\]\.action: "Allw" is not one of Allow, Deny, Log, Pass$/m);
      assert.equal(r.stdout, '');
      assert.equal(await backend.revision(), before, 'nothing written');
      assert.equal((await t(['get', 'gnp', 'allow-ping'])).code, 4);
    });

    void test('bad input: malformed YAML, unknown kind, wrong types, unknown fields', async () => {
      write('malformed.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x\nspec: [\n');
      const m = await t(['apply', '-f', 'malformed.yaml']);
      assert.equal(m.code, 3);
      assert.match(m.stderr, /^error: malformed\.yaml:\d+:\d+: .*invalid YAML/m);
      write('unknown.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPoool\nmetadata: {name: x}\n');
      const u = await t(['apply', '-f', 'unknown.yaml']);
      assert.equal(u.code, 3);
      assert.match(u.stderr, /IPPoool/);
      const uk = await t(['get', 'somekind']);
      assert.equal(uk.code, 3);
      assert.match(uk.stderr, /failed to get resources: resource type "somekind" is not supported/);
      write('types.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: typed}\nspec: {cidr: 42, natOutgoing: "yes"}\n');
      const ty = await t(['apply', '-f', 'types.yaml']);
      assert.equal(ty.code, 3);
      assert.match(ty.stderr, /spec\.cidr/);
      write('extra.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: extra}\nspec: {cidr: 10.201.0.0/16, bogus: 1}\n');
      const ex = await t(['apply', '-f', 'extra.yaml']);
      assert.equal(ex.code, 3);
      assert.match(ex.stderr, /spec\.bogus/);
      const none = await t(['apply', '-f', 'nonexistent.yaml']);
      assert.equal(none.code, 10);
      write('empty.yaml', '---\n');
      const empty = await t(['apply', '-f', 'empty.yaml']);
      assert.match(empty.stderr, /no resources specified in file empty\.yaml/);
      assert.equal((await t(['apply', '-f', 'empty.yaml', '--skip-empty'])).stdout, 'No resources specified\n');
      const flag = await t(['get', 'ippools', '--bogus']);
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /unknown flag: --bogus/);
      const cmd = await t(['frobnicate']);
      assert.equal(cmd.code, 2);
    });

    void test('input forms: stdin, JSON, List kinds, directories', async () => {
      const json = JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkSetList',
        items: [
          { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'gns-a' }, spec: { nets: ['1.2.3.0/24'] } },
          { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'gns-b' }, spec: { nets: ['1.2.4.0/24'] } },
        ],
      });
      const s = await t(['apply', '-f', '-'], json);
      assert.equal(s.code, 0, s.stderr);
      assert.equal(s.stdout, "Successfully applied 2 'GlobalNetworkSet' resource(s)\n");
      mkdirSync(join(e.dir, 'd', 'sub'), { recursive: true });
      write('d/a.yaml', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: dir-a}\nspec: {order: 5}\n');
      write('d/b.JSON', '{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"dir-b"}}');
      write('d/ignored.txt', 'not a resource');
      write('d/sub/c.yml', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: dir-c}\n');
      const d = await t(['apply', '-f', 'd']);
      assert.equal(d.stdout, "Successfully applied 2 'Tier' resource(s)\n", d.stderr);
      const dr = await t(['apply', '-f', 'd', '-R']);
      assert.equal(dr.stdout, "Successfully applied 3 'Tier' resource(s)\n", dr.stderr);
      const y = parse((await t(['get', 'tier', 'dir-b', '-o', 'yaml'])).stdout) as { spec: Record<string, unknown> };
      assert.deepEqual(y.spec, { order: 1e6, defaultAction: 'Deny' });
    });

    void test('replace: stale resourceVersion conflicts; delete; --skip-not-exists; tier rules', async () => {
      const cur = parse((await t(['get', 'ippool', 'my.ippool-1', '-o', 'yaml'])).stdout) as Record<string, unknown>;
      (cur['spec'] as Record<string, unknown>)['natOutgoing'] = false;
      write('cur.yaml', JSON.stringify(cur));
      const r1 = await t(['replace', '-f', 'cur.yaml']);
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.stdout, "Successfully replaced 1 'IPPool' resource(s)\n");
      const r2 = await t(['replace', '-f', 'cur.yaml']);
      assert.equal(r2.code, 6);
      assert.match(r2.stderr, /update conflict: IPPool\(my\.ippool-1\)/);
      const missing = await t(['delete', 'ippool', 'nope']);
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /^Failed to delete 'IPPool' resource: resource does not exist: IPPool\(nope\)$/m);
      assert.equal((await t(['delete', 'ippool', 'nope', '--skip-not-exists'])).code, 0);
      const builtin = await t(['delete', 'tier', 'default']);
      assert.equal(builtin.code, 8);
      assert.match(builtin.stderr, /Cannot delete default tier/);
      const nonEmpty = await t(['delete', 'tier', 'internal-access']);
      assert.equal(nonEmpty.code, 8);
      assert.match(nonEmpty.stderr, /Cannot delete a non-empty tier/);
      const ci = await t(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: ClusterInformation\nmetadata: {name: default}\nspec: {}\n');
      assert.equal(ci.code, 8);
      const byFile = await t(['delete', '-f', 'examples.yaml', '-s']);
      assert.equal(byFile.code, 8, 'the tier still holds the GNP until both go: order in file is tier first');
      const d2 = await t(['delete', '-f', 'examples.yaml', '-s']);
      assert.equal(d2.code, 0, d2.stderr);
      assert.equal((await t(['get', 'gnp', 'allow-tcp-6379'])).code, 4);
    });

    void test('label and patch', async () => {
      write('pool.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: lp}\nspec: {cidr: 10.77.0.0/16}\n');
      assert.equal((await t(['apply', '-f', 'pool.yaml'])).code, 0);
      const set = await t(['label', 'pools', 'lp', 'zone=a']);
      assert.equal(set.stdout, 'Successfully set label zone on pools lp\n');
      const clash = await t(['label', 'pools', 'lp', 'zone=b']);
      assert.notEqual(clash.code, 0);
      assert.match(clash.stderr, /key zone is already present. please use '--overwrite' to set a new value/);
      const over = await t(['label', 'pools', 'lp', 'zone=b', '--overwrite']);
      assert.equal(over.stdout, 'Successfully updated label zone on pools lp\n');
      const rm = await t(['label', 'pools', 'lp', 'zone', '--remove']);
      assert.equal(rm.stdout, 'Successfully removed label zone from pools lp\n');
      const rm2 = await t(['label', 'pools', 'lp', 'zone', '--remove']);
      assert.match(rm2.stderr, /cannot remove label of pools lp, key zone does not exist/);
      assert.match((await t(['label', 'pools', 'lp', 'zone'])).stderr, /invalid label zone/);
      const p = await t(['patch', 'ippool', 'lp', '-p', '{"spec":{"natOutgoing":true,"disabled":true}}']);
      assert.equal(p.stdout, "Successfully patched 1 'IPPool' resource\n", p.stderr);
      const got = parse((await t(['get', 'ippool', 'lp', '-o', 'yaml'])).stdout) as { spec: Record<string, unknown> };
      assertContains(got.spec, { natOutgoing: true, disabled: true, cidr: '10.77.0.0/16', blockSize: 26 });
      const bad = await t(['patch', 'ippool', 'lp', '-p', '{"spec":{"blockSize":"big"}}']);
      assert.equal(bad.code, 3);
      assert.match(bad.stderr, /spec\.blockSize/);
    });

    void test('a stored value that no longer validates is reported and skipped by get', async () => {
      await backend.put('/calico/resources/v3/projectcalico.org/ippools/broken', JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'broken' }, spec: { cidr: 'nonsense' } }));
      const g = await t(['get', 'ippools']);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, /^lp /m);
      assert.doesNotMatch(g.stdout, /broken/);
      assert.match(g.stderr, /warning: skipped stored IPPool at \/calico\/resources\/v3\/projectcalico\.org\/ippools\/broken: /);
      await backend.delete('/calico/resources/v3/projectcalico.org/ippools/broken');
    });

    void test('several processes writing at once lose no update', async () => {
      write('shared.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: shared}\nspec: {cidr: 10.88.0.0/16}\n');
      assert.equal((await t(['apply', '-f', 'shared.yaml'])).code, 0);
      const N = 5;
      const results = await Promise.all([
        ...Array.from({ length: N }, (_, i) => t(['label', 'ippool', 'shared', `k${i}=v`])),
        ...Array.from({ length: N }, (_, i) =>
          t(['apply', '-f', '-'], `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: conc-${i}}\nspec: {nets: [10.9.${i}.0/24]}\n`),
        ),
      ]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const got = parse((await t(['get', 'ippool', 'shared', '-o', 'yaml'])).stdout) as { metadata: { labels: Record<string, string> } };
      assert.equal(Object.keys(got.metadata.labels).length, N);
      const sets = await t(['get', 'gns', '-o', 'name']);
      assert.equal(sets.stdout.split('\n').filter((l) => l.includes('conc-')).length, N);
    });

    void test('version, --help, --config', async () => {
      const v = await t(['version']);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^Client Version: {4}v\d+\.\d+\.\d+\nGit commit: {8}\S+\nCluster Version: {3}v\d+\.\d+\.\d+\nCluster Type: {6}\S+\n$/);
      const h = await t(['get', '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /^Usage: tricolor get/);
      const top = await t(['--help']);
      assert.match(top.stdout, /create|apply|replace|delete|get|patch|label|version/);
      // a CalicoAPIConfig file replaces the environment
      const spec =
        e.cfg.type === 'embedded'
          ? `datastoreType: embedded\n  datastorePath: ${e.cfg.path}`
          : `datastoreType: etcdv3\n  etcdEndpoints: ${e.cfg.endpoints.join(',')}`;
      write('calicoctl.cfg', `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  ${spec}\n`);
      const c = await run(['get', 'ippool', 'shared', '-o', 'name', '--config', 'calicoctl.cfg'], baseEnv(), e.dir);
      assert.equal(c.stdout, 'ippool.projectcalico.org/shared\n', c.stderr);
      write('wrong.cfg', 'apiVersion: projectcalico.org/v3\nkind: Nope\nspec: {}\n');
      const w = await run(['get', 'ippools', '-c', 'wrong.cfg'], baseEnv(), e.dir);
      assert.match(w.stderr, /invalid config file: expected kind 'CalicoAPIConfig', got 'Nope'/);
      const missing = await run(['get', 'ippools', '-c', 'missing.cfg'], baseEnv(), e.dir);
      assert.match(missing.stderr, /Error reading config file: missing\.cfg/);
    });
  });
}

suite('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-cli-'));
  const path = join(dir, 'datastore.db');
  return {
    env: { ...baseEnv(), DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: path },
    dir,
    cfg: { type: 'embedded', path },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

suite('etcd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-cli-etcd-'));
  const etcd: RunningEtcd = await startEtcd();
  return {
    env: { ...baseEnv(), DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints },
    dir,
    cfg: { type: 'etcdv3', endpoints: [etcd.endpoints] },
    async close() {
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
