import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PrefixTrie,
  cidrContainsCIDR,
  cidrContainsIP,
  cidrCompare,
  formatCIDR,
  parseCIDR,
  parseIP,
  type CIDR,
  type IPAddr,
} from './test-support.ts';

function trieOf(...cidrs: string[]): PrefixTrie<string> {
  const t = new PrefixTrie<string>();
  for (const c of cidrs) t.insert(parseCIDR(c), c);
  return t;
}

void test('longest-prefix match', async (t) => {
  const trie = trieOf('0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '::/0', 'fd00::/8', 'fd00:1::/32');
  const cases: [string, string | undefined][] = [
    ['10.1.2.3', '10.1.2.3/32'],
    ['10.1.2.4', '10.1.2.0/24'],
    ['10.1.3.1', '10.1.0.0/16'],
    ['10.2.0.0', '10.0.0.0/8'],
    ['11.0.0.0', '0.0.0.0/0'],
    ['fd00:1::1', 'fd00:1::/32'],
    ['fd00:2::1', 'fd00::/8'],
    ['2001:db8::1', '::/0'],
  ];
  for (const [ip, want] of cases) {
    await t.test(ip, () => assert.equal(trie.lookup(parseIP(ip))?.value, want));
  }
  assert.deepEqual(trie.covering(parseIP('10.1.2.3')).map((e) => e.value),
    ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32']);
  assert.deepEqual(trie.within(parseCIDR('10.1.0.0/16')).map((e) => e.value), ['10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32']);
  assert.equal(trie.lookupCIDR(parseCIDR('10.1.2.0/25'))?.value, '10.1.2.0/24');
});

void test('exact get, replace, delete and empty tries', () => {
  const trie = trieOf('10.0.0.0/8', '10.0.0.0/16', '10.128.0.0/9');
  assert.equal(trie.size, 3);
  assert.equal(trie.getExact(parseCIDR('10.0.0.0/16')), '10.0.0.0/16');
  assert.equal(trie.getExact(parseCIDR('10.0.0.0/12')), undefined);
  assert.equal(trie.getExact(parseCIDR('10.0.0.0/9')), undefined); // branch point only
  trie.insert(parseCIDR('10.0.0.0/16'), 'replaced');
  assert.equal(trie.size, 3);
  assert.equal(trie.getExact(parseCIDR('10.0.0.0/16')), 'replaced');
  assert.equal(trie.delete(parseCIDR('10.0.0.0/8')), true);
  assert.equal(trie.delete(parseCIDR('10.0.0.0/8')), false);
  assert.equal(trie.lookup(parseIP('10.64.0.0')), undefined);
  assert.equal(trie.lookup(parseIP('10.0.1.1'))?.value, 'replaced');
  assert.equal(trie.size, 2);
  trie.clear();
  assert.equal(trie.size, 0);
  assert.equal(trie.lookup(parseIP('10.0.1.1')), undefined);
  assert.deepEqual(trie.entries(), []);
});

// Brute-force model: a list of entries scanned linearly.
function naiveLookup(entries: Map<string, CIDR>, ip: IPAddr): string | undefined {
  let best: CIDR | undefined;
  for (const c of entries.values()) {
    if (cidrContainsIP(c, ip) && (best === undefined || c.prefixLength > best.prefixLength)) best = c;
  }
  return best === undefined ? undefined : formatCIDR(best);
}

void test('property: random inserts and deletes agree with a linear scan', () => {
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  // A small address space (10.0.0.0/20 plus a v6 twin) so prefixes collide often.
  const randomCIDR = (): CIDR => {
    if (next(4) === 0) {
      const len = 100 + next(29);
      return parseCIDR(`fd00::${next(4096).toString(16)}/${len}`);
    }
    return parseCIDR(`10.0.${next(16)}.${next(256)}/${20 + next(13)}`);
  };
  const trie = new PrefixTrie<string>();
  const model = new Map<string, CIDR>();
  for (let step = 0; step < 4000; step++) {
    const c = randomCIDR();
    const key = formatCIDR(c);
    if (next(3) === 0) {
      assert.equal(trie.delete(c), model.delete(key));
    } else {
      trie.insert(c, key);
      model.set(key, c);
    }
    assert.equal(trie.size, model.size);
    if (step % 20 === 0) {
      const probe = next(4) === 0 ? parseIP(`fd00::${next(4096).toString(16)}`) : parseIP(`10.0.${next(16)}.${next(256)}`);
      assert.equal(trie.lookup(probe)?.value, naiveLookup(model, probe));
      const wantWithin = [...model.values()].filter((m) => cidrContainsCIDR(c, m)).sort(cidrCompare).map(formatCIDR);
      assert.deepEqual(trie.within(c).map((e) => e.value), wantWithin);
      const wantCover = [...model.values()].filter((m) => cidrContainsCIDR(m, c)).sort(cidrCompare).map(formatCIDR);
      assert.deepEqual(trie.covering(c).map((e) => e.value), wantCover);
    }
  }
  const all = [...model.values()].sort(cidrCompare).map(formatCIDR);
  assert.deepEqual(trie.entries().map((e) => formatCIDR(e.cidr)), all);
});
