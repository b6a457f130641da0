// Pure block model: table tests and property tests (never the same address twice; release and
// re-allocation round trips; JSON round trip with uint64 sequence numbers).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIP, parseCIDR, parseIP } from '../net/index.ts';
import {
  allocateInBlock,
  assignOrdinal,
  blockProblems,
  bumpSequence,
  collectCooldown,
  ipAt,
  isEmptyBlock,
  newBlock,
  ordinalsForHandle,
  parseAffinity,
  parseBlock,
  parseIPAMConfig,
  releaseInBlock,
  serializeBlock,
  serializeIPAMConfig,
  type AllocationBlock,
} from './model.ts';
import { seededRandom } from '../base/index.ts';

const none = (): boolean => false;

const rng = seededRandom;

void test('new block: all ordinals free in order, size from prefix', () => {
  for (const [cidr, size] of [['10.0.0.0/26', 64], ['10.0.0.0/32', 1], ['fd00::/122', 64], ['10.0.0.0/20', 4096]] as const) {
    const b = newBlock(parseCIDR(cidr), 'host:a', 5n, 't');
    assert.equal(b.allocations.length, size);
    assert.deepEqual(b.unallocated.slice(0, 3), [0, 1, 2].slice(0, size));
    assert.equal(blockProblems(b, 0).length, 0);
  }
});

void test('allocation shares one attribute per call, skips reserved, records sequence numbers', () => {
  const b0 = newBlock(parseCIDR('10.0.0.0/29'), 'host:a', 7n, 't');
  const reserved = (ip: { value: bigint }): boolean => ip.value === parseIP('10.0.0.1').value;
  const { block, ordinals } = allocateInBlock(b0, 3, 'h', { pod: 'p' }, reserved);
  assert.deepEqual(ordinals, [0, 2, 3]);
  assert.equal(block.attributes.length, 1);
  assert.deepEqual(block.unallocated, [1, 4, 5, 6, 7], 'reserved ordinal keeps its place');
  assert.equal(block.sequenceNumberForAllocation['2'], 7n);
  assert.deepEqual(b0.unallocated.length, 8, 'input untouched');
  assert.throws(() => assignOrdinal(block, 2, 'x', {}), /Address already assigned in block/);
});

void test('property: random allocate/release never hands out an address twice and stays well-formed', () => {
  for (let seed = 1; seed <= 80; seed++) {
    const r = rng(seed);
    let b: AllocationBlock = newBlock(parseCIDR('10.1.0.0/27'), 'host:a', 1_700_000_000_000_000_000n, 't');
    const live = new Map<number, { handle: string; seq: bigint }>();
    for (let step = 0; step < 60; step++) {
      if (r() < 0.6) {
        const n = 1 + Math.floor(r() * 4);
        const handle = `h${step}`;
        const seq = b.sequenceNumber;
        const res = allocateInBlock(b, n, handle, {}, none);
        for (const o of res.ordinals) {
          assert.ok(!live.has(o), `seed ${seed}: ordinal ${o} handed out twice`);
          live.set(o, { handle, seq });
        }
        assert.equal(res.ordinals.length, Math.min(n, 32 - (live.size - res.ordinals.length)));
        b = bumpSequence(res.block);
      } else if (live.size > 0) {
        const keys = [...live.keys()];
        const o = keys[Math.floor(r() * keys.length)] ?? 0;
        const info = live.get(o);
        // a stale sequence number must be refused
        assert.throws(() => releaseInBlock(b, [{ ordinal: o, sequenceNumber: (info?.seq ?? 0n) + 99n }]), /stale/);
        const res = releaseInBlock(b, [{ ordinal: o, handleId: info?.handle ?? '', sequenceNumber: info?.seq ?? 0n }]);
        assert.deepEqual(res.outcomes, ['released']);
        live.delete(o);
        b = bumpSequence(res.block);
      }
      assert.deepEqual(blockProblems(b, 0), [], `seed ${seed} step ${step}`);
      assert.equal(b.allocations.filter((a) => a !== null).length, live.size);
      // JSON round trip keeps every uint64 exactly
      const back = parseBlock(serializeBlock(b));
      assert.deepEqual({ ...back, extra: {} }, { ...b, extra: {} });
    }
  }
});

