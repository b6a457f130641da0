// The flow collector: joins the dataplane's verdict log (one event per policy decision on a
// connection's first packet, tagged with a rule identity) with conntrack snapshots (per-flow
// packet/byte counters and the flow's end) on the connection tuple, and every flush turns what it
// holds into flow records. Dataplane-neutral: the nftables dataplane feeds it NFLOG events read by
// ulogd and `conntrack -L` snapshots; the eBPF dataplane feeds it policy-verdict events (rule IDs
// mapped to the same identities) and its own conntrack map.
//
// As in Felix (observability contract §1.2): a connection's counters are reported as deltas per
// window; TCP at TIME_WAIT or later counts as completed; a connection that leaves conntrack is
// completed; a denied connection never gets a confirmed conntrack entry, so it lives from the log
// alone and ages out after `ageTimeoutS`.

import type { FlowAction, FlowRecord, FlowService, FlowStats, PolicyHit, PolicyRef, Reporter } from './flow.ts';
import { flowKey, mergeFlows } from './flow.ts';
import { buildFlowRecord } from './enrich.ts';
import { TraceCache } from './policy-trace.ts';
import type { TraceModels } from './policy-trace.ts';
import { NFLOG_GROUP_INGRESS, hitOf } from './rule-id.ts';
import type { RuleIdLookup } from './rule-id.ts';

export interface VerdictEvent {
  readonly prefix: string;
  /** 1 = ingress (reported by the destination side), 2 = egress (by the source side). */
  readonly group: number;
  readonly srcIP: string;
  readonly dstIP: string;
  /** IP protocol number. */
  readonly proto: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly timeS: number;
}

export interface ConntrackEntry {
  readonly proto: number;
  readonly origSrc: string;
  readonly origDst: string;
  readonly origSport?: number;
  readonly origDport?: number;
  /** Reply direction's source: the real destination after DNAT. */
  readonly replySrc: string;
  readonly replySport?: number;
  readonly packetsOrig: number;
  readonly bytesOrig: number;
  readonly packetsReply: number;
  readonly bytesReply: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, …), undefined for other protocols. */
  readonly state?: string;
}

interface Counters {
  po: number;
  bo: number;
  pr: number;
  br: number;
}

interface Conn {
  readonly reporter: Reporter;
  readonly srcIP: string;
  readonly dstIP: string;
  readonly proto: number;
  readonly srcPort: number | undefined;
  readonly dstPort: number | undefined;
  readonly prefixes: string[];
  /** Per tier: the policy that triggered an end-of-tier verdict, from the policies in force when it was logged. */
  readonly triggers: Map<string, PolicyRef>;
  readonly firstS: number;
  lastS: number;
  readonly counters: Counters;
  readonly reported: Counters;
  startedReported: boolean;
  completedReported: boolean;
  done: boolean;
  inConntrack: boolean;
  /** The pre-DNAT destination, when conntrack shows one. */
  origDst?: string;
  origDport?: number;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };
