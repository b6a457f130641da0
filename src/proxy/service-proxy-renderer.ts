// The ClusterIP service proxy's pure half: Services and WorkloadEndpoints in, the endpoints each
// service port load-balances over and the nftables text of `table ip tricolor-proxy` out. The
// table is separate from the agent's `inet tricolor` table and is replaced whole in one nft
// transaction, so a reader never sees half a ruleset. DNAT happens at prerouting (traffic from
// pods) and output (traffic from the node itself), before the agent's forward-hook policy sees
// the packet: policy then judges the real destination pod, as it does behind kube-proxy.

import { TricolorError, quote } from '../base/index.ts';
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS, MAX_AFFINITY_TIMEOUT_SECONDS } from '../api/index.ts';

export const PROXY_TABLE = 'tricolor-proxy';
/** Packet mark for hairpin traffic to masquerade: kube-proxy's bit, outside Calico's 0xffff0000 mark mask. */
export const HAIRPIN_MARK = '0x00004000';

export interface ProxyServicePort {
  readonly port: number;
  /** A number, or a container port name resolved per endpoint (kube-proxy semantics). */
  readonly targetPort: number | string;
  readonly protocol: 'TCP' | 'UDP';
}

export interface ProxyService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly ProxyServicePort[];
  /** `sessionAffinity: ClientIP`: seconds a client stays on the backend it was given; 0 = no affinity. */
  readonly affinitySecs: number;
}

export interface ProxyEndpoint {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly ports: readonly { readonly name: string; readonly port: number; readonly protocol: string }[];
}

export interface ServiceBackends {
  readonly service: ProxyService;
  readonly port: ProxyServicePort;
  /** `ip:port`, sorted. */
  readonly backends: readonly { readonly ip: string; readonly port: number }[];
}

/** A service selects endpoints of its own namespace whose labels hold every selector pair; an empty selector selects none (no managed endpoints, as in Kubernetes). */
export function selects(svc: ProxyService, ep: ProxyEndpoint): boolean {
  if (ep.namespace !== svc.namespace) return false;
  const pairs = Object.entries(svc.selector);
  return pairs.length > 0 && pairs.every(([k, v]) => ep.labels[k] === v);
}

