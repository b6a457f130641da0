import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsRegistry, parseMetricsText, quantile } from './metrics.ts';

void describe('metrics registry', () => {
  void it('renders labelled counters and gauges with their types, and collected series', () => {
    const r = new MetricsRegistry();
    const c = r.counter('felix_nft_calls', 'nft runs', { labelNames: ['ip_version'] });
    c.labels('4').inc(2);
    c.labels('6').inc();
    r.gauge('felix_nft_sets', 'sets', { labelNames: ['ip_version'], collect: () => [[{ ip_version: '4' }, 7]] });
    const plain = r.counter('felix_int_dataplane_failures', 'failures');
    plain.inc();
    const text = r.render();
    assert.match(text, /# TYPE felix_nft_calls counter/);
    assert.match(text, /# TYPE felix_int_dataplane_failures counter/);
    const p = parseMetricsText(text);
    assert.equal(p.get('felix_nft_calls{ip_version="4"}'), 2);
    assert.equal(p.get('felix_nft_calls{ip_version="6"}'), 1);
    assert.equal(p.get('felix_nft_sets{ip_version="4"}'), 7);
    assert.equal(p.get('felix_int_dataplane_failures'), 1);
    assert.throws(() => plain.inc(-1), /cannot decrease/);
    assert.throws(() => c.labels('4', 'x'), /takes labels \(ip_version\)/);
    assert.throws(() => r.counter('felix_nft_calls', 'again'), /defined twice/);
    assert.throws(() => r.gauge('bad name', 'x'), /invalid metric name/);
  });

  void it('escapes label values', () => {
    const r = new MetricsRegistry();
    r.gauge('g', 'x', { labelNames: ['v'] }).labels('a"b\\c\nd').set(1);
    assert.match(r.render(), /g\{v="a\\"b\\\\c\\nd"\} 1/);
  });

  void it('a summary exports quantiles over a sliding window plus all-time sum and count (Felix style)', () => {
    let now = 0;
    const r = new MetricsRegistry({ nowMs: () => now });
    const s = r.summary('felix_int_dataplane_apply_time_seconds', 'apply', { maxAgeS: 100, ageBuckets: 5 });
    for (let i = 1; i <= 100; i++) s.observe(i / 100);
    let p = parseMetricsText(r.render());
    assert.equal(p.get('felix_int_dataplane_apply_time_seconds{quantile="0.5"}'), 0.5);
    assert.equal(p.get('felix_int_dataplane_apply_time_seconds{quantile="0.99"}'), 0.99);
    assert.equal(p.get('felix_int_dataplane_apply_time_seconds_count'), 100);
    now = 50_000;
    s.observe(5);
    now = 125_000; // the first window (0..20 s) aged out; only the 5 s observation is left
    p = parseMetricsText(r.render());
    assert.equal(p.get('felix_int_dataplane_apply_time_seconds{quantile="0.5"}'), 5);
    assert.equal(p.get('felix_int_dataplane_apply_time_seconds_count'), 101);
    now = 1_000_000;
    assert.ok(Number.isNaN(parseMetricsText(r.render()).get('felix_int_dataplane_apply_time_seconds{quantile="0.9"}')));
  });

  void it('quantile picks the nearest rank', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
    assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });
});
