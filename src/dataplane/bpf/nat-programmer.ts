// Services → the BPF NAT maps (kube-proxy replacement), pure. A frontend (cluster IP, port,
// protocol) points at a service id and a backend count; backends are `(svc id, ordinal)` entries.
// A change never edits a live backend list in place: the new list is written under a FRESH
// service id, then the frontend is flipped to it (one hash update), then the old id's entries are
// deleted — so a packet always picks from one complete list, old or new (any prefix is safe).
// ClientIP session affinity: the frontend carries the timeout; the program records each client's
// pick in `natAff` (LRU). Once a plan that removed backends is in force, the entries pinning
// clients to them are deleted (`staleAffinity`), so affinity never outlives its backend.

import { natAffKey, natBeKey, natBeValue, natFeKey, natFeValue, type NatAffEntry } from './encoding.ts';
import type { MapCommand } from './bpf-programmer.ts';

export interface NatFrontend {
  readonly ip: string;
  readonly port: number;
  /** IANA protocol number (6 tcp, 17 udp). */
  readonly protocol: number;
  /** Backends `ip:port`, in the order ordinals are given. */
  readonly backends: readonly { readonly ip: string; readonly port: number }[];
  /** ClientIP session affinity timeout in seconds (0 = none). */
  readonly affinitySecs: number;
}

interface Programmed {
  readonly svc: number;
  readonly count: number;
  readonly sig: string;
  /** Backends `ip:port` in force (undefined: adopted from the kernel, not known). */
  readonly backends: ReadonlySet<string> | undefined;
  readonly affinitySecs: number;
}

const feId = (f: Pick<NatFrontend, 'ip' | 'port' | 'protocol'>): string => `${f.ip}:${f.port}/${f.protocol}`;
const sigOf = (f: NatFrontend): string => `${f.affinitySecs}|${f.backends.map((b) => `${b.ip}:${b.port}`).join(',')}`;

export class NatProgrammer {
  private live = new Map<string, Programmed>();
  private nextSvc = 1;
  private pending: (() => void) | undefined;
  private affinityDirty = false;

  /** Take over what the kernel holds (frontends found at start-up): all replaced on the next plan. */
  adopt(frontends: readonly { ip: string; port: number; protocol: number; svc: number; count: number; affinitySecs: number }[]): void {
    this.live = new Map(frontends.map((f) => [feId(f), { svc: f.svc, count: f.count, sig: '?', backends: undefined, affinitySecs: f.affinitySecs }]));
    this.nextSvc = Math.max(1, ...frontends.map((f) => f.svc + 1));
    this.affinityDirty = true;
  }

  /**
   * Whether the last committed plan may have left affinity entries pointing where they must not
   * (a backend removed from, or affinity turned off on, a frontend that had it; or state adopted):
   * then the caller dumps `natAff` and deletes what `staleAffinity` names.
   */
  get affinityCleanupDue(): boolean {
    return this.affinityDirty;
  }

  /**
   * Affinity entries (keys, hex) to delete now the frontends in force are committed: an entry of
   * a frontend that is gone or has no affinity, or that pins a client to a backend the frontend no
   * longer has — so a client is never sent back to a removed backend (Calico's proxy does the same).
   */
  staleAffinity(entries: readonly NatAffEntry[]): string[] {
    const out: string[] = [];
    for (const e of entries) {
      const f = this.live.get(feId({ ip: e.ip, port: e.port, protocol: e.protocol }));
      const keep = f !== undefined && f.affinitySecs > 0 && f.backends !== undefined && f.backends.has(`${e.backendIP}:${e.backendPort}`);
      if (!keep) out.push(natAffKey(e.ip, e.port, e.protocol, e.client));
    }
    this.affinityDirty = false;
    return out;
  }

  plan(desired: readonly NatFrontend[]): MapCommand[] {
    const early: MapCommand[] = [];
    const flips: MapCommand[] = [];
    const late: MapCommand[] = [];
    const next = new Map<string, Programmed>();
    let svcCounter = this.nextSvc;
    let affinityDirty = this.affinityDirty;
    const dropBackends = (p: Programmed): void => {
      for (let i = 0; i < p.count; i++) late.push({ op: 'delete', map: 'natBe', key: natBeKey(p.svc, i) });
    };
    for (const f of desired) {
      const id = feId(f);
      const sig = sigOf(f);
      const prev = this.live.get(id);
      if (next.has(id)) continue; // the same frontend twice: the first wins
      if (prev !== undefined && prev.sig === sig) {
        next.set(id, prev);
        continue;
      }
      const svc = svcCounter++;
      f.backends.forEach((b, i) => early.push({ op: 'update', map: 'natBe', key: natBeKey(svc, i), value: natBeValue(b.ip, b.port) }));
      flips.push({ op: 'update', map: 'natFe', key: natFeKey(f.ip, f.port, f.protocol), value: natFeValue({ svc, count: f.backends.length, affinitySecs: f.affinitySecs }) });
      const backends = new Set(f.backends.map((b) => `${b.ip}:${b.port}`));
      if (prev !== undefined) {
        dropBackends(prev);
        const lost = prev.backends === undefined || [...prev.backends].some((b) => !backends.has(b));
        if (prev.affinitySecs > 0 && (lost || f.affinitySecs === 0)) affinityDirty = true;
      }
      next.set(id, { svc, count: f.backends.length, sig, backends, affinitySecs: f.affinitySecs });
    }
    for (const [id, p] of this.live) {
      if (next.has(id)) continue;
      if (p.affinitySecs > 0) affinityDirty = true;
      const [ipPort = '', proto = '0'] = id.split('/');
      const i = ipPort.lastIndexOf(':');
      late.unshift({ op: 'delete', map: 'natFe', key: natFeKey(ipPort.slice(0, i), Number(ipPort.slice(i + 1)), Number(proto)) });
      dropBackends(p);
    }
    this.pending = () => {
      this.live = next;
      this.nextSvc = svcCounter;
      this.affinityDirty = affinityDirty;
    };
    return [...early, ...flips, ...late];
  }

  commit(): void {
    this.pending?.();
    this.pending = undefined;
  }

  /** Backends in force per frontend (`ip:port/proto` → `ip:port`), for status and stale-NAT cleanup. */
  get frontendCount(): number {
    return this.live.size;
  }
}
