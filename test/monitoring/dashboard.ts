// The shipped dashboard's panel queries, for the syntax check and the live PromQL check.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DASHBOARDS = resolve(import.meta.dirname, '../../dashboards');

export interface PanelQuery {
  readonly panel: string;
  readonly expr: string;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string; readonly refId: string }>;
}

export function loadDashboard(): { title: string; panels: Panel[] } {
  return JSON.parse(readFileSync(join(DASHBOARDS, 'tricolor.json'), 'utf8')) as { title: string; panels: Panel[] };
}

/** Every panel target's PromQL with Grafana's variables substituted for a plain Prometheus. */
export function panelQueries(rateInterval = '1m'): PanelQuery[] {
  return loadDashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: `${p.title} [${t.refId}]`, expr: t.expr.replaceAll('$__rate_interval', rateInterval) })));
}
