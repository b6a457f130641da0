// A path-compressed binary trie keyed by CIDR, one tree per family: longest-prefix match for an
// address, exact lookups, and the blocks covering or inside a block. The policy engine uses it
// to map addresses to network sets and IPAM to find the pool or block owning an address.

import { type CIDR, cidrContainsCIDR, prefixMask } from './cidr.ts';
import { type IPAddr, type IPFamily, familyBits } from './ip.ts';

interface TrieNode<V> {
  network: bigint;
  prefixLength: number;
  /** Only nodes that hold an entry carry a value; the others are branch points. */
  hasValue: boolean;
  value: V | undefined;
  zero: TrieNode<V> | undefined;
  one: TrieNode<V> | undefined;
}

export interface PrefixEntry<V> {
  readonly cidr: CIDR;
  readonly value: V;
}

function bitAt(value: bigint, index: number, bits: number): 0 | 1 {
  return ((value >> BigInt(bits - 1 - index)) & 1n) === 1n ? 1 : 0;
}

/** Length of the common leading bits of a and b, capped at `limit`. */
function commonPrefix(a: bigint, b: bigint, limit: number, bits: number): number {
  const x = a ^ b;
  if (x === 0n) return limit;
  const lead = bits - x.toString(2).length;
  return lead < limit ? lead : limit;
}

function nodeCIDR(family: IPFamily, n: TrieNode<unknown>): CIDR {
  return Object.freeze({ family, network: n.network, prefixLength: n.prefixLength });
}

function newNode<V>(network: bigint, prefixLength: number): TrieNode<V> {
  return { network, prefixLength, hasValue: false, value: undefined, zero: undefined, one: undefined };
}

