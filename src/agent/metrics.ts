// A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
// with fixed buckets, rendered on demand. Series names follow Felix's (node contract §4.21)
// where Felix has one, so existing dashboards keep working.

export interface MetricHelp {
  readonly name: string;
  readonly help: string;
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface Series {
  readonly kind: Kind;
  readonly help: string;
  /** counters/gauges: the value, or a function read at render time. */
  value: number | (() => number);
  readonly buckets?: readonly number[];
  counts?: number[];
  sum?: number;
  count?: number;
}

/** Apply-duration buckets in seconds: 1 ms … 10 s. */
export const APPLY_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export class MetricsRegistry {
  private readonly series = new Map<string, Series>();

  counter(name: string, help: string): { inc(by?: number): void; get(): number } {
    const s: Series = { kind: 'counter', help, value: 0 };
    this.series.set(name, s);
    return {
      inc: (by = 1) => {
        s.value = (s.value as number) + by;
      },
      get: () => s.value as number,
    };
  }

  gauge(name: string, help: string, read?: () => number): { set(v: number): void } {
    const s: Series = { kind: 'gauge', help, value: read ?? 0 };
    this.series.set(name, s);
    return {
      set: (v) => {
        s.value = v;
      },
    };
  }

  histogram(name: string, help: string, buckets: readonly number[]): { observe(v: number): void } {
    const s: Series = { kind: 'histogram', help, value: 0, buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
    this.series.set(name, s);
    return {
      observe: (v) => {
        const counts = s.counts as number[];
        for (let i = 0; i < buckets.length; i++) if (v <= (buckets[i] as number)) counts[i] = (counts[i] as number) + 1;
        s.sum = (s.sum as number) + v;
        s.count = (s.count as number) + 1;
      },
    };
  }

  /** The exposition text (one HELP and TYPE line per series, histogram buckets cumulative). */
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${s.kind}`);
      if (s.kind === 'histogram') {
        const b = s.buckets ?? [];
        const counts = s.counts ?? [];
        for (let i = 0; i < b.length; i++) lines.push(`${name}_bucket{le="${fmt(b[i] as number)}"} ${counts[i] ?? 0}`);
        lines.push(`${name}_bucket{le="+Inf"} ${s.count ?? 0}`, `${name}_sum ${fmt(s.sum ?? 0)}`, `${name}_count ${s.count ?? 0}`);
      } else {
        lines.push(`${name} ${fmt(typeof s.value === 'function' ? s.value() : s.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

/** Parse exposition text into name → value for unlabelled series and `name{labels}` keys (tests, status). */
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
