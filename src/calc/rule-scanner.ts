// Rule scanner: turns normalised rules into IR, replacing every selector, notSelector and named
// port by an IP set id and collecting the IP sets a policy or profile needs. Selector sets are
// keyed by the selector's unique id (identical selectors share a set); named-port sets by
// `n:` + hash of "<selector id>,<protocol>,<port name>" (node contract §4.10).

import type { EntityMatch, RuleIR, RuleSetIR } from './ir.ts';
import { freezeIR, protocolName } from './ir.ts';
import type { NormRule, NormSide } from './model.ts';
import { hashId, selectorId } from './selector-expr.ts';
import type { SelExpr } from './selector-expr.ts';

export type IPSetSpec =
  | { readonly type: 'net'; readonly id: string; readonly selector: SelExpr }
  | {
      readonly type: 'ip-port';
      readonly id: string;
      readonly selector: SelExpr;
      readonly portName: string;
      /** undefined = any protocol the endpoint declares for the name. */
      readonly protocol: number | undefined;
    };

export interface ScanResult {
  readonly rules: RuleSetIR;
  readonly ipsets: ReadonlyMap<string, IPSetSpec>;
}

const ALL_SEL: SelExpr = { t: 'all' };

function scanSide(side: NormSide, protocol: number | undefined, sets: Map<string, IPSetSpec>): EntityMatch {
  const ipSetIds: string[] = [];
  const notIpSetIds: string[] = [];
  if (side.selector !== undefined) {
    const id = selectorId(side.selector);
    sets.set(id, { type: 'net', id, selector: side.selector });
    ipSetIds.push(id);
  }
  if (side.notSelector !== undefined) {
    const id = selectorId(side.notSelector);
    sets.set(id, { type: 'net', id, selector: side.notSelector });
    notIpSetIds.push(id);
  }
  const named = (names: readonly string[]): string[] =>
    names.map((portName) => {
      const sel = side.selector ?? ALL_SEL;
      const id = hashId('n:', `${selectorId(sel)},${protocol === undefined ? 'any' : protocolName(protocol)},${portName}`);
      sets.set(id, { type: 'ip-port', id, selector: sel, portName, protocol });
      return id;
    });
  return {
    kind: 'EntityMatch',
    nets: side.nets.map((c) => c.text),
    notNets: side.notNets.map((c) => c.text),
    ipSetIds,
    notIpSetIds,
    ports: side.ports,
    namedPortIpSetIds: named(side.namedPorts),
    notPorts: side.notPorts,
    notNamedPortIpSetIds: named(side.notNamedPorts),
  };
}

export function scanRule(r: NormRule, sets: Map<string, IPSetSpec>): RuleIR {
  return {
    kind: 'Rule',
    action: r.action,
    ipVersion: r.ipVersion,
    protocol: r.protocol,
    notProtocol: r.notProtocol,
    icmp: r.icmp === undefined ? undefined : { kind: 'ICMPMatch', type: r.icmp.type, code: r.icmp.code },
    notICMP: r.notICMP === undefined ? undefined : { kind: 'ICMPMatch', type: r.notICMP.type, code: r.notICMP.code },
    source: scanSide(r.source, r.protocol, sets),
    destination: scanSide(r.destination, r.protocol, sets),
    index: r.index,
    unsupported: r.unsupported,
  };
}

export function scanRules(inbound: readonly NormRule[], outbound: readonly NormRule[]): ScanResult {
  const sets = new Map<string, IPSetSpec>();
  const rules: RuleSetIR = {
    kind: 'RuleSet',
    inbound: inbound.map((r) => scanRule(r, sets)),
    outbound: outbound.map((r) => scanRule(r, sets)),
  };
  return { rules: freezeIR(rules), ipsets: sets };
}
