// ResourceClient against both real backends: a temp SQLite file and a real etcd. The same
// cases run on each (one shared suite); nothing here is mocked.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CALICO_API_VERSION, K8S_NETWORKING_API_VERSION, kindInfoFor, type AnyResource, type KindInfo } from '../api/index.ts';
import { isTricolorError } from '../base/index.ts';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import type { DatastoreBackend } from './backend.ts';
import { openBackend } from './open.ts';
import { batchFailures, DEFAULT_ALLOW_PROFILE, ResourceClient } from './resource-client.ts';
import { POLICY_METADATA_ANNOTATION } from './resource-codec.ts';

function info(kind: string, apiVersion = CALICO_API_VERSION): KindInfo {
  const i = kindInfoFor(apiVersion, kind);
  assert.ok(i, `kind ${kind}`);
  return i;
}

const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: CALICO_API_VERSION,
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...extra },
});
const gnp = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: CALICO_API_VERSION,
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec: { selector: 'all()', ingress: [{ action: 'Allow' }], ...spec },
});
const tier = (name: string, order = 100): Record<string, unknown> => ({
  apiVersion: CALICO_API_VERSION,
  kind: 'Tier',
  metadata: { name },
  spec: { order },
});

async function rejects(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(isTricolorError(e), `expected TricolorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

interface Fixture {
  backend: DatastoreBackend;
  client: ResourceClient;
  close(): Promise<void>;
}

function suite(name: string, open: () => Promise<Fixture>): void {
  void describe(`ResourceClient on ${name}`, () => {
    let f: Fixture;
    let c: ResourceClient;
    before(async () => {
      f = await open();
      c = f.client;
    });
    after(async () => {
      await f.close();
    });

    void test('initialise is idempotent and race-safe', async () => {
      await Promise.all([c.initialise(), c.initialise(), new ResourceClient(f.backend).initialise()]);
      await c.initialise();
      const tiers = await c.list(info('Tier'));
      assert.deepEqual(
        tiers.items.map((t) => [t.metadata.name, (t.spec as { order?: number }).order]),
        [
          ['default', 1e6],
          ['kube-admin', 1000],
          ['kube-baseline', 1e7],
        ],
      );
      const ci = await c.get(info('ClusterInformation'), 'default');
      const spec = ci.spec as { clusterGUID?: string; datastoreReady?: boolean; calicoVersion?: string };
      assert.match(spec.clusterGUID ?? '', /^[0-9a-f]{32}$/);
      assert.equal(spec.datastoreReady, true);
      assert.ok(spec.calicoVersion);
    });

    void test('create stamps uid/creationTimestamp, stores no resourceVersion, reads it from the revision', async () => {
      const created = await c.create(pool('p1', '10.10.0.0/16'));
      assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const key = '/calico/resources/v3/projectcalico.org/ippools/p1';
      const kv = await f.backend.get(key);
      assert.ok(kv);
      const stored = JSON.parse(kv.value) as AnyResource;
      assert.equal(stored.metadata.resourceVersion, undefined);
      assert.equal(created.metadata.resourceVersion, String(kv.modRevision));
      const got = await c.get(info('IPPool'), 'p1');
      assert.deepEqual(got, created);
      // Calico's defaults are filled
      assert.equal((got.spec as { blockSize?: number }).blockSize, 26);
    });

    void test('create refuses an existing object and a resourceVersion', async () => {
      await rejects(c.create(pool('p1', '10.10.0.0/16')), 'ERR_ALREADY_EXISTS', /resource already exists: IPPool\(p1\)/);
      const doc = pool('p-rv', '10.11.0.0/16');
      (doc['metadata'] as Record<string, unknown>)['resourceVersion'] = '5';
      // a resourceVersion on create names an object that must already exist at that version
      await rejects(c.create(doc), 'ERR_VALIDATION');
    });

    void test('update: compare-and-swap with resourceVersion, read-modify-write without', async () => {
      const cur = await c.get(info('IPPool'), 'p1');
      const a = structuredClone(cur);
      (a.spec as Record<string, unknown>)['natOutgoing'] = true;
      const updated = await c.update(a);
      assert.notEqual(updated.metadata.resourceVersion, cur.metadata.resourceVersion);
      assert.equal(updated.metadata.uid, cur.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, cur.metadata.creationTimestamp);
      // the stale version now conflicts
      await rejects(c.update(a), 'ERR_UPDATE_CONFLICT', /update conflict: IPPool\(p1\)/);
      // without a version: the latest wins, server fields kept
      const b = pool('p1', '10.10.0.0/16', { disabled: true });
      const u2 = await c.update(b);
      assert.equal(u2.metadata.uid, cur.metadata.uid);
      await rejects(c.update(pool('nope', '10.99.0.0/16')), 'ERR_NOT_FOUND', /resource does not exist: IPPool\(nope\)/);
    });

    void test('IPPool cidr is immutable and overlap is refused', async () => {
      await rejects(c.apply(pool('p1', '10.12.0.0/16')), 'ERR_VALIDATION', /spec\.cidr/);
      await rejects(c.create(pool('p-overlap', '10.10.5.0/24')), 'ERR_VALIDATION', /overlaps/);
    });

    void test('apply creates then updates', async () => {
      const a1 = await c.apply(pool('p2', '10.20.0.0/16'));
      const a2 = await c.apply(pool('p2', '10.20.0.0/16', { natOutgoing: true }));
      assert.equal(a1.metadata.uid, a2.metadata.uid);
      assert.equal((a2.spec as { natOutgoing?: boolean }).natOutgoing, true);
    });

    void test('policy kinds carry the metadata annotation in the store, not on read', async () => {
      const p = await c.create(gnp('allow-all'));
      assert.equal(p.metadata.annotations?.[POLICY_METADATA_ANNOTATION], undefined);
      const kv = await f.backend.get('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/allow-all');
      assert.ok(kv);
      const stored = JSON.parse(kv.value) as AnyResource;
      assert.equal(stored.metadata.annotations?.[POLICY_METADATA_ANNOTATION], JSON.stringify({ name: 'allow-all' }));
      const got = await c.get(info('GlobalNetworkPolicy'), 'allow-all');
      assert.equal(got.metadata.annotations, undefined);
    });

    void test('legacy default-tier names stored as default.<name> are read back without the prefix', async () => {
      const key = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.legacy';
      await f.backend.put(key, JSON.stringify({ apiVersion: CALICO_API_VERSION, kind: 'GlobalNetworkPolicy', metadata: { name: 'default.legacy' }, spec: { tier: 'default', selector: 'all()' } }));
      const listed = await c.list(info('GlobalNetworkPolicy'));
      assert.ok(listed.items.some((p) => p.metadata.name === 'legacy'));
      await f.backend.delete(key);
    });

    void test('policy tier must exist; a tier in the same batch counts', async () => {
      await rejects(c.create(gnp('in-missing', { tier: 'missing' })), 'ERR_VALIDATION', /spec\.tier: "missing"/);
      const r = await c.createMany([gnp('in-new', { tier: 'new-tier' }), tier('new-tier')]);
      assert.equal(r.items.length, 2);
      assert.equal(r.items[0]?.metadata.resourceVersion, r.items[1]?.metadata.resourceVersion, 'one transaction');
    });

    void test('tier deletion: built-ins and non-empty tiers refused', async () => {
      await rejects(c.delete(info('Tier'), 'default'), 'ERR_FORBIDDEN', /Cannot delete default tier/);
      await rejects(c.delete(info('Tier'), 'kube-admin'), 'ERR_FORBIDDEN');
      await rejects(c.delete(info('Tier'), 'new-tier'), 'ERR_FORBIDDEN', /non-empty tier/);
      await c.delete(info('GlobalNetworkPolicy'), 'in-new');
      await c.delete(info('Tier'), 'new-tier');
      await rejects(c.get(info('Tier'), 'new-tier'), 'ERR_NOT_FOUND');
    });

    void test('delete with a stale resourceVersion conflicts; missing is not found', async () => {
      const p = await c.apply(pool('p3', '10.30.0.0/16'));
      await c.apply(pool('p3', '10.30.0.0/16', { natOutgoing: true }));
      await rejects(c.delete(info('IPPool'), 'p3', undefined, p.metadata.resourceVersion), 'ERR_UPDATE_CONFLICT');
      await c.delete(info('IPPool'), 'p3');
      await rejects(c.delete(info('IPPool'), 'p3'), 'ERR_NOT_FOUND');
    });

    void test('a batch with one invalid document writes nothing and names every bad document', async () => {
      const before = await f.backend.revision();
      const e = await rejects(
        c.createMany([pool('b1', '10.40.0.0/16'), gnp('b2', { ingress: [{ action: 'Allw' }] }), pool('b3', '10.40.0.0/16'), pool('b4', '10.41.0.0/33')]),
        'ERR_VALIDATION',
      );
      const failures = batchFailures(e);
      // b2: bad action; b3: overlaps b1 in the same batch; b4: bad CIDR
      assert.deepEqual(
        failures.map((x) => x.index),
        [1, 3],
        failures.map((x) => x.error.message).join('\n'),
      );
      assert.match(failures[0]?.error.message ?? '', /spec\.ingress\[0\]\.action: "Allw"/);
      assert.equal(await f.backend.revision(), before, 'nothing written');
      // the cross-object check runs once the documents are valid on their own
      const e2 = await rejects(c.createMany([pool('b1', '10.40.0.0/16'), pool('b3', '10.40.0.0/17')]), 'ERR_VALIDATION');
      assert.deepEqual(
        batchFailures(e2).map((x) => x.index),
        [0, 1],
      );
      assert.equal(await f.backend.revision(), before, 'nothing written');
    });

    void test('createMany skipExists leaves existing objects alone', async () => {
      const r = await c.createMany([pool('p2', '10.20.0.0/16'), pool('p5', '10.50.0.0/16')], { skipExists: true });
      assert.equal(r.items[0], undefined);
      assert.equal(r.items[1]?.metadata.name, 'p5');
      await rejects(c.createMany([pool('p6', '10.60.0.0/16'), pool('p5', '10.50.0.0/16')]), 'ERR_ALREADY_EXISTS');
      await rejects(c.get(info('IPPool'), 'p6'), 'ERR_NOT_FOUND');
    });

    void test('replaceMany needs every object to exist', async () => {
      await rejects(c.replaceMany([pool('p5', '10.50.0.0/16'), pool('p7', '10.70.0.0/16')]), 'ERR_NOT_FOUND');
      const r = await c.replaceMany([pool('p5', '10.50.0.0/16', { disabled: true })]);
      assert.equal((r.items[0]?.spec as { disabled?: boolean }).disabled, true);
    });

    void test('namespaced kinds: list one namespace or all; Kubernetes NetworkPolicy is a separate kind', async () => {
      const np = (ns: string, name: string): Record<string, unknown> => ({
        apiVersion: CALICO_API_VERSION,
        kind: 'NetworkPolicy',
        metadata: { name, namespace: ns },
        spec: { selector: "app == 'db'" },
      });
      const knp = {
        apiVersion: K8S_NETWORKING_API_VERSION,
        kind: 'NetworkPolicy',
        metadata: { name: 'same-name', namespace: 'a' },
        spec: { podSelector: {} },
      };
      await c.applyMany([np('a', 'same-name'), np('b', 'other'), knp]);
      const all = await c.list(info('NetworkPolicy'));
      assert.deepEqual(all.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), ['a/same-name', 'b/other']);
      const inA = await c.list(info('NetworkPolicy'), 'a');
      assert.equal(inA.items.length, 1);
      const k8s = await c.list(info('NetworkPolicy', K8S_NETWORKING_API_VERSION));
      assert.deepEqual(k8s.items.map((p) => p.apiVersion), [K8S_NETWORKING_API_VERSION]);
      const kv = await f.backend.get(`${info('NetworkPolicy', K8S_NETWORKING_API_VERSION).keyPrefix}a/same-name`);
      assert.ok(kv, 'stored under its own prefix');
      await rejects(
        c.create({ ...np('x', 'knp.default.foo') }),
        'ERR_VALIDATION',
        /kubernetes network policies must be managed through the kubernetes API/,
      );
    });

    void test('a stored value that no longer validates is skipped with its key, never fatal', async () => {
      const key = '/calico/resources/v3/projectcalico.org/ippools/broken';
      await f.backend.put(key, JSON.stringify({ apiVersion: CALICO_API_VERSION, kind: 'IPPool', metadata: { name: 'broken' }, spec: { cidr: 'not-a-cidr' } }));
      const key2 = '/calico/resources/v3/projectcalico.org/ippools/garbage';
      await f.backend.put(key2, '{not json');
      const listed = await c.list(info('IPPool'));
      assert.deepEqual(listed.skipped.map((s) => s.key).sort(), [key, key2]);
      assert.ok(listed.items.length >= 2);
      await rejects(c.get(info('IPPool'), 'broken'), 'ERR_VALIDATION');
      // writes of other pools still work, and the broken one can be repaired by apply
      await c.apply(pool('broken', '10.90.0.0/16'));
      await c.delete(info('IPPool'), 'garbage');
      assert.deepEqual((await c.list(info('IPPool'))).skipped, []);
    });

    void test('the default-allow profile is synthetic', async () => {
      const p = await c.get(info('Profile'), DEFAULT_ALLOW_PROFILE);
      assert.deepEqual(p.spec, { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] });
      const listed = await c.list(info('Profile'));
      assert.ok(listed.items.some((x) => x.metadata.name === DEFAULT_ALLOW_PROFILE));
      await rejects(c.delete(info('Profile'), DEFAULT_ALLOW_PROFILE), 'ERR_FORBIDDEN');
    });

    void test('concurrent read-modify-write updates lose nothing', async () => {
      await c.apply(pool('shared', '10.100.0.0/16'));
      const clients = [c, new ResourceClient(f.backend), new ResourceClient(f.backend)];
      const N = 12;
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const cl = clients[i % clients.length]!;
          for (;;) {
            const cur = await cl.get(info('IPPool'), 'shared');
            cur.metadata.labels = { ...cur.metadata.labels, [`k${i}`]: 'v' };
            try {
              await cl.update(cur);
              return;
            } catch (e) {
              if (!isTricolorError(e, 'ERR_UPDATE_CONFLICT')) throw e;
            }
          }
        }),
      );
      const final = await c.get(info('IPPool'), 'shared');
      assert.equal(Object.keys(final.metadata.labels ?? {}).length, N);
    });
  });
}

suite('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-rc-'));
  const backend = await openBackend({ type: 'embedded', path: join(dir, 'store.db') });
  return {
    backend,
    client: new ResourceClient(backend),
    async close() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

suite('etcd', async () => {
  const etcd: RunningEtcd = await startEtcd();
  const backend = await openBackend({ type: 'etcdv3', endpoints: [etcd.endpoints] });
  return {
    backend,
    client: new ResourceClient(backend),
    async close() {
      await backend.close();
      await etcd.stop();
    },
  };
});