const FINISHED_TCP = new Set(['TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'FIN_WAIT']);

function connKey(proto: number, src: string, sport: number | undefined, dst: string, dport: number | undefined): string {
  return `${proto}|${src}|${sport ?? 0}|${dst}|${dport ?? 0}`;
}

function tupleOf(c: Conn): { srcIP: string; dstIP: string; proto: string; dstPort?: number; srcPort?: number } {
  const proto = PROTO_NAMES[c.proto] ?? String(c.proto);
  return { srcIP: c.srcIP, dstIP: c.dstIP, proto, ...(c.dstPort === undefined ? {} : { dstPort: c.dstPort }), ...(c.srcPort === undefined ? {} : { srcPort: c.srcPort }) };
}

function actionOfPrefix(p: string): FlowAction | undefined {
  const c = p[0];
  return c === 'A' ? 'allow' : c === 'D' ? 'deny' : c === 'P' ? 'pass' : undefined;
}

/** Pre-DNAT destination → Service (the agent's ServiceIndex). */
export interface ServiceLookup {
  lookup(proto: string, ip: string, port: number | undefined): FlowService | undefined;
}

export interface CollectorOptions {
  readonly node: string;
  /** How long a connection with no conntrack entry (denied) is kept after its last event. */
  readonly ageTimeoutS?: number;
  /** Cap on connections held (a flood of new connections cannot grow memory without bound). */
  readonly maxConnections?: number;
  /**
   * How long an allowed connection not yet seen in conntrack is held back from a flush (one
   * conntrack poll, 5 s, and a little): its first record then carries conntrack's counters and
   * the service before DNAT, instead of a record without them followed by one with them.
   */
  readonly conntrackGraceS?: number;
}

/** The policies in force when a verdict is read (the agent's current ones). */
export interface VerdictContext {
  readonly models: TraceModels;
  readonly lookup: RuleIdLookup;
}

export interface CollectorStats {
  verdicts: number;
  dropped: number;
  flushed: number;
}

export class FlowCollector {
  private readonly conns = new Map<string, Conn>();
  private readonly opts: Required<CollectorOptions>;
  private lastFlushS: number | undefined;
  private verdictTraces: TraceCache | undefined;
  private verdictModels: TraceModels | undefined;
  readonly stats: CollectorStats = { verdicts: 0, dropped: 0, flushed: 0 };

  constructor(opts: CollectorOptions) {
    this.opts = { ageTimeoutS: 10, maxConnections: 200_000, conntrackGraceS: 6, ...opts };
  }

  get size(): number {
    return this.conns.size;
  }

  /**
   * One verdict log event. With `at` (the policies in force now, a fraction of a second after the
   * packet), an end-of-tier verdict's trigger is taken at once: by the flush the policies may have
   * changed (a demo or a user adding the allow right after the deny), and the oracle then no longer
   * ends in that tier, so the trigger would be lost.
   */
  addVerdict(ev: VerdictEvent, at?: VerdictContext): void {
    this.stats.verdicts++;
    const reporter: Reporter = ev.group === NFLOG_GROUP_INGRESS ? 'dst' : 'src';
    const k = `${reporter}|${connKey(ev.proto, ev.srcIP, ev.srcPort, ev.dstIP, ev.dstPort)}`;
    let c = this.conns.get(k);
    if (c === undefined) {
      if (this.conns.size >= this.opts.maxConnections) {
        this.stats.dropped++;
        return;
      }
      c = {
        reporter,
        srcIP: ev.srcIP,
        dstIP: ev.dstIP,
        proto: ev.proto,
        srcPort: ev.srcPort,
        dstPort: ev.dstPort,
        prefixes: [],
        triggers: new Map(),
        firstS: ev.timeS,
        lastS: ev.timeS,
        counters: { po: 0, bo: 0, pr: 0, br: 0 },
        reported: { po: 0, bo: 0, pr: 0, br: 0 },
        startedReported: false,
        completedReported: false,
        done: false,
        inConntrack: false,
      };
      this.conns.set(k, c);
    }
    c.lastS = Math.max(c.lastS, ev.timeS);
    // One packet logs every decision point it passes (a pass in one tier, then an allow): the
    // ordered prefixes are the trace. Retransmitted first packets log again: keep each once.
    if (!c.prefixes.includes(ev.prefix)) c.prefixes.push(ev.prefix);
    if (at !== undefined) this.takeTrigger(c, ev.prefix, at);
  }

  private takeTrigger(c: Conn, prefix: string, at: VerdictContext): void {
    const id = at.lookup.resolve(prefix);
    if (id?.owner !== 'end-of-tier' || c.triggers.has(id.tier)) return;
    if (this.verdictModels !== at.models) {
      this.verdictModels = at.models;
      this.verdictTraces = new TraceCache(at.models);
    }
    const traces = this.verdictTraces?.get(tupleOf(c), c.reporter);
    const trigger = traces?.enforced.find((h) => h.kind === 'EndOfTier' && h.tier === id.tier)?.trigger;
    if (trigger !== undefined) c.triggers.set(id.tier, trigger);
  }

  /** A full conntrack snapshot: counters for the connections we know, and which have ended. */
  updateConntrack(entries: readonly ConntrackEntry[], nowS: number): void {
    const seen = new Set<Conn>();
    for (const e of entries) {
      const post = connKey(e.proto, e.origSrc, e.origSport, e.replySrc, e.replySport);
      for (const reporter of ['src', 'dst'] as const) {
        const c = this.conns.get(`${reporter}|${post}`);
        if (c === undefined) continue;
        seen.add(c);
        c.inConntrack = true;
        c.lastS = nowS;
        c.counters.po = e.packetsOrig;
        c.counters.bo = e.bytesOrig;
        c.counters.pr = e.packetsReply;
        c.counters.br = e.bytesReply;
        if (e.replySrc !== e.origDst) {
          c.origDst = e.origDst;
          if (e.origDport !== undefined) c.origDport = e.origDport;
        }
        if (e.state !== undefined && FINISHED_TCP.has(e.state)) c.done = true;
      }
    }
    for (const c of this.conns.values()) if (c.inConntrack && !seen.has(c)) c.done = true;
  }

  /** Flow records for the window since the last flush; forgets finished connections. */
  flush(nowS: number, models: TraceModels, lookup: RuleIdLookup, services?: ServiceLookup): FlowRecord[] {
    const windowStart = this.lastFlushS ?? nowS - 1;
    this.lastFlushS = nowS;
    const out = new Map<string, FlowRecord>();
    const traces = new TraceCache(models);
    for (const [k, c] of this.conns) {
      const allowed = actionOfPrefix(c.prefixes[c.prefixes.length - 1] ?? '') === 'allow';
      if (allowed && !c.inConntrack && !c.startedReported && nowS - c.firstS < this.opts.conntrackGraceS) continue;
      const stats = this.delta(c);
      const expired = !c.inConntrack && nowS - c.lastS >= this.opts.ageTimeoutS;
      const changed = !c.startedReported || stats.packetsIn + stats.packetsOut > 0 || (c.done && !c.completedReported);
      if (changed || (!c.done && c.inConntrack)) {
        const r = this.record(c, stats, Math.min(Math.max(windowStart, c.firstS), nowS), nowS, models, lookup, services, traces);
        if (r !== undefined) {
          const fk = flowKey(r);
          const prev = out.get(fk);
          out.set(fk, prev === undefined ? r : mergeFlows(prev, r));
        }
        c.startedReported = true;
        if (c.done) c.completedReported = true;
        Object.assign(c.reported, c.counters);
      }
      if ((c.done && c.completedReported) || expired) this.conns.delete(k);
    }
    this.stats.flushed += out.size;
    return [...out.values()];
  }

  private delta(c: Conn): FlowStats {
    const d = { po: c.counters.po - c.reported.po, bo: c.counters.bo - c.reported.bo, pr: c.counters.pr - c.reported.pr, br: c.counters.br - c.reported.br };
    // The destination receives the original direction; the source sends it.
    const [packetsIn, bytesIn, packetsOut, bytesOut] = c.reporter === 'dst' ? [d.po, d.bo, d.pr, d.br] : [d.pr, d.br, d.po, d.bo];
    return {
      packetsIn: Math.max(0, packetsIn),
      packetsOut: Math.max(0, packetsOut),
      bytesIn: Math.max(0, bytesIn),
      bytesOut: Math.max(0, bytesOut),
      started: c.startedReported ? 0 : 1,
      completed: c.done && !c.completedReported ? 1 : 0,
      live: c.done || !c.inConntrack ? 0 : 1,
    };
  }

  private record(c: Conn, stats: FlowStats, start: number, end: number, models: TraceModels, lookup: RuleIdLookup, services: ServiceLookup | undefined, traces: TraceCache): FlowRecord | undefined {
    const proto = PROTO_NAMES[c.proto] ?? String(c.proto);
    // The service before DNAT: conntrack's original destination, when it differs from the real one.
    const service = c.origDst === undefined ? undefined : services?.lookup(proto, c.origDst, c.origDport);
    const base = buildFlowRecord(models, {
      ...(service === undefined ? {} : { service }),
      tuple: tupleOf(c),
      reporter: c.reporter,
      node: this.opts.node,
      start: Math.floor(start),
      end: Math.max(Math.floor(end), Math.floor(start)),
      stats,
    }, traces);
    // The logged trace is what the dataplane did; the oracle's trace only fills in what a log
    // prefix cannot carry (the tier through the lookup, the end-of-tier trigger — taken when the
    // verdict was read, else from the policies in force now).
    const enforced: PolicyHit[] = [];
    let action: FlowAction | undefined;
    for (const p of c.prefixes) {
      const id = lookup.resolve(p);
      if (id === undefined) continue;
      const oracle = base.policies.enforced.find((h) => h.kind === 'EndOfTier' && id.owner === 'end-of-tier' && h.tier === id.tier);
      const taken = id.owner === 'end-of-tier' ? c.triggers.get(id.tier) : undefined;
      enforced.push(hitOf(id, enforced.length, taken ?? oracle?.trigger));
      const a = actionOfPrefix(p);
      if (a === 'allow' || a === 'deny') action = a;
    }
    if (enforced.length === 0) return base;
    return { ...base, action: action ?? base.action, policies: { enforced, pending: base.policies.pending } };
  }
}
