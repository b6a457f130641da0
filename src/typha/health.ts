// Typha's health, as Calico's health aggregator serves it (node contract §6.2: HealthPort 9098,
// `/liveness` and `/readiness`, 200 when every reporter is good, 503 when one is not). Reporters
// are Calico's: `SyncServer` (the listening socket and its housekeeping loop; liveness only, as in
// Calico) and one snapshot cache per syncer type (always live while it runs; ready once its
// syncer is in sync with the datastore). Like Calico, a cache that has been in sync stays ready
// through a datastore outage: it keeps serving the last snapshot it has, and the outage shows in
// the detail.

/** One reporter's state. `ready` undefined: it reports liveness only. */
export interface TyphaHealthReporter {
  readonly name: string;
  readonly live: boolean;
  readonly ready?: boolean;
  readonly detail: string;
}

export interface TyphaHealthReport {
  readonly live: boolean;
  readonly ready: boolean;
  readonly reporters: readonly TyphaHealthReporter[];
}

export function typhaHealthReport(reporters: readonly TyphaHealthReporter[]): TyphaHealthReport {
  return {
    live: reporters.every((r) => r.live),
    ready: reporters.some((r) => r.ready !== undefined) && reporters.every((r) => r.ready !== false),
    reporters,
  };
}

/** The HTTP answer for `path`: 200/503 on `/liveness` and `/readiness`, a line per reporter. */
export function typhaHealthResponse(path: string, report: TyphaHealthReport): { status: number; body: string } {
  const which = path === '/liveness' ? 'live' : path === '/readiness' ? 'ready' : undefined;
  if (which === undefined) return { status: 404, body: 'not found (try /liveness or /readiness)\n' };
  const good = which === 'live' ? report.live : report.ready;
  const lines = report.reporters.map((r) => {
    const state = which === 'live' ? (r.live ? 'live' : 'NOT LIVE') : r.ready === undefined ? '-' : r.ready ? 'ready' : 'NOT READY';
    return `${r.name.padEnd(14)} ${state.padEnd(10)} ${r.detail}`;
  });
  return { status: good ? 200 : 503, body: `${good ? (which === 'live' ? 'live' : 'ready') : which === 'live' ? 'not live' : 'not ready'}\n${lines.join('\n')}\n` };
}
