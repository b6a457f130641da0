// Renders BIRD 2 configuration for one node from the datastore contents, with the semantics of
// Calico's confd templates (bird.cfg, bird_aggr.cfg, bird_ipam.cfg and their v6 twins; node
// contract §5.2–5.6) but in BIRD 2 syntax: one daemon, one file, per-family channels, filters
// and functions suffixed 4/6. Pure: the same input always gives the same text.

import type { BGPFilter, BGPFilterRule, IPPool } from '../api/index.ts';
import { TricolorError, quote } from '../base/index.ts';
import { type CIDR, type IPFamily, formatCIDR, formatIP, tryParseCIDR, tryParseIP } from '../net/index.ts';
import { createHash } from 'node:crypto';
import {
  type BirdPeer,
  type NodeFacts,
  type PeerInputs,
  computeBirdPeers,
  effectiveBGPConfig,
  nodeFacts,
  nodeIP,
} from './bgp-peers.ts';

/** BIRD's largest route attribute value; Calico converts priorities to local-pref against it. */
const BIRD_INT_MAX = 2147483647;
/** `preference` that lets an elevated-priority route beat a local one (confd's override). */
const OVERRIDE_PREFERENCE = 200;
const DEFAULT_NORMAL_ROUTE_PRIORITY = 1024;
/** BIRD's symbol length limit. */
const MAX_SYMBOL = 64;

/** One of this node's affine IPAM blocks. */
export interface NodeBlock {
  readonly cidr: string;
  /** BlockAffinity state; absent means legacy "implicitly confirmed". */
  readonly state?: 'confirmed' | 'pending' | 'pendingDeletion';
}

export interface BirdRenderInput extends PeerInputs {
  readonly bgpFilters: readonly BGPFilter[];
  readonly ipPools: readonly IPPool[];
  readonly blocks: readonly NodeBlock[];
  /** Extra prefixes this node originates (blackholed locally, exported to peers). */
  readonly advertisedRoutes?: readonly string[];
  /** `CALICO_ROUTER_ID`: an IPv4 address, or `hash` to derive one from the node name. */
  readonly routerId?: string;
  /** Resolved BGP passwords by BGPPeer name, and `nodeMesh` for the mesh (Secrets are read elsewhere). */
  readonly passwords?: Readonly<Record<string, string>>;
  /** Header comment line (e.g. what generated the file); kept out of the semantics. */
  readonly header?: string;
}

