// The service before DNAT (Felix's lookupcache_services): which Service a connection was sent
// to, from the pre-DNAT destination conntrack keeps (cluster IP, port, protocol). Fed with the
// Kubernetes Services the agent watches; a flow whose original destination is a service port
// carries the service's namespace, name, port name and port.

import type { FlowService } from './flow.ts';

interface ServiceLike {
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
  readonly spec?: unknown;
}

interface ServicePortSpec {
  readonly name?: unknown;
  readonly port?: unknown;
  readonly protocol?: unknown;
}

function entryKey(proto: string, ip: string, port: number): string {
  return `${proto.toLowerCase()}|${ip}|${port}`;
}

export class ServiceIndex {
  /** "namespace/name" → the keys it holds (to remove them on update or delete). */
  private readonly bySvc = new Map<string, string[]>();
  private readonly entries = new Map<string, FlowService>();

  get size(): number {
    return this.bySvc.size;
  }

  /** A Service added or changed (value), or deleted (undefined). */
  update(namespace: string, name: string, value: ServiceLike | undefined): void {
    const id = `${namespace}/${name}`;
    for (const k of this.bySvc.get(id) ?? []) this.entries.delete(k);
    this.bySvc.delete(id);
    if (value === undefined) return;
    const spec = (value.spec ?? {}) as { clusterIP?: unknown; clusterIPs?: unknown; ports?: unknown };
    const ips = new Set<string>();
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None') ips.add(spec.clusterIP);
    if (Array.isArray(spec.clusterIPs)) for (const ip of spec.clusterIPs) if (typeof ip === 'string' && ip !== '' && ip !== 'None') ips.add(ip);
    const keys: string[] = [];
    for (const p of Array.isArray(spec.ports) ? (spec.ports as ServicePortSpec[]) : []) {
      if (typeof p.port !== 'number') continue;
      const proto = typeof p.protocol === 'string' ? p.protocol : 'TCP';
      const svc: FlowService = { namespace, name, portName: typeof p.name === 'string' ? p.name : '', port: p.port };
      for (const ip of ips) {
        const k = entryKey(proto, ip, p.port);
        this.entries.set(k, svc);
        keys.push(k);
      }
    }
    this.bySvc.set(id, keys);
  }

  /** The service a connection to ip:port (before DNAT) was sent to. */
  lookup(proto: string, ip: string, port: number | undefined): FlowService | undefined {
    return port === undefined ? undefined : this.entries.get(entryKey(proto, ip, port));
  }
}