export function resolveBackends(services: readonly ProxyService[], endpoints: readonly ProxyEndpoint[]): ServiceBackends[] {
  const out: ServiceBackends[] = [];
  const sorted = [...services].sort((a, b) => cmp(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  for (const service of sorted) {
    const selected = endpoints.filter((e) => selects(service, e));
    for (const port of service.ports) {
      const backends: { ip: string; port: number }[] = [];
      for (const ep of selected) {
        let target: number | undefined;
        if (typeof port.targetPort === 'number') target = port.targetPort;
        else target = ep.ports.find((p) => p.name === port.targetPort && p.protocol.toUpperCase() === port.protocol)?.port;
        if (target !== undefined) backends.push({ ip: ep.ip, port: target });
      }
      backends.sort((a, b) => cmp(`${ipKey(a.ip)}:${a.port}`, `${ipKey(b.ip)}:${b.port}`));
      out.push({ service, port, backends });
    }
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ipKey(ip: string): string {
  return ip
    .split('.')
    .map((o) => o.padStart(3, '0'))
    .join('.');
}

/** The nft script that replaces the proxy table (add + delete + define: works whether or not it exists). */
export function renderProxyRuleset(resolved: readonly ServiceBackends[]): string {
  const lines: string[] = [];
  lines.push(`add table ip ${PROXY_TABLE}`, `delete table ip ${PROXY_TABLE}`, `table ip ${PROXY_TABLE} {`);
  lines.push('  chain prerouting {', '    type nat hook prerouting priority -100; policy accept;', '    jump services', '  }');
  lines.push('  chain output {', '    type nat hook output priority -100; policy accept;', '    jump services', '  }');
  lines.push('  chain postrouting {', '    type nat hook postrouting priority 100; policy accept;', `    meta mark and ${HAIRPIN_MARK} == ${HAIRPIN_MARK} masquerade`, '  }');
  const svcChains: string[] = [];
  lines.push('  chain services {');
  resolved.forEach((r, i) => {
    const proto = r.port.protocol.toLowerCase();
    const comment = `"${r.service.namespace}/${r.service.name}:${r.port.port}/${proto}"`;
    // No backends: no rule, so the packet heads for the cluster IP and goes nowhere (kube-proxy rejects; a nat chain cannot).
    if (r.backends.length === 0) return;
    lines.push(`    ip daddr ${r.service.clusterIP} ${proto} dport ${r.port.port} goto svc-${i} comment ${comment}`);
    const chain: string[] = [`  chain svc-${i} {`];
    if (r.backends.length === 1) chain.push(`    goto svc-${i}-ep-0`);
    else chain.push(`    numgen random mod ${r.backends.length} vmap { ${r.backends.map((_, j) => `${j} : goto svc-${i}-ep-${j}`).join(', ')} }`);
    chain.push('  }');
    r.backends.forEach((b, j) =>
      chain.push(
        `  chain svc-${i}-ep-${j} {`,
        // hairpin: a pod reaching itself through its service must not see its own address as source
        `    ip saddr ${b.ip} meta mark set meta mark or ${HAIRPIN_MARK}`,
        `    meta l4proto ${proto} dnat to ${b.ip}:${b.port}`,
        '  }',
      ),
    );
    svcChains.push(...chain);
  });
  lines.push('  }', ...svcChains, '}');
  return lines.join('\n') + '\n';
}

/** Decode a stored v1 Service (undefined when it has no cluster IP to serve). */
export function proxyServiceOf(value: unknown): ProxyService | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as { metadata?: { name?: unknown; namespace?: unknown }; spec?: Record<string, unknown> };
  const name = v.metadata?.name;
  const namespace = v.metadata?.namespace;
  const spec = v.spec ?? {};
  const clusterIP = spec['clusterIP'];
  if (typeof name !== 'string' || typeof namespace !== 'string' || typeof clusterIP !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(clusterIP)) return undefined;
  const selector = (spec['selector'] ?? {}) as Record<string, string>;
  const ports: ProxyServicePort[] = [];
  for (const p of (spec['ports'] ?? []) as { port?: unknown; targetPort?: unknown; protocol?: unknown }[]) {
    if (typeof p.port !== 'number') continue;
    const protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
    const targetPort = typeof p.targetPort === 'number' || (typeof p.targetPort === 'string' && p.targetPort !== '') ? p.targetPort : p.port;
    ports.push({ port: p.port, targetPort, protocol });
  }
  return { namespace, name, clusterIP, selector, ports, affinitySecs: affinitySecsOf(spec, `${namespace}/${name}`) };
}

/**
 * `spec.sessionAffinity` / `sessionAffinityConfig.clientIP.timeoutSeconds` → seconds (0 = none),
 * with Kubernetes' default (10800) and range (1..86400). Stored Services were validated on write;
 * one that was not (written around the API) is refused whole with a coded error naming the field.
 */
export function affinitySecsOf(spec: Readonly<Record<string, unknown>>, subject: string): number {
  const affinity = spec['sessionAffinity'] ?? 'None';
  if (affinity === 'None') return 0;
  if (affinity !== 'ClientIP') {
    throw new TricolorError('ERR_VALIDATION', `Service ${quote(subject)}: spec.sessionAffinity: ${quote(affinity)} is not one of None, ClientIP`, { field: 'spec.sessionAffinity', value: affinity });
  }
  const cfg = spec['sessionAffinityConfig'] as { clientIP?: { timeoutSeconds?: unknown } } | undefined;
  const t = cfg?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) {
    const field = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
    throw new TricolorError('ERR_VALIDATION', `Service ${quote(subject)}: ${field}: ${quote(t)} is out of range: must be an integer between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS}`, { field, value: t });
  }
  return t;
}

/** Decode a stored WorkloadEndpoint (its first IPv4 address). */
export function proxyEndpointOf(value: unknown): ProxyEndpoint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as { metadata?: { namespace?: unknown; labels?: unknown }; spec?: { ipNetworks?: unknown; ports?: unknown } };
  const namespace = v.metadata?.namespace;
  if (typeof namespace !== 'string') return undefined;
  const nets = Array.isArray(v.spec?.ipNetworks) ? (v.spec.ipNetworks as unknown[]) : [];
  const ip = nets.map((n) => String(n).split('/')[0] ?? '').find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  if (ip === undefined) return undefined;
  const ports = (Array.isArray(v.spec?.ports) ? (v.spec.ports as { name?: unknown; port?: unknown; protocol?: unknown }[]) : [])
    .filter((p) => typeof p.name === 'string' && typeof p.port === 'number')
    .map((p) => ({ name: p.name as string, port: p.port as number, protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP' }));
  return { namespace, labels: (v.metadata?.labels ?? {}) as Record<string, string>, ip, ports };
}