export interface RenderedBirdConfig {
  readonly text: string;
  readonly peers: readonly BirdPeer[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedCIDRs(texts: Iterable<string>): CIDR[] {
  const seen = new Map<string, CIDR>();
  for (const t of texts) {
    const c = tryParseCIDR(t, { allowBareIP: true });
    if (c !== undefined) seen.set(formatCIDR(c), c);
  }
  return [...seen.values()].sort((a, b) => (a.family !== b.family ? a.family - b.family : a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefixLength - b.prefixLength));
}

/** A BIRD prefix-set pattern matching the CIDR and everything inside it. */
function orLonger(c: CIDR): string {
  return `${formatCIDR(c)}+`;
}

function prefixSet(cs: readonly CIDR[]): string {
  return `[ ${cs.map(orLonger).join(', ')} ]`;
}

/** Make a BIRD symbol from Calico names (which may hold `-` and `.`), within 64 chars. */
export function birdSymbol(prefix: string, name: string, suffix: string): string {
  const clean = name.replace(/[^A-Za-z0-9_]/g, '_');
  const whole = `${prefix}${clean}${suffix}`;
  if (whole.length <= MAX_SYMBOL && clean === name) return whole;
  // Sanitising or truncating could merge two names: a short hash of the original keeps them apart.
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const room = MAX_SYMBOL - prefix.length - suffix.length - hash.length - 1;
  return `${prefix}${clean.slice(0, Math.max(room, 1))}_${hash}${suffix}`;
}

function hashRouterId(nodeName: string): string {
  const d = createHash('sha256').update(nodeName).digest();
  return `${d[0] ?? 0}.${d[1] ?? 0}.${d[2] ?? 0}.${d[3] ?? 0}`;
}

function community(value: string, field: string): { large: boolean; tuple: string } {
  const parts = value.split(':');
  if ((parts.length !== 2 && parts.length !== 3) || parts.some((p) => !/^\d+$/.test(p))) {
    throw new TricolorError('ERR_VALIDATION', `${field}: ${quote(value)} is not a BGP community`, { field, value });
  }
  return { large: parts.length === 3, tuple: `(${parts.join(', ')})` };
}

// ------------------------------------------------------------------------------------------
// BGPFilter → BIRD functions

function ruleCondition(rule: BGPFilterRule, family: IPFamily, field: string): string[] {
  const conds: string[] = [];
  if (rule.cidr !== undefined && rule.matchOperator !== undefined) {
    const c = tryParseCIDR(rule.cidr);
    if (c === undefined || c.family !== family) {
      throw new TricolorError('ERR_VALIDATION', `${field}.cidr: ${quote(rule.cidr)} is not a valid IPv${family} CIDR`, { value: rule.cidr });
    }
    const max = rule.prefixLength?.max ?? (family === 4 ? 32 : 128);
    const min = rule.prefixLength?.min ?? c.prefixLength;
    const range = `[ ${formatCIDR(c)}{${min},${max}} ]`;
    switch (rule.matchOperator) {
      case 'Equal':
        conds.push(`net = ${formatCIDR(c)}`);
        break;
      case 'NotEqual':
        conds.push(`net != ${formatCIDR(c)}`);
        break;
      case 'In':
        conds.push(`net ~ ${range}`);
        break;
      case 'NotIn':
        conds.push(`net !~ ${range}`);
        break;
    }
  }
  if (rule.source === 'RemotePeers') conds.push('source = RTS_BGP');
  if (rule.interface !== undefined) conds.push(`ifname ~ ${JSON.stringify(rule.interface)}`);
  if (rule.peerType === 'iBGP') conds.push('internal_peer');
  if (rule.peerType === 'eBGP') conds.push('!internal_peer');
  const cv = rule.communities?.values[0];
  if (cv !== undefined) {
    const c = community(cv, `${field}.communities.values[0]`);
    conds.push(`${c.tuple} ~ ${c.large ? 'bgp_large_community' : 'bgp_community'}`);
  }
  if (rule.asPathPrefix !== undefined && rule.asPathPrefix.length > 0) {
    conds.push(`bgp_path ~ [= ${rule.asPathPrefix.join(' ')} * =]`);
  }
  if (rule.priority !== undefined) conds.push(`(defined(krt_metric) && krt_metric = ${rule.priority})`);
  return conds;
}

function ruleOperations(rule: BGPFilterRule, field: string): string[] {
  const out: string[] = [];
  (rule.operations ?? []).forEach((op, i) => {
    if (op.addCommunity !== undefined) {
      const c = community(op.addCommunity.value, `${field}.operations[${i}].addCommunity.value`);
      out.push(`${c.large ? 'bgp_large_community' : 'bgp_community'}.add(${c.tuple});`);
    }
    if (op.prependASPath !== undefined) {
      // prepend() pushes to the front, so go backwards to keep the listed order.
      for (const asn of [...op.prependASPath.prefix].reverse()) out.push(`bgp_path.prepend(${asn});`);
    }
    if (op.setPriority !== undefined) {
      out.push(`krt_metric = ${op.setPriority.value};`, `bgp_local_pref = ${BIRD_INT_MAX - op.setPriority.value};`);
    }
  });
  return out;
}

function filterFunction(filter: BGPFilter, dir: 'import' | 'export', family: IPFamily): string | undefined {
  const key = `${dir}V${family}` as const;
  const rules = filter.spec?.[key];
  if (rules === undefined || rules.length === 0) return undefined;
  const name = birdSymbol('bgp_', filter.metadata.name, `_${dir}FilterV${family}`);
  const lines = [`function ${name}(bool internal_peer) {`];
  rules.forEach((rule, i) => {
    const field = `BGPFilter ${quote(filter.metadata.name)}: spec.${key}[${i}]`;
    const conds = ruleCondition(rule, family, field);
    const body = [...ruleOperations(rule, field), rule.action === 'Accept' ? 'accept;' : 'reject;'];
    if (conds.length === 0) {
      lines.push(...body.map((b) => `  ${b}`));
    } else {
      lines.push(`  if (${conds.join(' && ')}) then {`, ...body.map((b) => `    ${b}`), '  }');
    }
  });
  lines.push('}');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------
// Sections

interface FamilyContext {
  readonly family: IPFamily;
  readonly v: '4' | '6';
  readonly channel: 'ipv4' | 'ipv6';
  readonly myIP: string;
  readonly me: NodeFacts;
  readonly pools: readonly IPPool[];
  readonly blocks: readonly { cidr: CIDR; confirmed: boolean }[];
  readonly originated: readonly CIDR[];
  readonly rejectCIDRs: readonly CIDR[];
  readonly normalPriority: number;
  readonly programClusterRoutes: string;
  readonly peers: readonly BirdPeer[];
  readonly filters: ReadonlyMap<string, BGPFilter>;
  readonly communities: readonly { cidr: CIDR; values: string[] }[];
  readonly listenPort: number | undefined;
  readonly bindNodeIP: boolean;
  readonly passwords: Readonly<Record<string, string>>;
  readonly peerDebug: string | undefined;
}

function poolCIDR(p: IPPool): CIDR | undefined {
  return p.spec === undefined ? undefined : tryParseCIDR(p.spec.cidr);
}

function poolsOf(pools: readonly IPPool[], family: IPFamily): IPPool[] {
  return pools
    .filter((p) => poolCIDR(p)?.family === family)
    .sort((a, b) => cmp(a.spec?.cidr ?? '', b.spec?.cidr ?? '') || cmp(a.metadata.name, b.metadata.name));
}

function communitiesFunction(ctx: FamilyContext): string {
  const lines = [`function apply_communities${ctx.v}() {`];
  for (const adv of ctx.communities) {
    lines.push(`  if (net ~ ${prefixSet([adv.cidr])}) then {`);
    for (const v of adv.values) {
      const c = community(v, 'spec.prefixAdvertisements');
      lines.push(`    ${c.large ? 'bgp_large_community' : 'bgp_community'}.add(${c.tuple});`);
    }
    lines.push('  }');
  }
  lines.push('}');
  return lines.join('\n');
}

function staticSection(ctx: FamilyContext): string {
  const routes: string[] = [];
  // Blackholes for this node's blocks originate them into BGP; /32 and /128 blocks are skipped
  // as in confd (a single address has no "rest of the block" to drop).
  for (const b of ctx.blocks) {
    if (b.cidr.prefixLength === (ctx.family === 4 ? 32 : 128)) continue;
    routes.push(`  route ${formatCIDR(b.cidr)} blackhole;`);
  }
  for (const c of ctx.originated) routes.push(`  route ${formatCIDR(c)} blackhole;`);
  for (const p of ctx.peers) {
    if (p.reachableBy === undefined) continue;
    const gw = tryParseIP(p.reachableBy);
    if (gw?.family !== ctx.family) continue;
    routes.push(`  route ${p.ip}/${ctx.family === 4 ? 32 : 128} via ${formatIP(gw)};`);
  }
  const unique = [...new Set(routes)];
  if (unique.length === 0) return `# No static routes for IPv${ctx.family}.`;
  return [`protocol static static${ctx.v} {`, `  ${ctx.channel};`, ...unique, '}'].join('\n');
}

function aggrFunction(ctx: FamilyContext): string {
  const lines = [`function calico_aggr${ctx.v}() {`];
  for (const b of ctx.blocks) {
    if (!b.confirmed) continue;
    const c = formatCIDR(b.cidr);
    lines.push(`  # Block ${c} is confirmed.`);
    lines.push(`  if (net = ${c}) then accept;`);
    // Only the aggregate leaves the node, except elevated-priority /32s (live migration).
    lines.push(
      `  if (net ~ ${prefixSet([b.cidr])}) then { if (defined(krt_metric) && krt_metric < ${ctx.normalPriority}) then accept; reject; }`,
    );
  }
  lines.push('}');
  return lines.join('\n');
}

function exportFunction(ctx: FamilyContext): string {
  const lines = [`function calico_export_to_bgp_peers${ctx.v}(bool internal_peer) {`];
  const noExport = ctx.pools.filter((p) => p.spec?.disableBGPExport === true).map(poolCIDR).filter((c) => c !== undefined);
  if (noExport.length > 0) lines.push(`  # Pools with disableBGPExport.`, `  if (net ~ ${prefixSet(noExport)}) then reject;`);
  lines.push(
    '  # Routes Felix owns (tunnel devices) are never re-advertised over iBGP.',
    '  if (internal_peer) then { if (ifname ~ "*.cali" || ifname ~ "*.calico") then reject; }',
    '  reject_local_routes();',
    `  apply_communities${ctx.v}();`,
    `  calico_aggr${ctx.v}();`,
  );
  if (ctx.originated.length > 0) lines.push(`  if (net ~ ${prefixSet(ctx.originated)}) then accept;`);
  const enabled = ctx.pools.filter((p) => p.spec?.disableBGPExport !== true).map(poolCIDR).filter((c) => c !== undefined);
  if (enabled.length > 0) lines.push(`  if (net ~ ${prefixSet(enabled)}) then accept;`);
  lines.push('}');
  return lines.join('\n');
}

function birdProgramsPool(p: IPPool, setting: string): 'accept' | 'reject-vxlan' | 'reject-felix' {
  const spec = p.spec;
  const vxlan = spec?.vxlanMode !== undefined && spec.vxlanMode !== 'Never';
  const ipip = spec?.ipipMode !== undefined && spec.ipipMode !== 'Never';
  if (vxlan) return 'reject-vxlan';
  // BIRD 2 has no krt_tunnel (that is Calico's BIRD 1 fork), so IPIP routes are Felix's.
  if (ipip) return 'reject-felix';
  return setting === 'Enabled' || setting === 'EnabledNoEncapOnly' ? 'accept' : 'reject-felix';
}

function kernelFilter(ctx: FamilyContext): string {
  const lines = [`filter calico_kernel_programming${ctx.v} {`];
  // BIRD 2 would copy connected routes learned by `protocol direct` back into the FIB.
  lines.push('  if (source = RTS_DEVICE) then reject;');
  if (ctx.rejectCIDRs.length > 0) {
    lines.push('  # Service ranges are advertised but not routed locally.', `  if (net ~ ${prefixSet(ctx.rejectCIDRs)}) then reject;`);
  }
  lines.push(
    '  if (source = RTS_BGP && !defined(krt_metric)) then {',
    `    krt_metric = ${ctx.normalPriority};`,
    `    if (defined(bgp_local_pref)) then krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
    `    if (krt_metric < ${ctx.normalPriority}) then preference = ${OVERRIDE_PREFERENCE};`,
    '  }',
  );
  for (const p of ctx.pools) {
    const c = poolCIDR(p);
    if (c === undefined) continue;
    const what = birdProgramsPool(p, ctx.programClusterRoutes);
    const set = prefixSet([c]);
    if (what === 'accept') lines.push(`  if (net ~ ${set}) then accept;`);
    else if (what === 'reject-vxlan') lines.push(`  if (net ~ ${set}) then reject; # VXLAN routes are handled by Felix.`);
    else lines.push(`  if (net ~ ${set}) then reject; # Cluster routes are handled by Felix.`);
  }
  lines.push('  accept;', '}');
  return lines.join('\n');
}

function peerProtocol(ctx: FamilyContext, p: BirdPeer, filterFns: ReadonlySet<string>): string {
  const l: string[] = [`protocol bgp ${p.name} from bgp_template {`];
  if (p.source !== undefined) l.push(`  description "BGPPeer ${p.source}";`);
  else l.push('  description "Node-to-node mesh";');
  const localAS = p.localASNumber ?? ctx.me.asNumber;
  const localAddr = ctx.bindNodeIP ? `${ctx.myIP} ` : '';
  const localPort = ctx.listenPort === undefined ? '' : `port ${ctx.listenPort} `;
  l.push(`  local ${localAddr}${localPort}as ${localAS};`);
  if (ctx.bindNodeIP) l.push('  strict bind on;');
  l.push(`  neighbor ${p.ip}${p.port === undefined ? '' : ` port ${p.port}`} as ${p.asNumber};`);
  if (p.sourceAddress !== undefined) l.push(`  source address ${p.sourceAddress};`);
  if (p.ttlSecurityHops !== undefined) l.push('  ttl security on;', `  multihop ${p.ttlSecurityHops};`);
  else l.push('  ttl security off;', '  multihop;');
  if (p.passive) l.push('  passive on; # Peer has the higher address and connects to us.');
  if (p.gracefulRestartSeconds !== undefined) l.push(`  graceful restart time ${p.gracefulRestartSeconds};`);
  if (p.keepaliveSeconds !== undefined) l.push(`  keepalive time ${p.keepaliveSeconds};`);
  if (p.rrClusterId !== undefined) l.push('  rr client;', `  rr cluster id ${p.rrClusterId};`);
  if (p.allowLocalAS !== undefined) l.push(`  allow local as ${p.allowLocalAS};`);
  const pw = p.kind === 'Mesh' ? ctx.passwords.nodeMesh : p.source === undefined ? undefined : ctx.passwords[p.source];
  if (pw !== undefined) l.push(`  password ${JSON.stringify(pw)};`);
  const internal = p.asNumber === localAS;
  const fns = (dir: 'import' | 'export') =>
    p.filters
      .map((f) => birdSymbol('bgp_', f, `_${dir}FilterV${ctx.v}`))
      .filter((f) => filterFns.has(f))
      .map((f) => `      ${f}(${internal});`);
  l.push(`  ${ctx.channel} {`, '    gateway recursive;', '    add paths on;');
  if (p.nextHop !== undefined) l.push(`    next hop ${p.nextHop};`);
  l.push(
    '    import filter {',
    ...fns('import'),
    `      if (defined(bgp_local_pref) && bgp_local_pref > ${BIRD_INT_MAX - ctx.normalPriority}) then preference = ${OVERRIDE_PREFERENCE};`,
    '      accept;',
    '    };',
    '    export filter {',
    `      if (source = RTS_BGP && defined(bgp_local_pref)) then krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
    `      else { if (!defined(krt_metric)) then krt_metric = ${ctx.normalPriority}; bgp_local_pref = ${BIRD_INT_MAX} - krt_metric; }`,
    ...fns('export'),
    `      calico_export_to_bgp_peers${ctx.v}(${internal});`,
    '      reject;',
    '    };',
    '  };',
    '}',
  );
  return l.join('\n');
}

function familySection(ctx: FamilyContext, debug: string | undefined): string {
  const out: string[] = [];
  out.push(`# ==================== IPv${ctx.family} ====================`);
  out.push(`# --- statics and aggregation (bird${ctx.v === '4' ? '' : '6'}_aggr.cfg) ---`);
  out.push(staticSection(ctx), aggrFunction(ctx));
  out.push(`# --- export and kernel filters (bird${ctx.v === '4' ? '' : '6'}_ipam.cfg) ---`);
  out.push(communitiesFunction(ctx), exportFunction(ctx), kernelFilter(ctx));
  out.push(`# --- bird${ctx.v === '4' ? '' : '6'}.cfg ---`);
  out.push(
    [
      `protocol kernel kernel${ctx.v} {`,
      ...(debug === undefined ? [] : [`  debug ${debug};`]),
      `  ${ctx.channel} {`,
      '    import all;',
      `    export filter calico_kernel_programming${ctx.v};`,
      '  };',
      '  learn;             # alien routes (Felix, CNI, the admin) are visible to BIRD',
      "  persist;           # routes stay in the kernel when BIRD stops",
      '  scan time 2;',
      '  graceful restart;  # keep routes across reloads',
      '  merge paths on;    # ECMP',
      '}',
    ].join('\n'),
  );
  const fnNames = new Set<string>();
  for (const f of [...ctx.filters.values()].sort((a, b) => cmp(a.metadata.name, b.metadata.name))) {
    for (const dir of ['import', 'export'] as const) {
      const fn = filterFunction(f, dir, ctx.family);
      if (fn !== undefined) {
        out.push(fn);
        fnNames.add(birdSymbol('bgp_', f.metadata.name, `_${dir}FilterV${ctx.v}`));
      }
    }
  }
  if (ctx.peers.length === 0) out.push(`# No IPv${ctx.family} BGP peers configured for this node.`);
  for (const p of ctx.peers) out.push(peerProtocol(ctx, p, fnNames));
  return out.join('\n\n');
}

function debugFor(level: string | undefined): { proto: string | undefined; peer: string | undefined } {
  const l = (level ?? '').toLowerCase();
  if (l === 'none') return { proto: undefined, peer: undefined };
  if (l === 'debug') return { proto: 'all', peer: 'all' };
  return { proto: '{ states }', peer: '{ states, routes, filters, events }' };
}

/**
 * The whole BIRD 2 configuration for `input.nodeName`. Throws ERR_NOT_FOUND for an unknown
 * node and ERR_VALIDATION when nothing usable is a router id (no IPv4 and no override).
 */
export function renderBirdConfig(input: BirdRenderInput): RenderedBirdConfig {
  const node = input.nodes.find((n) => n.metadata.name === input.nodeName);
  if (node === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `Node ${quote(input.nodeName)} does not exist`, { value: input.nodeName });
  }
  const me = nodeFacts(node, input.bgpConfigurations);
  const { global, node: own } = effectiveBGPConfig(input.bgpConfigurations, input.nodeName);

  let routerId: string;
  if (input.routerId === 'hash') routerId = hashRouterId(input.nodeName);
  else if (input.routerId !== undefined && input.routerId !== '') {
    const ip = tryParseIP(input.routerId);
    if (ip?.family !== 4) {
      throw new TricolorError('ERR_VALIDATION', `CALICO_ROUTER_ID: ${quote(input.routerId)} is not an IPv4 address or "hash"`, {
        value: input.routerId,
      });
    }
    routerId = formatIP(ip);
  } else if (me.ipv4 !== undefined) routerId = me.ipv4;
  else {
    throw new TricolorError(
      'ERR_VALIDATION',
      `Node ${quote(input.nodeName)}: spec.bgp.ipv4Address: ${quote(node.spec?.bgp?.ipv4Address ?? '')} is needed as the BGP router id (or set CALICO_ROUTER_ID)`,
      { field: 'spec.bgp.ipv4Address' },
    );
  }

  const debug = debugFor(own?.logSeverityScreen ?? global?.logSeverityScreen);
  const filters = new Map(input.bgpFilters.map((f) => [f.metadata.name, f]));
  const blocks = input.blocks
    .map((b) => ({ cidr: tryParseCIDR(b.cidr), confirmed: b.state === undefined || b.state === 'confirmed' }))
    .filter((b): b is { cidr: CIDR; confirmed: boolean } => b.cidr !== undefined)
    .sort((a, b) => cmp(formatCIDR(a.cidr), formatCIDR(b.cidr)));
  const serviceRanges = sortedCIDRs(
    [...(global?.serviceClusterIPs ?? []), ...(global?.serviceExternalIPs ?? []), ...(global?.serviceLoadBalancerIPs ?? [])].map((s) => s.cidr),
  );
  const originated = sortedCIDRs([...serviceRanges.map(formatCIDR), ...(input.advertisedRoutes ?? [])]);
  const namedCommunities = new Map((global?.communities ?? []).map((c) => [c.name, c.value]));
  const advertisements = own?.prefixAdvertisements ?? global?.prefixAdvertisements ?? [];

  const sections: string[] = [];
  const allPeers: BirdPeer[] = [];
  for (const family of [4, 6] as const) {
    const myIP = nodeIP(me, family);
    if (myIP === undefined) {
      sections.push(`# IPv${family} disabled on this node.`);
      continue;
    }
    const peers = computeBirdPeers(input, family);
    allPeers.push(...peers);
    const ctx: FamilyContext = {
      family,
      v: family === 4 ? '4' : '6',
      channel: family === 4 ? 'ipv4' : 'ipv6',
      myIP,
      me,
      pools: poolsOf(input.ipPools, family),
      blocks: blocks.filter((b) => b.cidr.family === family),
      originated: originated.filter((c) => c.family === family),
      rejectCIDRs: serviceRanges.filter((c) => c.family === family),
      normalPriority:
        (family === 4 ? global?.ipv4NormalRoutePriority : global?.ipv6NormalRoutePriority) ?? DEFAULT_NORMAL_ROUTE_PRIORITY,
      programClusterRoutes: global?.programClusterRoutes ?? 'EnabledNoEncapOnly',
      peers,
      filters,
      communities: advertisements
        .map((a) => ({
          cidr: tryParseCIDR(a.cidr),
          values: (a.communities ?? []).map((c) => namedCommunities.get(c) ?? c),
        }))
        .filter((a): a is { cidr: CIDR; values: string[] } => a.cidr?.family === family && a.values.length > 0),
      listenPort: me.listenPort,
      bindNodeIP: global?.bindMode === 'NodeIP',
      passwords: input.passwords ?? {},
      peerDebug: debug.peer,
    };
    sections.push(familySection(ctx, debug.proto));
  }

  const ignored = [...new Set(global?.ignoredInterfaces ?? [])].sort(cmp);
  const ifaces = [...ignored.map((i) => `-${JSON.stringify(i)}`), '-"cali*"', '-"kube-ipvs*"', '"*"'].join(', ');
  const channels = [me.ipv4 !== undefined ? '  ipv4;' : undefined, me.ipv6 !== undefined ? '  ipv6;' : undefined].filter(
    (c) => c !== undefined,
  );
  const head = [
    `# ${input.header ?? 'Generated by Tricolor'} for node ${JSON.stringify(input.nodeName)}. Do not edit.`,
    '# BIRD 2 rendering of Calico\'s bird.cfg + bird_aggr.cfg + bird_ipam.cfg (and the v6 files).',
    `router id ${routerId};`,
    // Time of day for today's events, the date for older ones: no spaces, so `show protocols`
    // columns split cleanly (calicoctl's parser needs that too).
    'timeformat protocol "%T" 86400 "%F";',
    'log stderr all;',
    '',
    'function reject_local_routes() {',
    '  if (ifname ~ "bpf*.cali") then reject;',
    '}',
    '',
    'protocol device {',
    '  scan time 2;',
    '}',
    '',
    'protocol direct {',
    ...(debug.proto === undefined ? [] : [`  debug ${debug.proto};`]),
    ...channels,
    `  interface ${ifaces};`,
    '}',
    '',
    'template bgp bgp_template {',
    ...(debug.peer === undefined ? [] : [`  debug ${debug.peer};`]),
    '  description "Connection to BGP peer";',
    `  local as ${me.asNumber};`,
    '  graceful restart;',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '}',
  ].join('\n');
  return { text: `${[head, ...sections].join('\n\n')}\n`, peers: allPeers };
}
