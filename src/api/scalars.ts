// Scalar value types of the Calico API (contract §1.3–§1.5): resource names, label and
// annotation keys and values, CIDRs and addresses, ports, protocols, ICMP, AS numbers,
// durations, interface names and selectors. Each is a Schema that normalises as Calico
// serialises (numeric ports and protocols become JSON numbers, AS numbers become numbers).

import { parseSelector } from '../selector/index.ts';
import { cidrHasHostBits, formatCIDR, tryParseCIDR, tryParseIP, tryParseMAC } from '../net/index.ts';
import type { CIDR, IPAddr } from '../net/index.ts';
import { isTricolorError } from '../base/index.ts';
import { type Ctx, type Schema, fail, failField, keepEmpty, mapOf, str } from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Names

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDNSLabel(s: string, maxLen = 63): boolean {
  return s.length <= maxLen && LABEL_RE.test(s);
}

export function isDNSSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => LABEL_RE.test(l));
}

export const SUBDOMAIN_PROBLEM =
  "is not a valid name: name must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

export function subdomainProblem(s: string): string | undefined {
  if (s.length > 253) return `is too long by ${s.length - 253} bytes (at most 253)`;
  return isDNSSubdomain(s) ? undefined : SUBDOMAIN_PROBLEM;
}

export function labelNameProblem(s: string, maxLen = 63): string | undefined {
  if (s.length > maxLen) return `is too long by ${s.length - maxLen} bytes (at most ${maxLen})`;
  return LABEL_RE.test(s)
    ? undefined
    : "is not a valid name: name must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
}

export const subdomain: Schema<string> = str(subdomainProblem);

// ---------------------------------------------------------------------------------------------
// Labels and annotations (§1.4)

const QNAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'is not a valid label key: at most one "/" is allowed';
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') return 'is not a valid label key: the prefix before "/" must not be empty';
    if (!isDNSSubdomain(prefix)) return 'is not a valid label key: the prefix must be a lower-case DNS subdomain';
  }
  if (name === '') return 'is not a valid label key: the name part must not be empty';
  if (name.length > 63) return 'is not a valid label key: the name part must be at most 63 characters';
  if (!QNAME_RE.test(name)) {
    return "is not a valid label key: the name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function labelValueProblem(v: string): string | undefined {
  if (v.length > 63) return 'is not a valid label value: must be at most 63 characters';
  if (v !== '' && !QNAME_RE.test(v)) {
    return "is not a valid label value: must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export const labelMap: Schema<Record<string, string>> = mapOf(str(qualifiedNameProblem), str(labelValueProblem));

const MAX_ANNOTATIONS_BYTES = 262144;

export const annotationMap: Schema<Record<string, string>> = (v, path, ctx) => {
  const m = mapOf(
    str((k) => qualifiedNameProblem(k.toLowerCase())?.replace('label key', 'annotation key')),
    str(),
  )(v, path, ctx);
  if (m === undefined) return undefined;
  let total = 0;
  for (const [k, x] of Object.entries(m)) total += Buffer.byteLength(k) + Buffer.byteLength(x);
  if (total > MAX_ANNOTATIONS_BYTES) {
    return failField(ctx, path, `total size of annotations is too large by ${total - MAX_ANNOTATIONS_BYTES} bytes`);
  }
  return m;
};

// ---------------------------------------------------------------------------------------------
// Addresses

/** `net`: CIDR or bare IP, host bits must be zero (§1.5). Kept as written. */
export function netSchema(family?: 4 | 6): Schema<string> {
  return (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid CIDR');
    const c = tryParseCIDR(v, { allowBareIP: true });
    if (c === undefined) return fail(ctx, path, v, 'is not a valid CIDR');
    if (family !== undefined && c.family !== family) return fail(ctx, path, v, `is not an IPv${family} CIDR`);
    if (cidrHasHostBits(v)) {
      return fail(ctx, path, v, `is not a valid network: host bits are set (did you mean "${formatCIDR(c)}"?)`);
    }
    return v;
  };
}

/** `cidr`: CIDR or bare IP, host bits allowed (§1.5). */
export function cidrSchema(family?: 4 | 6): Schema<string> {
  return (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid CIDR');
    const c = tryParseCIDR(v, { allowBareIP: true });
    if (c === undefined) return fail(ctx, path, v, 'is not a valid CIDR');
    if (family !== undefined && c.family !== family) return fail(ctx, path, v, `is not an IPv${family} CIDR`);
    return v;
  };
}

/** An address with a prefix length, host bits allowed (Node spec.bgp.ipv4Address). */
export function ipWithPrefixSchema(family: 4 | 6): Schema<string> {
  return (v, path, ctx) => {
    if (typeof v !== 'string' || !v.includes('/')) return fail(ctx, path, v, `is not a valid IPv${family} address with prefix length`);
    const c = tryParseCIDR(v);
    if (c === undefined || c.family !== family) return fail(ctx, path, v, `is not a valid IPv${family} address with prefix length`);
    return v;
  };
}

export function ipSchema(family?: 4 | 6): Schema<string> {
  return (v, path, ctx) => {
    const ip = typeof v === 'string' ? tryParseIP(v) : undefined;
    if (ip === undefined || typeof v !== 'string') return fail(ctx, path, v, `is not a valid ${family === undefined ? 'IP' : `IPv${family}`} address`);
    if (family !== undefined && ip.family !== family) return fail(ctx, path, v, `is not a valid IPv${family} address`);
    return v;
  };
}

export function parseCIDRLoose(text: string): CIDR | undefined {
  return tryParseCIDR(text, { allowBareIP: true });
}

export function parseIPLoose(text: string): IPAddr | undefined {
  return tryParseIP(text);
}

/** Forms Go's net.ParseMAC accepts (src/net's tryParseMAC). */
export const macSchema: Schema<string> = str((s) => (tryParseMAC(s) === undefined ? 'is not a valid MAC address' : undefined));

const IFACE_RE = /^[a-zA-Z0-9_.-]{1,15}$/;
export const interfaceSchema: Schema<string> = str((s) =>
  s === '*' || IFACE_RE.test(s) ? undefined : 'is not a valid interface name (1-15 of [a-zA-Z0-9_.-], or "*")',
);

// ---------------------------------------------------------------------------------------------
// Protocols (§1.5)

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

export const protocolSchema: Schema<string | number> = (v, path, ctx) => {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 255) return fail(ctx, path, v, 'is not a valid protocol: protocol number invalid (must be 1-255)');
    return v;
  }
  if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid protocol');
  if (/^[0-9]+$/.test(v) && Number(v) <= 255) {
    const n = Number(v);
    if (n < 1) return fail(ctx, path, v, 'is not a valid protocol: protocol number invalid (must be 1-255)');
    return n;
  }
  if ((PROTOCOL_NAMES as readonly string[]).includes(v)) return v;
  return fail(ctx, path, v, `is not a valid protocol: protocol name invalid (must be one of ${PROTOCOL_NAMES.join(', ')} or 1-255)`);
};

