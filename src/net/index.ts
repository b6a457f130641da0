// Public surface of src/net: IP, CIDR and MAC value types and math, and the prefix trie.

export {
  type IPFamily,
  type IPAddr,
  familyBits,
  familyMax,
  tryIPFromBigInt,
  ipFromBigInt,
  tryParseIP,
  parseIP,
  formatIP,
  ipCompare,
  ipEquals,
  ipAdd,
  isIPv4Mapped,
} from './ip.ts';
export {
  type CIDR,
  type ParseCIDROptions,
  prefixMask,
  cidrFromIP,
  tryParseCIDR,
  parseCIDR,
  cidrHasHostBits,
  formatCIDR,
  cidrEquals,
  cidrContainsIP,
  cidrContainsCIDR,
  cidrsOverlap,
  cidrSize,
  cidrFirst,
  cidrLast,
  cidrCompare,
  cidrSubnets,
} from './cidr.ts';
export { type MACAddr, tryParseMAC, parseMAC, formatMAC } from './mac.ts';
export { type PrefixEntry, PrefixTrie } from './prefix-trie.ts';