void test('FIFO reuse: the longest-free address comes back first', () => {
  let b = newBlock(parseCIDR('10.2.0.0/30'), null, 1n, 't');
  b = allocateInBlock(b, 4, 'h', {}, none).block;
  b = releaseInBlock(b, [{ ordinal: 2 }]).block;
  b = releaseInBlock(b, [{ ordinal: 0 }]).block;
  assert.deepEqual(allocateInBlock(b, 1, 'x', {}, none).ordinals, [2]);
  assert.equal(isEmptyBlock(b), false);
  b = releaseInBlock(b, [{ ordinal: 1 }, { ordinal: 3 }, { ordinal: 3 }]).block;
  assert.equal(isEmptyBlock(b), true);
  assert.equal(b.attributes.length, 0, 'unreferenced attributes compacted');
});

void test('cooldown: released addresses stay held until they age out', () => {
  let b = newBlock(parseCIDR('10.3.0.0/30'), null, 1n, 't');
  b = allocateInBlock(b, 1, 'h', {}, none).block;
  b = releaseInBlock(b, [{ ordinal: 0, handleId: 'h' }], { seconds: 60, now: '2026-01-01T00:00:00.000Z' }).block;
  assert.equal(isEmptyBlock(b), false);
  assert.deepEqual(releaseInBlock(b, [{ ordinal: 0 }]).outcomes, ['unallocated'], 'releasing a cooling address is a no-op');
  assert.deepEqual(ordinalsForHandle(b, 'h'), []);
  assert.equal(isEmptyBlock(collectCooldown(b, 60, Date.parse('2026-01-01T00:00:59Z'))), false);
  assert.equal(isEmptyBlock(collectCooldown(b, 60, Date.parse('2026-01-01T00:01:00Z'))), true);
});

void test('reads Calico-written values: legacy hostAffinity, empty affinity, config defaults', () => {
  const text = JSON.stringify({ cidr: '10.4.0.0/30', hostAffinity: 'old', strictAffinity: false, allocations: [0, null, null, null], unallocated: [1, 2, 3], attributes: [{ handle_id: 'h', secondary: { node: 'old' } }], sequenceNumber: 3, sequenceNumberForAllocation: { '0': 2 } });
  const b = parseBlock(text);
  assert.equal(b.affinity, 'host:old');
  assert.equal(formatIP(ipAt(b, 0)), '10.4.0.0');
  assert.equal((JSON.parse(serializeBlock(b)) as Record<string, unknown>)['strictAffinity'], false, 'unknown fields carried through');
  assert.deepEqual(parseAffinity(''), { state: '', deleted: false });
  assert.deepEqual(parseIPAMConfig(undefined), { strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0, kubeVirtVMAddressPersistence: 'Enabled', ipCooldownSeconds: 0 });
  assert.deepEqual(parseIPAMConfig(serializeIPAMConfig({ strictAffinity: true, autoAllocateBlocks: false, maxBlocksPerHost: 3, kubeVirtVMAddressPersistence: 'Disabled', ipCooldownSeconds: 5 })), {
    strictAffinity: true, autoAllocateBlocks: false, maxBlocksPerHost: 3, kubeVirtVMAddressPersistence: 'Disabled', ipCooldownSeconds: 5,
  });
});

void test('blockProblems finds structural corruption', () => {
  const bad = parseBlock(JSON.stringify({ cidr: '10.5.0.0/30', affinity: null, allocations: [0, 3, null, null], unallocated: [2, 2, 0], attributes: [{}, {}], sequenceNumber: 1 }));
  const problems = blockProblems(bad, 0).map((p) => p.problem);
  for (const re of [/points at nonexistent attribute 3/, /attribute 1 is not referenced/, /ordinal 2 is duplicated/, /both allocated and unallocated/]) {
    assert.ok(problems.some((p) => re.test(p)), `${re} in ${JSON.stringify(problems)}`);
  }
  const short = parseBlock(JSON.stringify({ cidr: '10.5.0.0/30', affinity: null, allocations: [0, null, null, null], unallocated: [1], attributes: [{}], sequenceNumber: 1 }));
  assert.match(blockProblems(short, 0)[0]?.problem ?? '', /allocated \(1\) \+ unallocated \(1\) != block size \(4\)/);
});
