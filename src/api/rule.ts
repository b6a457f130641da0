// Policy rules (contract §3.1, §3.2) and every rule validation check of §3.4 (V1–V24). The
// V-numbers in comments refer to that table. Used by the policy kinds and Profile.

import { tryParseCIDR } from '../net/index.ts';
import type { EntityRule, Rule } from './types.ts';
import { RULE_ACTIONS } from './types.ts';
import {
  annotationMap,
  isICMPProtocol,
  isNamedPort,
  netSchema,
  portSchema,
  protocolSchema,
  protocolSupportsPorts,
  selectorSchema,
  subdomain,
} from './scalars.ts';
import { type Ctx, type Schema, arr, at, fail, failField, int, join, obj, oneOf, str } from './schema.ts';

export type Direction = 'ingress' | 'egress';

export interface RuleContext {
  readonly direction: Direction;
  /** GlobalNetworkPolicy / StagedGlobalNetworkPolicy: services must name a namespace (V19). */
  readonly global: boolean;
}

const icmpSchema = obj({ type: int(0, 254), code: int(0, 255) });

const entityRuleSchema: Schema<EntityRule> = obj<EntityRule>({
  nets: arr(netSchema(), { max: 256, unique: true }),
  notNets: arr(netSchema(), { max: 256, unique: true }),
  selector: selectorSchema({ noGlobal: true }),
  notSelector: selectorSchema(),
  namespaceSelector: selectorSchema({ globalAlone: true }),
  ports: arr(portSchema, { max: 50 }),
  notPorts: arr(portSchema, { max: 50 }),
  serviceAccounts: obj({ names: arr(str(), { unique: true }), selector: selectorSchema() }),
  services: obj({ name: str(), namespace: str() }),
});

