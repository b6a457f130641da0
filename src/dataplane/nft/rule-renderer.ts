// Rule IR → nftables rule expressions (node contract §4.8). One IR rule becomes zero or more nft
// rules: one per IP family it can match (our table is `inet`, so a rule with no address match is
// rendered once for both), times one per alternative of an OR that nft cannot express in a single
// match (numeric port ranges OR each named-port set). Every alternative carries the same action,
// and the actions are idempotent (set mark + return, drop, reject), so duplicating is exact;
// only `log` could fire twice when two alternatives match the same packet.

import { TricolorError } from '../../base/index.ts';
import { visitIR } from '../../calc/index.ts';
import type { EntityMatch, ICMPMatch, IRVisitor, PortRange, RuleIR } from '../../calc/index.ts';
import type { NftExpr } from './nft-json.ts';
import { addrElem, anonSet, concat, match, meta, payload, range, setRef } from './nft-json.ts';

export type Family = 4 | 6;

/** Set kinds the rules reference: selector sets (addresses) and named-port sets. */
export type SetKind = 'addr' | 'port';

export interface RuleRenderContext {
  /**
   * nft name of the set holding IP set `id`'s members of `family`, or undefined when that set is
   * known to be empty and is not programmed (an id the calc graph never sent, a family no IP set
   * has members of): a positive match on it never matches (the alternative is dropped), a negated
   * one always matches (the term is dropped).
   */
  setName(id: string, family: Family, kind: SetKind): string | undefined;
  /** Statements + verdict appended to every alternative of a matching rule. */
  readonly action: readonly NftExpr[];
}

/** A disjunction of conjunctions of nft match expressions. */
type DNF = NftExpr[][];

const PORT_PROTOS: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** Which families a rule must be rendered for; `null` = one family-neutral rule. */
export function ruleFamilies(rule: RuleIR): (Family | null)[] {
  if (rule.unsupported) return [];
  const sides = [rule.source, rule.destination];
  const addressy = sides.some(
    (s) =>
      s.nets.length + s.notNets.length + s.ipSetIds.length + s.notIpSetIds.length + s.namedPortIpSetIds.length + s.notNamedPortIpSetIds.length > 0,
  );
  const icmpish = rule.icmp !== undefined || rule.notICMP !== undefined || rule.protocol === 1 || rule.protocol === 58;
  if (rule.ipVersion === undefined && !addressy && !icmpish) return [null];
  let fams: Family[] = rule.ipVersion === undefined ? [4, 6] : [rule.ipVersion];
  if (rule.protocol === 1) fams = fams.filter((f) => f === 4);
  if (rule.protocol === 58) fams = fams.filter((f) => f === 6);
  // A positive CIDR list with no entry of a family can never match that family.
  return fams.filter((f) => sides.every((s) => s.nets.length === 0 || s.nets.some((n) => familyOf(n) === f)));
}

export function familyOf(cidr: string): Family {
  return cidr.includes(':') ? 6 : 4;
}

/**
 * Drop CIDRs covered by another in the list (nft refuses overlapping intervals). O(n log n), as
 * network sets hold tens of thousands of CIDRs: ordered by family, network bits, then length, a
 * prefix's covers come before it, and since prefixes either nest or are disjoint, the last one
 * kept is the only one that can cover the next.
 */
export function mergeCIDRs(cidrs: readonly string[]): string[] {
  const parsed = [...new Set(cidrs)].map((c) => {
    const [a = '', l] = c.split('/');
    const fam = familyOf(a);
    const len = l === undefined ? (fam === 4 ? 32 : 128) : Number(l);
    const bits = addrBits(a, fam);
    return { text: c, fam, len, net: bits.slice(0, len).padEnd(bits.length, '0') };
  });
  parsed.sort((x, y) => x.fam - y.fam || (x.net < y.net ? -1 : x.net > y.net ? 1 : 0) || x.len - y.len);
  const kept: typeof parsed = [];
  for (const p of parsed) {
    const k = kept[kept.length - 1];
    const covered = k !== undefined && k.fam === p.fam && k.len <= p.len && k.net.slice(0, k.len) === p.net.slice(0, k.len);
    if (!covered) kept.push(p);
  }
  return kept.map((k) => k.text).sort();
}

