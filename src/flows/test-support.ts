// A small cluster for flow tests, the UI test and the bench: three namespaces, a default-deny in
// `backend` with an allow for the web tier, and a staged deny-all in `db`; flows are built with
// the real oracle traces (buildFlowRecord), as an agent would send them.

import { PolicyModel, updateOf } from '../calc/index.ts';
import { calicoPolicy, namespace, workload } from '../calc/fixtures.ts';
import { validateResource } from '../api/index.ts';
import type { FlowRecord, FlowStats } from './flow.ts';
import { buildFlowRecord } from './enrich.ts';
import { traceModels } from './policy-trace.ts';
import type { TraceModels } from './policy-trace.ts';
import type { Reporter } from './flow.ts';

export const WEB = '10.0.1.1';
export const API = '10.0.2.1';
export const PG = '10.0.3.1';

export function demoResources() {
  return [
    namespace('frontend'),
    namespace('backend'),
    namespace('db'),
    workload('frontend', 'web-1', WEB, { app: 'web' }, { node: 'node-1' }),
    workload('backend', 'api-1', API, { app: 'api' }, { node: 'node-2' }),
    workload('db', 'pg-1', PG, { app: 'pg' }, { node: 'node-2' }),
    calicoPolicy('backend', 'default-deny', { order: 100, selector: 'all()', types: ['Ingress'] }),
    calicoPolicy('backend', 'allow-web', {
      order: 200,
      selector: "app == 'api'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', source: { namespaceSelector: "projectcalico.org/name == 'frontend'" }, destination: { ports: [8080] } }],
    }),
    validateResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedNetworkPolicy',
      metadata: { name: 'deny-all', namespace: 'db' },
      spec: { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny' }] },
    }),
  ];
}

export function demoModels(): TraceModels {
  return traceModels(PolicyModel.fromUpdates(demoResources().map(updateOf)));
}

export function demoFlow(
  models: TraceModels,
  o: { src: string; dst: string; port: number; reporter?: Reporter; node?: string; start: number; stats?: Partial<FlowStats> },
): FlowRecord {
  const stats: FlowStats = { packetsIn: 10, packetsOut: 8, bytesIn: 1200, bytesOut: 900, started: 1, completed: 1, live: 0, ...o.stats };
  return buildFlowRecord(models, {
    tuple: { srcIP: o.src, dstIP: o.dst, proto: 'tcp', dstPort: o.port },
    reporter: o.reporter ?? 'dst',
    node: o.node ?? 'node-2',
    start: o.start,
    end: o.start + 10,
    stats,
  });
}
