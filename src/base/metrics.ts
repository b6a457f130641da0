// A Prometheus registry (text exposition format 0.0.4) for every Tricolor process: counters,
// gauges, histograms and summaries, each with optional labels. Series names follow Felix's
// where Felix has one, with Felix's types (a counter is a counter, the apply/update times are
// summaries with quantiles 0.5/0.9/0.99 over a sliding window, as Felix's prometheus.Summary
// defaults), so the official Felix dashboard's queries find what they expect.
//
// A series either holds values (`inc`, `set`, `observe`, per label set) or is *collected*: a
// function read at render time that returns the current values, for figures that live elsewhere
// (map sizes, kernel counters) and would otherwise be copied on every change.

export type Labels = Readonly<Record<string, string>>;
export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Apply-duration buckets in seconds: 1 ms … 10 s. */
export const APPLY_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const SUMMARY_QUANTILES: readonly number[] = [0.5, 0.9, 0.99];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export interface CounterChild {
  inc(by?: number): void;
  get(): number;
}
export interface Counter extends CounterChild {
  labels(...values: string[]): CounterChild;
}
export interface GaugeChild {
  set(v: number): void;
  inc(by?: number): void;
  get(): number;
}
export interface Gauge extends GaugeChild {
  labels(...values: string[]): GaugeChild;
  /** Forget every labelled child (for gauges whose label sets come and go). */
  reset(): void;
}
export interface ObserverChild {
  observe(v: number): void;
}
export interface Observer extends ObserverChild {
  labels(...values: string[]): ObserverChild;
}

export interface MetricOptions {
  readonly labelNames?: readonly string[];
}

/** A collected series: its current samples, read at render time. */
export type Collect = () => number | ReadonlyArray<readonly [Labels, number]>;

interface HistState {
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations kept per age bucket so quantiles cover a sliding window (Felix: 10 min, 5 buckets). */
interface SummaryState {
  readonly windows: Array<{ readonly startMs: number; readonly values: number[] }>;
  sum: number;
  count: number;
}

interface Family {
  readonly name: string;
  readonly kind: MetricKind;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly values: Map<string, { readonly labelValues: readonly string[]; v: number; hist?: HistState; summary?: SummaryState }>;
  readonly collect?: Collect;
  readonly buckets?: readonly number[];
  readonly maxAgeMs?: number;
  readonly ageBuckets?: number;
  readonly maxSamples?: number;
}

export interface SummaryOptions extends MetricOptions {
  readonly maxAgeS?: number;
  readonly ageBuckets?: number;
  /** Cap on observations kept per window bucket (reservoir: later ones replace at random). */
  readonly maxSamples?: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();
  private readonly now: () => number;

  constructor(options: { readonly nowMs?: () => number } = {}) {
    this.now = options.nowMs ?? Date.now;
  }

  private define(f: Omit<Family, 'values'>): Family {
    if (!NAME_RE.test(f.name)) throw new Error(`metrics: invalid metric name ${JSON.stringify(f.name)}`);
    for (const l of f.labelNames) if (!LABEL_RE.test(l) || l === 'le' || l === 'quantile') throw new Error(`metrics: invalid label name ${JSON.stringify(l)} on ${f.name}`);
    if (this.families.has(f.name)) throw new Error(`metrics: ${f.name} defined twice`);
    const fam: Family = { ...f, values: new Map() };
    this.families.set(f.name, fam);
    return fam;
  }

  private child(fam: Family, labelValues: readonly string[]) {
    if (labelValues.length !== fam.labelNames.length) {
      throw new Error(`metrics: ${fam.name} takes labels (${fam.labelNames.join(', ')}), got ${labelValues.length} values`);
    }
    const key = labelValues.join('\u0000');
    let c = fam.values.get(key);
    if (c === undefined) {
      c = { labelValues: [...labelValues], v: 0 };
      if (fam.kind === 'histogram') c.hist = { counts: (fam.buckets ?? []).map(() => 0), sum: 0, count: 0 };
      if (fam.kind === 'summary') c.summary = { windows: [], sum: 0, count: 0 };
      fam.values.set(key, c);
    }
    return c;
  }

  counter(name: string, help: string, options: MetricOptions & { readonly collect?: Collect } = {}): Counter {
    const fam = this.define({ name, kind: 'counter', help, labelNames: options.labelNames ?? [], ...(options.collect === undefined ? {} : { collect: options.collect }) });
    const mk = (values: readonly string[]): CounterChild => {
      const c = this.child(fam, values);
      return {
        inc: (by = 1) => {
          if (by < 0) throw new Error(`metrics: counter ${name} cannot decrease`);
          c.v += by;
        },
        get: () => c.v,
      };
    };
    const root = fam.labelNames.length === 0 && options.collect === undefined ? mk([]) : undefined;
    return {
      inc: (by) => (root ?? mk([])).inc(by),
      get: () => root?.get() ?? 0,
      labels: (...values) => mk(values),
    };
  }

  /** A gauge; `read` (legacy form) or `options.collect` makes it a collected series. */
  gauge(name: string, help: string, read?: (() => number) | (MetricOptions & { readonly collect?: Collect })): Gauge {
    const options = typeof read === 'function' ? { collect: read } : (read ?? {});
    const fam = this.define({ name, kind: 'gauge', help, labelNames: options.labelNames ?? [], ...(options.collect === undefined ? {} : { collect: options.collect }) });
    const mk = (values: readonly string[]): GaugeChild => {
      const c = this.child(fam, values);
      return {
        set: (v) => {
          c.v = v;
        },
        inc: (by = 1) => {
          c.v += by;
        },
        get: () => c.v,
      };
    };
    const root = fam.labelNames.length === 0 && options.collect === undefined ? mk([]) : undefined;
    return {
      set: (v) => (root ?? mk([])).set(v),
      inc: (by) => (root ?? mk([])).inc(by),
      get: () => root?.get() ?? 0,
      labels: (...values) => mk(values),
      reset: () => {
        if (fam.labelNames.length > 0) fam.values.clear();
      },
    };
  }

