// UpdateSource: the decoding stage every implementation shares (identity kept across deletions,
// renames and invalid values), and the local implementation over a real SQLite store: snapshot,
// in-sync, deltas, block affinities, and silence after dispose.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SQLiteBackend } from './sqlite-backend.ts';
import { DecodingUpdateSource, localUpdateSource, type StoredUpdate, type UpdateSelection, type UpdateSourceStatus } from './update-source.ts';
import { POLICY_METADATA_ANNOTATION } from './resource-codec.ts';
import { sleep } from '../base/index.ts';

const SEL: UpdateSelection = {
  kinds: [
    { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy' },
    { apiVersion: 'projectcalico.org/v3', kind: 'IPPool' },
  ],
  blockAffinities: true,
};
const gnpKey = (name: string) => `/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${name}`;
const gnp = (name: string, annotated?: string) =>
  JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name, ...(annotated === undefined ? {} : { annotations: { [POLICY_METADATA_ANNOTATION]: JSON.stringify({ name: annotated }) } }) },
    spec: { selector: 'all()' },
  });

const brief = (us: readonly StoredUpdate[]) =>
  us.map((u) => (u.type === 'resource' ? `${u.value === undefined ? (u.problem === undefined ? 'del' : 'bad') : 'put'} ${u.info.kind} ${u.name}` : `${u.value === undefined ? 'del' : 'put'} affinity ${u.value?.cidr ?? u.key}`));

void describe('DecodingUpdateSource', () => {
  const make = () => new DecodingUpdateSource({ start: () => undefined, stop: async () => undefined }, SEL, 'test');
  void it('a legacy default.<name> policy is delivered, and deleted, as <name>', () => {
    const s = make();
    assert.deepEqual(brief(s.decode([{ key: gnpKey('default.old'), value: gnp('default.old'), revision: 2 }])), ['put GlobalNetworkPolicy old']);
    assert.deepEqual(brief(s.decode([{ key: gnpKey('default.old'), value: undefined, revision: 3 }])), ['del GlobalNetworkPolicy old']);
  });
  void it('a key whose value now names another object: the old name is deleted first', () => {
    const s = make();
    s.decode([{ key: gnpKey('default.x'), value: gnp('default.x'), revision: 2 }]);
    assert.deepEqual(brief(s.decode([{ key: gnpKey('default.x'), value: gnp('default.x', 'default.x'), revision: 3 }])), ['del GlobalNetworkPolicy x', 'put GlobalNetworkPolicy default.x']);
  });
  void it('an invalid value is absent with its problem, under the name delivered before; its deletion is delivered', () => {
    const s = make();
    s.decode([{ key: gnpKey('default.y'), value: gnp('default.y'), revision: 2 }]);
    const bad = s.decode([{ key: gnpKey('default.y'), value: '{', revision: 3 }]);
    assert.deepEqual(brief(bad), ['bad GlobalNetworkPolicy y']);
    const u = bad[0];
    assert.ok(u?.type === 'resource' && u.problem !== undefined);
    assert.equal(u.problem.code, 'ERR_VALIDATION');
    assert.deepEqual(brief(s.decode([{ key: gnpKey('default.y'), value: undefined, revision: 4 }])), ['del GlobalNetworkPolicy y']);
  });
  void it('deletions of keys never delivered, and keys outside the selection, are dropped', () => {
    const s = make();
    assert.deepEqual(s.decode([{ key: gnpKey('z'), value: undefined, revision: 2 }]), []);
    assert.deepEqual(s.decode([{ key: '/calico/resources/v3/projectcalico.org/tiers/t', value: '{}', revision: 2 }]), []);
  });
});

void describe('localUpdateSource on SQLite', () => {
  void it('snapshot, in-sync, deltas, affinities; nothing after dispose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tricolor-us-'));
    const backend = new SQLiteBackend({ path: join(dir, 'd.db') });
    try {
      await backend.put(gnpKey('default.a'), gnp('default.a'));
      await backend.put('/calico/ipam/v2/host/n1/ipv4/block/10.0.1.0-26', '{"state":"confirmed"}');
      await backend.put('/calico/resources/v3/projectcalico.org/tiers/t', '{}'); // not selected
      const src = localUpdateSource(backend, SEL, { minResyncGapMs: 0 });
      const got: string[] = [];
      const statuses: UpdateSourceStatus[] = [];
      let inSync!: () => void;
      const synced = new Promise<void>((r) => (inSync = r));
      src.start({
        onStatus: (s) => {
          statuses.push(s);
          if (s === 'InSync') inSync();
        },
        onUpdates: (us) => got.push(...brief(us)),
      });
      await synced;
      assert.deepEqual(statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.deepEqual(got.sort(), ['put GlobalNetworkPolicy a', 'put affinity 10.0.1.0/26']);
      got.length = 0;
      await backend.delete(gnpKey('default.a'));
      for (let i = 0; i < 200 && got.length === 0; i++) await sleep(10);
      assert.deepEqual(got, ['del GlobalNetworkPolicy a']);
      await src.dispose();
      got.length = 0;
      await backend.put(gnpKey('b'), gnp('b'));
      await sleep(200);
      assert.deepEqual(got, []);
    } finally {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
