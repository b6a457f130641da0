// From a denied flow to a fix: the allow policy that would admit it, as a StagedNetworkPolicy the
// user can stage first (its effect shows at once as the pending trace of new flows), then promote.
// Built from what the flow record knows: the reporting side's labels select the endpoint the
// policy protects, the peer's labels and namespace select the peer, and the port and protocol
// narrow the rule. Labels Calico sets itself (projectcalico.org/*) are left out of selectors
// except the namespace, which becomes a namespaceSelector.

import { stringify } from 'yaml';
import type { FlowEndpoint, FlowRecord, PolicyHit } from './flow.ts';

const OWN_PREFIX = /^(projectcalico\.org|pcns|pcsa)\b/;

function selectorOf(e: FlowEndpoint): string {
  const parts: string[] = [];
  for (const l of e.labels) {
    const eq = l.indexOf('=');
    if (eq <= 0) continue;
    const k = l.slice(0, eq);
    if (OWN_PREFIX.test(k)) continue;
    parts.push(`${k} == '${l.slice(eq + 1).replace(/'/g, '')}'`);
  }
  return parts.length === 0 ? 'all()' : parts.sort().join(' && ');
}

function safeName(s: string): string {
  const n = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return n === '' ? 'flow' : n.slice(0, 40);
}

export interface SuggestedPolicy {
  /** The resource as an object (projectcalico.org/v3 StagedNetworkPolicy or StagedGlobalNetworkPolicy). */
  readonly resource: Record<string, unknown>;
  readonly yaml: string;
}

/**
 * The allow policy for a denied flow. `denyHit` is the enforced hit that denied it (its tier gets
 * the new policy; an order just before the denying policy's when `denyOrder` is known).
 */
export function suggestAllowPolicy(f: FlowRecord, options: { readonly denyOrder?: number } = {}): SuggestedPolicy {
  const deny: PolicyHit | undefined = [...f.policies.enforced].reverse().find((h) => h.action === 'deny');
  const tier = deny !== undefined && deny.tier !== '__PROFILE__' ? deny.tier : 'default';
  const ingress = f.reporter === 'dst';
  const protect = ingress ? f.dst : f.src;
  const peer = ingress ? f.src : f.dst;
  const proto = f.proto.toUpperCase();
  const portCapable = proto === 'TCP' || proto === 'UDP' || proto === 'SCTP';
  const peerSide: Record<string, unknown> = {};
  if (peer.type === 'wep') {
    peerSide['selector'] = selectorOf(peer);
    if (peer.namespace !== protect.namespace || protect.type !== 'wep') peerSide['namespaceSelector'] = `projectcalico.org/name == '${peer.namespace}'`;
  } else if (peer.ips.length > 0) {
    peerSide['nets'] = peer.ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`));
  }
  const destination: Record<string, unknown> = {};
  if (portCapable && f.destPort > 0) destination['ports'] = [f.destPort];
  const rule: Record<string, unknown> = { action: 'Allow', protocol: proto };
  if (ingress) {
    if (Object.keys(peerSide).length > 0) rule['source'] = peerSide;
    if (Object.keys(destination).length > 0) rule['destination'] = destination;
  } else {
    rule['destination'] = { ...peerSide, ...destination };
  }
  const namespaced = protect.type === 'wep' && protect.namespace !== '';
  const base = `allow-${safeName(peer.name.replace(/\*$/, ''))}-to-${safeName(ingress ? protect.name.replace(/\*$/, '') : peer.name.replace(/\*$/, ''))}-${f.destPort}`;
  const name = tier === 'default' ? base : `${tier}.${base}`;
  const spec: Record<string, unknown> = {
    tier,
    ...(options.denyOrder === undefined ? { order: 100 } : { order: Math.max(0, options.denyOrder - 1) }),
    selector: selectorOf(protect),
    types: [ingress ? 'Ingress' : 'Egress'],
    [ingress ? 'ingress' : 'egress']: [rule],
    stagedAction: 'Set',
  };
  const resource: Record<string, unknown> = {
    apiVersion: 'projectcalico.org/v3',
    kind: namespaced ? 'StagedNetworkPolicy' : 'StagedGlobalNetworkPolicy',
    metadata: namespaced ? { name, namespace: protect.namespace } : { name },
    spec,
  };
  return { resource, yaml: stringify(resource) };
}