  histogram(name: string, help: string, buckets: readonly number[], options: MetricOptions = {}): Observer {
    const fam = this.define({ name, kind: 'histogram', help, labelNames: options.labelNames ?? [], buckets });
    const mk = (values: readonly string[]): ObserverChild => {
      const h = this.child(fam, values).hist as HistState;
      return {
        observe: (v) => {
          for (let i = 0; i < buckets.length; i++) if (v <= (buckets[i] as number)) h.counts[i] = (h.counts[i] as number) + 1;
          h.sum += v;
          h.count++;
        },
      };
    };
    const root = fam.labelNames.length === 0 ? mk([]) : undefined;
    return { observe: (v) => (root ?? mk([])).observe(v), labels: (...values) => mk(values) };
  }

  /**
   * A summary with quantiles 0.5/0.9/0.99 over a sliding window (default 10 minutes in 5 age
   * buckets, Felix's prometheus.Summary defaults), plus `_sum` and `_count` over all time.
   */
  summary(name: string, help: string, options: SummaryOptions = {}): Observer {
    const maxAgeMs = (options.maxAgeS ?? 600) * 1000;
    const ageBuckets = options.ageBuckets ?? 5;
    const maxSamples = options.maxSamples ?? 2000;
    const fam = this.define({ name, kind: 'summary', help, labelNames: options.labelNames ?? [], maxAgeMs, ageBuckets, maxSamples });
    const width = maxAgeMs / ageBuckets;
    const mk = (values: readonly string[]): ObserverChild => {
      const s = this.child(fam, values).summary as SummaryState;
      return {
        observe: (v) => {
          const now = this.now();
          let w = s.windows[s.windows.length - 1];
          if (w === undefined || now - w.startMs >= width) {
            w = { startMs: now, values: [] };
            s.windows.push(w);
          }
          if (w.values.length < maxSamples) w.values.push(v);
          else w.values[Math.floor(Math.random() * maxSamples)] = v;
          s.sum += v;
          s.count++;
        },
      };
    };
    const root = fam.labelNames.length === 0 ? mk([]) : undefined;
    return { observe: (v) => (root ?? mk([])).observe(v), labels: (...values) => mk(values) };
  }

  /** The exposition text: one HELP and TYPE line per family, then its samples. */
  render(): string {
    const lines: string[] = [];
    const now = this.now();
    for (const fam of this.families.values()) {
      lines.push(`# HELP ${fam.name} ${fam.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${fam.name} ${fam.kind}`);
      if (fam.collect !== undefined) {
        const got = fam.collect();
        if (typeof got === 'number') lines.push(`${fam.name} ${fmt(got)}`);
        else for (const [labels, v] of got) lines.push(`${fam.name}${labelText(Object.keys(labels), Object.values(labels))} ${fmt(v)}`);
        continue;
      }
      if (fam.values.size === 0 && fam.labelNames.length === 0) this.child(fam, []);
      for (const c of fam.values.values()) {
        const ln = fam.labelNames;
        const lv = c.labelValues;
        if (fam.kind === 'histogram') {
          const h = c.hist as HistState;
          const b = fam.buckets ?? [];
          for (let i = 0; i < b.length; i++) lines.push(`${fam.name}_bucket${labelText(ln, lv, `le="${fmt(b[i] as number)}"`)} ${h.counts[i] ?? 0}`);
          lines.push(`${fam.name}_bucket${labelText(ln, lv, 'le="+Inf"')} ${h.count}`, `${fam.name}_sum${labelText(ln, lv)} ${fmt(h.sum)}`, `${fam.name}_count${labelText(ln, lv)} ${h.count}`);
        } else if (fam.kind === 'summary') {
          const s = c.summary as SummaryState;
          const cutoff = now - (fam.maxAgeMs ?? 600_000);
          while (s.windows.length > 0 && (s.windows[0] as { startMs: number }).startMs + (fam.maxAgeMs ?? 0) / (fam.ageBuckets ?? 1) <= cutoff) s.windows.shift();
          const vals = s.windows.flatMap((w) => w.values).sort((a, b) => a - b);
          for (const q of SUMMARY_QUANTILES) lines.push(`${fam.name}${labelText(ln, lv, `quantile="${q}"`)} ${fmt(quantile(vals, q))}`);
          lines.push(`${fam.name}_sum${labelText(ln, lv)} ${fmt(s.sum)}`, `${fam.name}_count${labelText(ln, lv)} ${s.count}`);
        } else {
          lines.push(`${fam.name}${labelText(ln, lv)} ${fmt(c.v)}`);
        }
      }
    }
    return lines.join('\n') + '\n';
  }
}

/** Parse exposition text into `name` / `name{labels}` → value (tests, status). */
export function parseMetricsText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) continue;
    out.set(line.slice(0, sp), Number(line.slice(sp + 1).replace('+Inf', 'Infinity')));
  }
  return out;
}

/** Process series every Tricolor daemon exports (Prometheus client conventions). */
export function registerProcessMetrics(r: MetricsRegistry, startedAt: Date): void {
  r.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', {
    collect: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
  });
  r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage().rss);
  r.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startedAt.getTime() / 1000);
  r.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', () => process.memoryUsage().heapUsed);
  r.gauge('nodejs_heap_size_total_bytes', 'V8 heap allocated, in bytes.', () => process.memoryUsage().heapTotal);
}
