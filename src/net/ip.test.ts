import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIP,
  ipAdd,
  ipCompare,
  ipFromBigInt,
  parseIP,
  tryParseIP,
  isTricolorErrorLike,
  familyBits,
} from './test-support.ts';
import { seededRandom } from '../base/index.ts';

const rng = seededRandom;

const valid: [string, 4 | 6, bigint, string][] = [
  ['0.0.0.0', 4, 0n, '0.0.0.0'],
  ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
  ['10.0.0.1', 4, 0x0a000001n, '10.0.0.1'],
  ['192.168.1.100', 4, 0xc0a80164n, '192.168.1.100'],
  ['::', 6, 0n, '::'],
  ['::1', 6, 1n, '::1'],
  ['1::', 6, 1n << 112n, '1::'],
  ['2001:DB8::1', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', 6, 0x20010db8000000000001000000000001n, '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:1:1:1:1', 6, 0x20010db8000000010001000100010001n, '2001:db8:0:1:1:1:1:1'],
  ['2001:0:0:1:0:0:0:1', 6, 0x20010000000000010000000000000001n, '2001:0:0:1::1'],
  ['::ffff:1.2.3.4', 6, 0xffff01020304n, '::ffff:1.2.3.4'],
  ['::ffff:0102:0304', 6, 0xffff01020304n, '::ffff:1.2.3.4'],
  ['::1.2.3.4', 6, 0x01020304n, '::102:304'],
  ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n, '1:2:3:4:5:6:7:8'],
  ['1:2:3:4:5:6:7::', 6, 0x00010002000300040005000600070000n, '1:2:3:4:5:6:7:0'],
  ['1:2:3:4:5:6:1.2.3.4', 6, 0x00010002000300040005000601020304n, '1:2:3:4:5:6:102:304'],
  ['fe80::1:0:0:0', 6, 0xfe800000000000000001000000000000n, 'fe80::1:0:0:0'],
  ['1:0:0:2:0:0:0:3', 6, 0x00010000000000020000000000000003n, '1:0:0:2::3'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, (1n << 128n) - 1n, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
];

void test('tryParseIP accepts and formatIP canonicalises', async (t) => {
  for (const [text, family, value, canonical] of valid) {
    await t.test(text, () => {
      const ip = tryParseIP(text);
      assert.deepEqual(ip, { family, value });
      assert.equal(formatIP(parseIP(text)), canonical);
      assert.deepEqual(parseIP(canonical), ip);
    });
  }
});

const invalid = [
  '', ' ', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '256.0.0.1', '1.2.3.-1', '1.2.3.4 ', ' 1.2.3.4',
  '1..2.3', 'a.b.c.d', '1.2.3.4/32', '0x1.2.3.4', '1e1.2.3.4',
  ':', ':::', '1:::2', '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8', '12345::', 'g::1', 'fe80::1%eth0', '::ffff:1.2.3', '::ffff:01.2.3.4',
  '1.2.3.4::', '::1.2.3.4:1', '[::1]', '1:2:3:4:5:6:7:1.2.3.4',
];

void test('tryParseIP rejects', async (t) => {
  for (const text of invalid) {
    await t.test(JSON.stringify(text), () => {
      assert.equal(tryParseIP(text), undefined);
      assert.throws(() => parseIP(text), (e: unknown) =>
        isTricolorErrorLike(e, 'ERR_VALIDATION', `${JSON.stringify(text)} is not a valid IP address`));
    });
  }
});

void test('property: random addresses round-trip through format and parse', () => {
  const r = rng(42);
  for (let i = 0; i < 3000; i++) {
    const family = i % 2 === 0 ? 4 : 6;
    let v = 0n;
    for (let j = 0; j < familyBits(family) / 16; j++) {
      // Bias towards zero groups so "::" compression gets exercised.
      const g = r() < 0.4 ? 0 : Math.floor(r() * 65536);
      v = (v << 16n) | BigInt(g);
    }
    const ip = ipFromBigInt(family, v);
    const text = formatIP(ip);
    assert.deepEqual(parseIP(text), ip, text);
    assert.equal(formatIP(parseIP(text)), text);
    if (family === 6) {
      assert.ok(!/(^|:)0[0-9a-f]/.test(text), `leading zero in ${text}`);
      // The WHATWG URL serialiser implements the same RFC 5952 compression (without the
      // dotted IPv4-mapped form), so it is an independent oracle.
      if (!text.startsWith('::ffff:')) assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
    }
  }
});

void test('ipCompare orders by family then value', () => {
  const sorted = ['0.0.0.0', '9.255.255.255', '10.0.0.0', '255.255.255.255', '::', '::1', '::ffff:0.0.0.1', 'ffff::'];
  const shuffled = [...sorted].reverse().map(parseIP).sort(ipCompare).map(formatIP);
  assert.deepEqual(shuffled, sorted);
});

void test('ipAdd', async (t) => {
  const cases: [string, bigint, string | null][] = [
    ['10.0.0.255', 1n, '10.0.1.0'],
    ['10.0.1.0', -1n, '10.0.0.255'],
    ['255.255.255.255', 1n, null],
    ['0.0.0.0', -1n, null],
    ['::ffff', 1n, '::1:0'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 1n, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 1n, null],
  ];
  for (const [from, n, want] of cases) {
    await t.test(`${from} + ${n}`, () => {
      if (want === null) {
        assert.throws(() => ipAdd(parseIP(from), n), (e: unknown) => isTricolorErrorLike(e, 'ERR_VALIDATION'));
      } else {
        assert.equal(formatIP(ipAdd(parseIP(from), n)), want);
      }
    });
  }
});