export function protocolSupportsPorts(p: string | number): boolean {
  if (typeof p === 'number') return p === 6 || p === 17 || p === 132;
  return ['TCP', 'UDP', 'SCTP', 'tcp', 'udp', 'sctp'].includes(p);
}

export function isICMPProtocol(p: string | number | undefined): 4 | 6 | undefined {
  if (p === 'ICMP' || p === 1) return 4;
  if (p === 'ICMPv6' || p === 58) return 6;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Ports (§1.5)

const IANA_NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function ianaServiceNameProblem(s: string): string | undefined {
  if (s.length > 15) return 'is not a valid port name: must be no more than 15 characters';
  if (!IANA_NAME_RE.test(s)) return "is not a valid port name: must contain only lower-case letters, digits and '-', starting and ending with a letter or digit";
  if (s.includes('--')) return 'is not a valid port name: must not contain consecutive hyphens';
  if (!/[a-z]/.test(s)) return 'is not a valid port name: must contain at least one letter';
  return undefined;
}

const PORT_RANGE_PROBLEM = 'is not a valid port: port range invalid, port number must be between 1 and 65535';

/** Port, port range or named port; numbers in, numbers out; ranges kept as `"min:max"`. */
export const portSchema: Schema<number | string> = (v, path, ctx) => {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v > 65535 || v < 0) return fail(ctx, path, v, 'is not a valid port: invalid port format');
    if (v === 0) return fail(ctx, path, v, PORT_RANGE_PROBLEM);
    return v;
  }
  if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid port');
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    if (n > 65535) return fail(ctx, path, v, 'is not a valid port: invalid port format');
    if (n === 0) return fail(ctx, path, v, PORT_RANGE_PROBLEM);
    return n;
  }
  const m = /^([0-9]+):([0-9]+)$/.exec(v);
  if (m !== null) {
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (lo > 65535 || hi > 65535) return fail(ctx, path, v, 'is not a valid port: invalid port format');
    if (lo === 0 || hi === 0) return fail(ctx, path, v, PORT_RANGE_PROBLEM);
    if (lo > hi) {
      return fail(ctx, path, v, `is not a valid port: minimum port number (${lo}) is greater than maximum port number (${hi}) in port range`);
    }
    return `${lo}:${hi}`;
  }
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(v)) return fail(ctx, path, v, 'is not a valid port: invalid port format');
  const problem = ianaServiceNameProblem(v);
  return problem === undefined ? v : fail(ctx, path, v, problem);
};