export class PrefixTrie<V> {
  #v4: TrieNode<V> | undefined = undefined;
  #v6: TrieNode<V> | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #root(f: IPFamily): TrieNode<V> | undefined {
    return f === 4 ? this.#v4 : this.#v6;
  }

  #setRoot(f: IPFamily, n: TrieNode<V> | undefined): void {
    if (f === 4) this.#v4 = n;
    else this.#v6 = n;
  }

  /** Insert or replace the value stored for exactly this block. */
  insert(cidr: CIDR, value: V): void {
    const bits = familyBits(cidr.family);
    const key = cidr.network & prefixMask(cidr.family, cidr.prefixLength);
    const len = cidr.prefixLength;
    const put = (n: TrieNode<V> | undefined): TrieNode<V> => {
      if (n === undefined) {
        const leaf = newNode<V>(key, len);
        leaf.hasValue = true;
        leaf.value = value;
        this.#size++;
        return leaf;
      }
      const common = commonPrefix(n.network, key, Math.min(n.prefixLength, len), bits);
      if (common === n.prefixLength && common === len) {
        if (!n.hasValue) this.#size++;
        n.hasValue = true;
        n.value = value;
        return n;
      }
      if (common === n.prefixLength) {
        if (bitAt(key, n.prefixLength, bits) === 0) n.zero = put(n.zero);
        else n.one = put(n.one);
        return n;
      }
      // The new key either sits above n or branches off beside it.
      const top = newNode<V>(key & prefixMask(cidr.family, common), common);
      if (bitAt(n.network, common, bits) === 0) top.zero = n;
      else top.one = n;
      if (common === len) {
        top.hasValue = true;
        top.value = value;
        this.#size++;
      } else if (bitAt(key, common, bits) === 0) {
        top.zero = put(undefined);
      } else {
        top.one = put(undefined);
      }
      return top;
    };
    this.#setRoot(cidr.family, put(this.#root(cidr.family)));
  }

  /** Remove the entry for exactly this block; returns whether there was one. */
  delete(cidr: CIDR): boolean {
    const bits = familyBits(cidr.family);
    const key = cidr.network & prefixMask(cidr.family, cidr.prefixLength);
    let removed = false;
    const del = (n: TrieNode<V> | undefined): TrieNode<V> | undefined => {
      if (n === undefined || n.prefixLength > cidr.prefixLength) return n;
      if (commonPrefix(n.network, key, n.prefixLength, bits) !== n.prefixLength) return n;
      if (n.prefixLength === cidr.prefixLength) {
        if (!n.hasValue) return n;
        removed = true;
        n.hasValue = false;
        n.value = undefined;
      } else if (bitAt(key, n.prefixLength, bits) === 0) {
        n.zero = del(n.zero);
      } else {
        n.one = del(n.one);
      }
      // Branch points with fewer than two children are no longer needed.
      if (n.hasValue) return n;
      if (n.zero === undefined) return n.one;
      if (n.one === undefined) return n.zero;
      return n;
    };
    this.#setRoot(cidr.family, del(this.#root(cidr.family)));
    if (removed) this.#size--;
    return removed;
  }

  #find(cidr: CIDR): TrieNode<V> | undefined {
    const bits = familyBits(cidr.family);
    const key = cidr.network & prefixMask(cidr.family, cidr.prefixLength);
    let n = this.#root(cidr.family);
    while (n !== undefined && n.prefixLength <= cidr.prefixLength) {
      if (commonPrefix(n.network, key, n.prefixLength, bits) !== n.prefixLength) return undefined;
      if (n.prefixLength === cidr.prefixLength) return n.hasValue ? n : undefined;
      n = bitAt(key, n.prefixLength, bits) === 0 ? n.zero : n.one;
    }
    return undefined;
  }

  /** The value stored for exactly this block. */
  getExact(cidr: CIDR): V | undefined {
    return this.#find(cidr)?.value;
  }

  has(cidr: CIDR): boolean {
    return this.#find(cidr) !== undefined;
  }

  /** Every entry containing the block (or address, as a full-length block), shortest first. */
  covering(target: CIDR | IPAddr): PrefixEntry<V>[] {
    const family = target.family;
    const bits = familyBits(family);
    const key = 'network' in target ? target.network : target.value;
    const len = 'network' in target ? target.prefixLength : bits;
    const out: PrefixEntry<V>[] = [];
    let n = this.#root(family);
    while (n !== undefined && n.prefixLength <= len) {
      if (commonPrefix(n.network, key, n.prefixLength, bits) !== n.prefixLength) break;
      if (n.hasValue) out.push({ cidr: nodeCIDR(family, n), value: n.value as V });
      if (n.prefixLength === bits) break;
      n = bitAt(key, n.prefixLength, bits) === 0 ? n.zero : n.one;
    }
    return out;
  }

  /** Longest-prefix match: the most specific entry containing the address. */
  lookup(ip: IPAddr): PrefixEntry<V> | undefined {
    return this.lookupCIDR(ip);
  }

  /** The most specific entry containing the whole block (or address). */
  lookupCIDR(target: CIDR | IPAddr): PrefixEntry<V> | undefined {
    const family = target.family;
    const bits = familyBits(family);
    const key = 'network' in target ? target.network : target.value;
    const len = 'network' in target ? target.prefixLength : bits;
    let best: TrieNode<V> | undefined;
    let n = this.#root(family);
    while (n !== undefined && n.prefixLength <= len) {
      if (commonPrefix(n.network, key, n.prefixLength, bits) !== n.prefixLength) break;
      if (n.hasValue) best = n;
      if (n.prefixLength === bits) break;
      n = bitAt(key, n.prefixLength, bits) === 0 ? n.zero : n.one;
    }
    return best === undefined ? undefined : { cidr: nodeCIDR(family, best), value: best.value as V };
  }

  /** Every entry inside the block (including the block itself), in address order. */
  within(cidr: CIDR): PrefixEntry<V>[] {
    const bits = familyBits(cidr.family);
    const key = cidr.network & prefixMask(cidr.family, cidr.prefixLength);
    let n = this.#root(cidr.family);
    // Descend to the first node at or below the block's prefix length on its path.
    while (n !== undefined && n.prefixLength < cidr.prefixLength) {
      if (commonPrefix(n.network, key, n.prefixLength, bits) !== n.prefixLength) return [];
      n = bitAt(key, n.prefixLength, bits) === 0 ? n.zero : n.one;
    }
    if (n === undefined || !cidrContainsCIDR(cidr, nodeCIDR(cidr.family, n))) return [];
    const out: PrefixEntry<V>[] = [];
    collect(cidr.family, n, out);
    return out;
  }

  /** All entries: IPv4 first, then IPv6, each in address order (shorter prefix first on ties). */
  entries(): PrefixEntry<V>[] {
    const out: PrefixEntry<V>[] = [];
    if (this.#v4 !== undefined) collect(4, this.#v4, out);
    if (this.#v6 !== undefined) collect(6, this.#v6, out);
    return out;
  }

  clear(): void {
    this.#v4 = undefined;
    this.#v6 = undefined;
    this.#size = 0;
  }
}

function collect<V>(family: IPFamily, root: TrieNode<V>, out: PrefixEntry<V>[]): void {
  // Explicit stack: a /128 path can be deep enough to matter for recursion in a hot loop.
  const stack: TrieNode<V>[] = [root];
  while (stack.length > 0) {
    const n = stack.pop() as TrieNode<V>;
    if (n.hasValue) out.push({ cidr: nodeCIDR(family, n), value: n.value as V });
    if (n.one !== undefined) stack.push(n.one);
    if (n.zero !== undefined) stack.push(n.zero);
  }
}