const HTTP_PATH_BAD = /[?# ]/;

const httpSchema = obj({
  methods: arr(str(), { max: 20 }),
  paths: arr(
    obj<{ exact?: string; prefix?: string }>(
      { exact: str(), prefix: str() },
      {
        check: (p, path, ctx) => {
          const set = [p.exact, p.prefix].filter((x) => x !== undefined);
          if (set.length !== 1) {
            failField(ctx, path, 'must specify exactly one of exact or prefix');
            return;
          }
          const key = p.exact !== undefined ? 'exact' : 'prefix';
          const value = set[0] ?? '';
          // V22: an HTTP path is matched literally; query, fragment and spaces cannot appear in it.
          if (!value.startsWith('/')) fail(ctx, join(path, key), value, 'is not a valid HTTP path: must start with "/"');
          else if (HTTP_PATH_BAD.test(value)) {
            fail(ctx, join(path, key), value, 'is not a valid HTTP path: must not contain "?", "#" or spaces');
          }
        },
      },
    ),
    { max: 20 },
  ),
});

export function ruleSchema(rc: RuleContext): Schema<Rule> {
  return obj<Rule>(
    {
      action: oneOf(RULE_ACTIONS), // V1
      ipVersion: (v, path, ctx) => (v === 4 || v === 6 ? v : fail(ctx, path, v, 'is not a valid IP version: must be 4 or 6')),
      protocol: protocolSchema,
      notProtocol: protocolSchema,
      icmp: icmpSchema,
      notICMP: icmpSchema,
      source: entityRuleSchema,
      destination: entityRuleSchema,
      http: httpSchema,
      metadata: obj({ annotations: annotationMap }), // V23
    },
    { required: ['action'], check: (r, path, ctx) => checkRule(r, path, ctx, rc) },
  );
}

function checkRule(r: Rule, path: string, ctx: Ctx, rc: RuleContext): void {
  checkPorts(r, path, ctx);
  checkICMP(r, path, ctx);
  checkNets(r, path, ctx);
  checkServices(r, path, ctx, rc);
  checkHTTP(r, path, ctx, rc);
}

const PORT_LISTS = [
  ['source', 'ports'],
  ['source', 'notPorts'],
  ['destination', 'ports'],
  ['destination', 'notPorts'],
] as const;

// V2, V3, V4.
function checkPorts(r: Rule, path: string, ctx: Ctx): void {
  for (const [side, list] of PORT_LISTS) {
    const ports = r[side]?.[list];
    if (ports === undefined || ports.length === 0) continue;
    const p = join(join(path, side), list);
    if (r.protocol !== undefined && !protocolSupportsPorts(r.protocol)) {
      fail(ctx, join(path, 'protocol'), r.protocol, `is not allowed with ${p}: rules that specify ports must set protocol to TCP or UDP or SCTP`);
      continue;
    }
    if (r.protocol === undefined) {
      const i = ports.findIndex((x) => !isNamedPort(x));
      if (i >= 0) {
        fail(ctx, at(p, i), ports[i], 'is not allowed: rules with numeric port or port range must set protocol to TCP or UDP or SCTP');
      }
    }
  }
}

// V6, V7, V8 (V8's ranges are in icmpSchema).
function checkICMP(r: Rule, path: string, ctx: Ctx): void {
  for (const key of ['icmp', 'notICMP'] as const) {
    const f = r[key];
    if (f !== undefined && f.code !== undefined && f.type === undefined) {
      failField(ctx, join(join(path, key), 'code'), 'ICMP code specified without an ICMP type');
    }
  }
  if (r.icmp !== undefined && isICMPProtocol(r.protocol) === undefined) {
    failField(ctx, join(path, 'icmp'), 'ICMP fields require protocol to be ICMP or ICMPv6');
  }
  for (const key of ['protocol', 'notProtocol'] as const) {
    const fam = isICMPProtocol(r[key]);
    if (fam !== undefined && r.ipVersion !== undefined && r.ipVersion !== fam) {
      fail(ctx, join(path, 'ipVersion'), r.ipVersion, `is not allowed: protocol ${fam === 4 ? 'ICMP requires ipVersion 4' : 'ICMPv6 requires ipVersion 6'}`);
    }
  }
}

// V9, V10, V11 (V12 is netSchema's strict masking).
function checkNets(r: Rule, path: string, ctx: Ctx): void {
  let seen: { family: 4 | 6; path: string; text: string } | undefined;
  for (const side of ['source', 'destination'] as const) {
    for (const list of ['nets', 'notNets'] as const) {
      const nets = r[side]?.[list] ?? [];
      nets.forEach((text, i) => {
        const c = tryParseCIDR(text, { allowBareIP: true });
        if (c === undefined) return;
        const p = at(join(join(path, side), list), i);
        if (r.ipVersion !== undefined && c.family !== r.ipVersion) {
          fail(ctx, p, text, `is not allowed: rule IP version doesn't match CIDR version (ipVersion is ${r.ipVersion})`);
        } else if (seen !== undefined && seen.family !== c.family) {
          fail(ctx, p, text, `is not allowed: rule contains both IPv4 and IPv6 CIDRs (${seen.path} is ${JSON.stringify(seen.text)})`);
        }
        seen ??= { family: c.family, path: p, text };
        if (list === 'notNets' && c.prefixLength === 0) {
          fail(ctx, p, text, 'is not allowed: catch-all CIDR in negation creates logical contradiction (matches no traffic)');
        }
      });
    }
  }
}

const SERVICE_EXCLUSIVE = ['namespaceSelector', 'serviceAccounts', 'selector', 'notSelector', 'nets', 'notNets'] as const;

// V15–V19.
function checkServices(r: Rule, path: string, ctx: Ctx, rc: RuleContext): void {
  for (const side of ['source', 'destination'] as const) {
    const e = r[side];
    const svc = e?.services;
    if (e === undefined || svc === undefined) continue;
    const sp = join(join(path, side), 'services');
    if (svc.name === undefined || svc.name === '') failField(ctx, join(sp, 'name'), 'services must specify a service name');
    else checkSubdomain(svc.name, join(sp, 'name'), ctx);
    if (svc.namespace !== undefined && svc.namespace !== '') checkSubdomain(svc.namespace, join(sp, 'namespace'), ctx);
    for (const k of SERVICE_EXCLUSIVE) {
      if (e[k] !== undefined) failField(ctx, join(join(path, side), k), `cannot specify ${k} and services on the same rule`);
    }
    if (side === 'destination') {
      for (const k of ['ports', 'notPorts'] as const) {
        if (e[k] !== undefined) failField(ctx, join(join(path, side), k), 'ports and notPorts cannot be specified with services');
      }
    }
    if (rc.direction === 'egress' && side === 'source') failField(ctx, sp, 'not allowed in egress rule source');
    if (rc.direction === 'ingress' && side === 'destination') failField(ctx, sp, 'not allowed in ingress rule destination');
    if (rc.global && (svc.namespace === undefined || svc.namespace === '')) {
      failField(ctx, join(sp, 'namespace'), 'must specify a namespace (services in a global policy)');
    }
  }
}

function checkSubdomain(v: string, path: string, ctx: Ctx): void {
  subdomain(v, path, ctx);
}

// V20, V21.
function checkHTTP(r: Rule, path: string, ctx: Ctx, rc: RuleContext): void {
  if (r.http === undefined) return;
  const hp = join(path, 'http');
  if (r.action !== 'Allow') fail(ctx, join(path, 'action'), r.action, 'is not allowed with http: HTTP match is only valid on Allow rules');
  if (r.protocol !== undefined && r.protocol !== 'TCP' && r.protocol !== 6) {
    fail(ctx, join(path, 'protocol'), r.protocol, 'is not allowed with http: rules with HTTP match must have protocol TCP or unset');
  }
  if (rc.direction === 'egress') failField(ctx, hp, 'HTTP match is not allowed in egress rules');
  const methods = r.http.methods ?? [];
  const dup = methods.findIndex((m, i) => methods.indexOf(m) !== i);
  if (dup >= 0) fail(ctx, at(join(hp, 'methods'), dup), methods[dup], 'is not valid: Invalid methods (duplicates)');
}