/** Numeric port or range only (kubeNodePortRanges, natPortRange). */
export const numericPortSchema: Schema<number | string> = (v, path, ctx) => {
  const r = portSchema(v, path, ctx);
  if (r === undefined) return undefined;
  if (isNamedPort(r)) return fail(ctx, path, v, 'is not a valid port: must be a number or a range');
  return r;
};

export function isNamedPort(p: number | string): boolean {
  return typeof p === 'string' && !/^[0-9]+(:[0-9]+)?$/.test(p);
}

export const portNumberSchema: Schema<number> = (v, path, ctx) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    return fail(ctx, path, v, 'is not a valid port number: must be between 1 and 65535');
  }
  return v;
};

// ---------------------------------------------------------------------------------------------
// AS numbers, durations, communities

export const asNumberSchema: Schema<number> = (v, path, ctx) => {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return fail(ctx, path, v, 'is not a valid AS number');
    return v;
  }
  if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid AS number');
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    return n <= 0xffffffff ? n : fail(ctx, path, v, 'is not a valid AS number');
  }
  const m = /^([0-9]+)\.([0-9]+)$/.exec(v);
  if (m !== null) {
    const hi = Number(m[1]);
    const lo = Number(m[2]);
    if (hi <= 0xffff && lo <= 0xffff) return hi * 65536 + lo;
  }
  return fail(ctx, path, v, 'is not a valid AS number (decimal, or asdot "<high>.<low>" with 16-bit halves)');
};

const DURATION_RE = /^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$/;

/** A Go duration; negative ones are refused, as Calico's CRD pattern for every duration field does. */
export const durationSchema: Schema<string> = keepEmpty(str((s) => {
  if (s.startsWith('-')) return 'is not allowed: a duration must not be negative';
  return s === '0' || DURATION_RE.test(s) ? undefined : 'is not a valid duration (e.g. "90s", "5m", "1h30m")';
}));

export function communityValueProblem(s: string): string | undefined {
  const parts = s.split(':');
  if (parts.every((p) => /^[0-9]+$/.test(p))) {
    const n = parts.map(Number);
    if (n.length === 2 && n.every((x) => x <= 0xffff)) return undefined;
    if (n.length === 3 && n.every((x) => x <= 0xffffffff)) return undefined;
  }
  return 'is not a valid BGP community (expected "aa:nn" with 16-bit parts or "aa:nn:mm" with 32-bit parts)';
}

// ---------------------------------------------------------------------------------------------
// Selectors (§5.4)

export interface SelectorOpts {
  /** Refuse `global(` anywhere (plain substring check, as Calico's CEL rule). */
  readonly noGlobal?: boolean;
  /** A namespaceSelector in a rule: `global()` is allowed, but only on its own. */
  readonly globalAlone?: boolean;
}

export function selectorSchema(opts: SelectorOpts = {}): Schema<string> {
  return (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid selector: expected a string');
    if (v.length > 1024) return fail(ctx, path, v, 'is not a valid selector: longer than 1024 characters');
    if (opts.noGlobal === true && v.includes('global(')) {
      return fail(ctx, path, v, 'is not allowed: global() can only be used in an EntityRule namespaceSelector');
    }
    if (opts.globalAlone === true && v.includes('global(') && v.trim() !== 'global()') {
      return fail(ctx, path, v, 'is not allowed: global() cannot be combined with other selectors');
    }
    return checkSelector(v, path, ctx);
  };
}

function checkSelector(v: string, path: string, ctx: Ctx): string | undefined {
  try {
    parseSelector(v);
    return v;
  } catch (e) {
    if (isTricolorError(e)) return fail(ctx, path, v, `is not a valid selector: ${e.message}`);
    throw e;
  }
}
