import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContainsCIDR,
  cidrContainsIP,
  cidrFirst,
  cidrHasHostBits,
  cidrLast,
  cidrSize,
  cidrSubnets,
  cidrsOverlap,
  formatCIDR,
  formatIP,
  isTricolorErrorLike,
  parseCIDR,
  parseIP,
  tryParseCIDR,
} from './test-support.ts';

const parses: [string, boolean, string | null, boolean][] = [
  // text, allowBareIP, canonical (null = rejected), has host bits
  ['10.0.0.0/24', false, '10.0.0.0/24', false],
  ['10.0.0.1/24', false, '10.0.0.0/24', true],
  ['0.0.0.0/0', false, '0.0.0.0/0', false],
  ['1.2.3.4/0', false, '0.0.0.0/0', true],
  ['10.0.0.1/32', false, '10.0.0.1/32', false],
  ['10.0.0.1', true, '10.0.0.1/32', false],
  ['10.0.0.1', false, null, false],
  ['10.0.0.0/33', false, null, false],
  ['10.0.0.0/024', false, null, false],
  ['10.0.0.0/-1', false, null, false],
  ['10.0.0.0/+8', false, null, false],
  ['10.0.0.0/', false, null, false],
  ['10.0.0.0/8/8', false, null, false],
  ['/8', false, null, false],
  ['010.0.0.0/8', false, null, false],
  ['fd00::/8', false, 'fd00::/8', false],
  ['FD00:1::5/64', false, 'fd00:1::/64', true],
  ['::/0', false, '::/0', false],
  ['::1', true, '::1/128', false],
  ['::1/128', false, '::1/128', false],
  ['::1/129', false, null, false],
  ['2001:db8::/32 ', false, null, false],
  ['fe80::1%eth0/64', false, null, false],
];

void test('tryParseCIDR / parseCIDR / cidrHasHostBits', async (t) => {
  for (const [text, allowBareIP, canonical, hostBits] of parses) {
    await t.test(`${text} (bare ${allowBareIP})`, () => {
      const c = tryParseCIDR(text, { allowBareIP });
      if (canonical === null) {
        assert.equal(c, undefined);
        assert.throws(() => parseCIDR(text, { allowBareIP }), (e: unknown) =>
          isTricolorErrorLike(e, 'ERR_VALIDATION', `${JSON.stringify(text)} is not a valid CIDR`));
        return;
      }
      assert.ok(c);
      assert.equal(formatCIDR(c), canonical);
      assert.deepEqual(parseCIDR(canonical), c);
      assert.equal(cidrHasHostBits(text), hostBits);
    });
  }
});

void test('size, first, last', async (t) => {
  const cases: [string, bigint, string, string][] = [
    ['10.0.0.0/24', 256n, '10.0.0.0', '10.0.0.255'],
    ['10.0.0.0/26', 64n, '10.0.0.0', '10.0.0.63'],
    ['0.0.0.0/0', 1n << 32n, '0.0.0.0', '255.255.255.255'],
    ['1.2.3.4/32', 1n, '1.2.3.4', '1.2.3.4'],
    ['fd00::/122', 64n, 'fd00::', 'fd00::3f'],
    ['::/0', 1n << 128n, '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [text, size, first, last] of cases) {
    await t.test(text, () => {
      const c = parseCIDR(text);
      assert.equal(cidrSize(c), size);
      assert.equal(formatIP(cidrFirst(c)), first);
      assert.equal(formatIP(cidrLast(c)), last);
    });
  }
});

void test('containment and overlap', async (t) => {
  const cases: [string, string, boolean, boolean][] = [
    // outer, inner, outer contains inner, overlap
    ['10.0.0.0/8', '10.1.0.0/16', true, true],
    ['10.1.0.0/16', '10.0.0.0/8', false, true],
    ['10.0.0.0/24', '10.0.1.0/24', false, false],
    ['10.0.0.0/24', '10.0.0.0/24', true, true],
    ['0.0.0.0/0', '192.168.0.0/16', true, true],
    ['10.0.0.0/8', '::/0', false, false],
    ['::/0', '10.0.0.0/8', false, false],
    ['fd00::/8', 'fd12::/16', true, true],
    ['fd00::/16', 'fd01::/16', false, false],
  ];
  for (const [a, b, contains, overlap] of cases) {
    await t.test(`${a} ⊇ ${b}`, () => {
      assert.equal(cidrContainsCIDR(parseCIDR(a), parseCIDR(b)), contains);
      assert.equal(cidrsOverlap(parseCIDR(a), parseCIDR(b)), overlap);
      assert.equal(cidrsOverlap(parseCIDR(b), parseCIDR(a)), overlap);
    });
  }
  const ipCases: [string, string, boolean][] = [
    ['10.0.0.0/24', '10.0.0.255', true],
    ['10.0.0.0/24', '10.0.1.0', false],
    ['10.0.0.0/24', '::ffff:10.0.0.1', false],
    ['::ffff:0:0/96', '::ffff:10.0.0.1', true],
    ['0.0.0.0/0', '1.2.3.4', true],
  ];
  for (const [c, ip, want] of ipCases) {
    await t.test(`${c} ∋ ${ip}`, () => assert.equal(cidrContainsIP(parseCIDR(c), parseIP(ip)), want));
  }
});

void test('cidrSubnets splits a pool into blocks', () => {
  const blocks = [...cidrSubnets(parseCIDR('10.0.0.0/24'), 26)].map(formatCIDR);
  assert.deepEqual(blocks, ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26']);
  assert.throws(() => [...cidrSubnets(parseCIDR('10.0.0.0/24'), 23)], (e: unknown) =>
    isTricolorErrorLike(e, 'ERR_VALIDATION'));
});

void test('property: a CIDR contains exactly the addresses from first to last', () => {
  let seed = 7;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 2000; i++) {
    const len = next() % 33;
    const v = BigInt(next()) * 2n + BigInt(next() & 1);
    const c = parseCIDR(`${formatIP({ family: 4, value: v })}/${len}`);
    const probe = { family: 4 as const, value: (BigInt(next()) * 2n + BigInt(next() & 1)) };
    const inRange = probe.value >= cidrFirst(c).value && probe.value <= cidrLast(c).value;
    assert.equal(cidrContainsIP(c, probe), inRange);
    assert.equal(cidrLast(c).value - cidrFirst(c).value + 1n, cidrSize(c));
    assert.deepEqual(parseCIDR(formatCIDR(c)), c);
  }
});