function addrBits(a: string, fam: Family): string {
  if (fam === 4) return a.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  const [head = '', tail] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}

/** Sort and merge port ranges so an anonymous set has no overlaps. */
function mergedPorts(ports: readonly PortRange[]): [number, number][] {
  const rs = ports.map((p) => visitIR(p, PORT_BOUNDS)).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of rs) {
    const last = merged[merged.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/**
 * Above this many alternatives one OR is rendered as a single anonymous interval set instead.
 * Below it we avoid interval sets on purpose: nft (1.0.6) dumps the elements of EVERY interval
 * set in the table, anonymous ones included, before each transaction that adds set elements —
 * with a few thousand of them a one-element change took 550 ms instead of 10 ms.
 */
export const MAX_SPLIT_ALTERNATIVES = 8;

/**
 * Positive values of a port or address list as alternatives: all single values in one match (a
 * value or a plain hash set), each range / prefix its own match (no interval set).
 */
function splitAlternatives(left: NftExpr, singles: readonly NftExpr[], ranges: readonly NftExpr[]): NftExpr[][] {
  if (ranges.length + (singles.length > 0 ? 1 : 0) > MAX_SPLIT_ALTERNATIVES) return [[match('==', left, anonSet([...singles, ...ranges]))]];
  const alts: NftExpr[][] = ranges.map((r) => [match('==', left, r)]);
  if (singles.length > 0) alts.unshift([match('==', left, oneOrSet(singles))]);
  return alts;
}

/** Negated values as a conjunction (`!= {singles}`, `!= range` each): never an interval set. */
function negatedTerms(left: NftExpr, singles: readonly NftExpr[], ranges: readonly NftExpr[]): NftExpr[] {
  const out: NftExpr[] = [];
  if (singles.length > 0) out.push(match('!=', left, oneOrSet(singles)));
  for (const r of ranges) out.push(match('!=', left, r));
  return out;
}

function portParts(ports: readonly PortRange[]): { singles: NftExpr[]; ranges: NftExpr[] } {
  const singles: NftExpr[] = [];
  const ranges: NftExpr[] = [];
  for (const [lo, hi] of mergedPorts(ports)) {
    if (lo === hi) singles.push(lo);
    else ranges.push(range(lo, hi));
  }
  return { singles, ranges };
}

function netParts(cidrs: readonly string[]): { singles: NftExpr[]; ranges: NftExpr[] } {
  const singles: NftExpr[] = [];
  const ranges: NftExpr[] = [];
  for (const c of mergeCIDRs(cidrs)) {
    const e = addrElem(c);
    if (typeof e === 'string') singles.push(e);
    else ranges.push(e);
  }
  return { singles, ranges };
}

function oneOrSet(elems: readonly NftExpr[]): NftExpr {
  return elems.length === 1 ? (elems[0] as NftExpr) : anonSet(elems);
}

// The IR's leaf nodes each have one meaning in nft; the visitors make a new IR node kind a compile error here.
const UNUSED = (kind: string) => (): never => {
  throw new TricolorError('ERR_INTERNAL', `rule renderer: ${kind} is not rendered in this position`);
};

const PORT_BOUNDS: IRVisitor<[number, number]> = {
  PortRange: (p) => [p.min, p.max],
  ICMPMatch: UNUSED('ICMPMatch'),
  EntityMatch: UNUSED('EntityMatch'),
  Rule: UNUSED('Rule'),
  RuleSet: UNUSED('RuleSet'),
};

function and(a: DNF, b: DNF): DNF {
  const out: DNF = [];
  for (const x of a) for (const y of b) out.push([...x, ...y]);
  return out;
}

/** Render the match part of `rule` for one family (or family-neutral) as a DNF. */
function ruleDNF(rule: RuleIR, fam: Family | null, ctx: RuleRenderContext): DNF {
  const ipProto = fam === 6 ? 'ip6' : 'ip';
  const portProto = rule.protocol === undefined ? undefined : PORT_PROTOS[rule.protocol];

  const icmpMatch = (m: ICMPMatch, negate: boolean): NftExpr[] => {
    const p = fam === 6 ? 'icmpv6' : 'icmp';
    if (m.code === undefined) return [match(negate ? '!=' : '==', payload(p, 'type'), m.type)];
    if (!negate) return [match('==', payload(p, 'type'), m.type), match('==', payload(p, 'code'), m.code)];
    return [match('!=', concat([payload(p, 'type'), payload(p, 'code')]), anonSet([concat([m.type, m.code])]))];
  };

  const side = (dir: 'saddr' | 'daddr'): IRVisitor<DNF> => {
    const portField = dir === 'saddr' ? 'sport' : 'dport';
    const addr = payload(ipProto, dir);
    const portExpr = payload(portProto ?? 'th', portField);
    const namedKey = concat([addr, meta('l4proto'), payload('th', portField)]);
    return {
      EntityMatch: (e: EntityMatch): DNF => {
        if (fam === null && e.nets.length + e.notNets.length + e.ipSetIds.length + e.notIpSetIds.length > 0) {
          throw new TricolorError('ERR_INTERNAL', 'rule renderer: address match rendered without a family');
        }
        const base: NftExpr[] = [];
        const famNets = (l: readonly string[]) => netParts(l.filter((n) => fam !== null && familyOf(n) === fam));
        // Positive CIDRs of this family: ruleFamilies() already skipped a family with none.
        let netAlts: DNF = [[]];
        if (e.nets.length > 0) {
          const n = famNets(e.nets);
          netAlts = splitAlternatives(addr, n.singles, n.ranges);
        }
        const notNets = famNets(e.notNets);
        base.push(...negatedTerms(addr, notNets.singles, notNets.ranges));
        if (fam !== null) {
          for (const id of e.ipSetIds) {
            const name = ctx.setName(id, fam, 'addr');
            if (name === undefined) return []; // an empty set: nothing matches
            base.push(match('==', addr, setRef(name)));
          }
          for (const id of e.notIpSetIds) {
            const name = ctx.setName(id, fam, 'addr');
            if (name !== undefined) base.push(match('!=', addr, setRef(name)));
          }
        }
        if (e.notPorts.length > 0) {
          const p = portParts(e.notPorts);
          base.push(...negatedTerms(portExpr, p.singles, p.ranges));
        }
        if (fam !== null) {
          for (const id of e.notNamedPortIpSetIds) {
            const name = ctx.setName(id, fam, 'port');
            if (name !== undefined) base.push(match('!=', namedKey, setRef(name)));
          }
        }
        let portAlts: DNF = [[]];
        if (e.ports.length > 0 || e.namedPortIpSetIds.length > 0) {
          portAlts = [];
          if (e.ports.length > 0) {
            const guard = portProto === undefined ? [match('==', meta('l4proto'), anonSet([6, 17, 132]))] : [];
            const p = portParts(e.ports);
            for (const alt of splitAlternatives(portExpr, p.singles, p.ranges)) portAlts.push([...guard, ...alt]);
          }
          if (fam !== null) {
            for (const id of e.namedPortIpSetIds) {
              const name = ctx.setName(id, fam, 'port');
              if (name !== undefined) portAlts.push([match('==', namedKey, setRef(name))]);
            }
          }
        }
        return and(and(netAlts, [base]), portAlts);
      },
      PortRange: UNUSED('PortRange'),
      ICMPMatch: UNUSED('ICMPMatch'),
      Rule: UNUSED('Rule'),
      RuleSet: UNUSED('RuleSet'),
    };
  };

  const top: NftExpr[] = [];
  if (fam !== null) top.push(match('==', meta('nfproto'), fam === 4 ? 'ipv4' : 'ipv6'));
  if (rule.protocol !== undefined) top.push(match('==', meta('l4proto'), rule.protocol));
  if (rule.notProtocol !== undefined) top.push(match('!=', meta('l4proto'), rule.notProtocol));
  if (rule.icmp !== undefined) top.push(...icmpMatch(rule.icmp, false));
  if (rule.notICMP !== undefined) top.push(...icmpMatch(rule.notICMP, true));
  return and(and([top], visitIR(rule.source, side('saddr'))), visitIR(rule.destination, side('daddr')));
}

/** All nft rules (expression lists, action included) for one IR rule. */
export function renderRule(rule: RuleIR, ctx: RuleRenderContext): NftExpr[][] {
  const out: NftExpr[][] = [];
  for (const fam of ruleFamilies(rule)) {
    for (const conj of ruleDNF(rule, fam, ctx)) out.push([...conj, ...ctx.action]);
  }
  return out;
}
