export * from './errors.ts';
export * from './random.ts';
export {
  MetricsRegistry,
  parseMetricsText,
  registerProcessMetrics,
  quantile,
  APPLY_BUCKETS_S,
  SUMMARY_QUANTILES,
  type Labels,
  type Counter,
  type Gauge,
  type Observer,
  type Collect,
} from './metrics.ts';
export * from './lifecycle.ts';
export * from './async.ts';
export * from './log.ts';
export * from './datastore-env.ts';
