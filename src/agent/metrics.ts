// The agent's metrics registry is the shared one in src/base (labels, counters, summaries).
export { MetricsRegistry, parseMetricsText, APPLY_BUCKETS_S, registerProcessMetrics } from '../base/index.ts';
