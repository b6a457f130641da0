// The Kubernetes kinds Tricolor stores beside Calico's: v1 Namespace, Pod, ServiceAccount,
// Service and networking.k8s.io/v1 NetworkPolicy. Only the fields the system uses are known;
// anything else is rejected by path. Defaults follow the Kubernetes API server's
// (protocol TCP, policyTypes from the presence of egress rules, service type ClusterIP).

import type { KindSpec } from './kind-spec.ts';
import {
  cidrSchema,
  ianaServiceNameProblem,
  ipSchema,
  labelMap,
  labelNameProblem,
  parseCIDRLoose,
  portNumberSchema,
  qualifiedNameProblem,
  subdomain,
} from './scalars.ts';
import { cidrContainsCIDR } from '../net/index.ts';
import { type Fields, type Obj, type Schema, anyJSON, arr, at, bool, fail, failField, int, join, obj, oneOf, str } from './schema.ts';
import { POLICY_TYPES } from './types.ts';

const K8S_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
/** Service `spec.sessionAffinity` values, and the ClientIP timeout's default and ceiling (Kubernetes'). */
export const SESSION_AFFINITIES = ['None', 'ClientIP'] as const;
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

const labelSelectorSchema = obj({
  matchLabels: labelMap,
  matchExpressions: arr(
    obj<{ key: string; operator: string; values?: string[] }>(
      {
        key: str(qualifiedNameProblem),
        operator: oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
        values: arr(str()),
      },
      {
        required: ['key', 'operator'],
        check: (e, path, ctx) => {
          const n = e.values?.length ?? 0;
          if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) {
            failField(ctx, join(path, 'values'), `must be non-empty when operator is ${e.operator}`);
          }
          if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) {
            failField(ctx, join(path, 'values'), `must be empty when operator is ${e.operator}`);
          }
        },
      },
    ),
  ),
});

/** A port number or an IANA service name (Kubernetes IntOrString ports). */
const intOrNamedPort: Schema<number | string> = (v, path, ctx) => {
  if (typeof v === 'number') return portNumberSchema(v, path, ctx);
  if (typeof v !== 'string') return fail(ctx, path, v, 'is not a valid port: expected a number or a port name');
  const problem = ianaServiceNameProblem(v);
  return problem === undefined ? v : fail(ctx, path, v, problem);
};

const npPortSchema = obj<{ protocol?: string; port?: number | string; endPort?: number }>(
  { protocol: oneOf(K8S_PROTOCOLS), port: intOrNamedPort, endPort: portNumberSchema },
  {
    check: (p, path, ctx) => {
      p.protocol ??= 'TCP';
      if (p.endPort === undefined) return;
      if (typeof p.port !== 'number') failField(ctx, join(path, 'endPort'), 'may only be set when port is a number');
      else if (p.endPort < p.port) fail(ctx, join(path, 'endPort'), p.endPort, `must be greater than or equal to port (${p.port})`);
    },
  },
);

const ipBlockSchema = obj<{ cidr: string; except?: string[] }>(
  { cidr: cidrSchema(), except: arr(cidrSchema()) },
  {
    required: ['cidr'],
    check: (b, path, ctx) => {
      const outer = parseCIDRLoose(b.cidr);
      (b.except ?? []).forEach((e, i) => {
        const inner = parseCIDRLoose(e);
        if (outer !== undefined && inner !== undefined && !(cidrContainsCIDR(outer, inner) && inner.prefixLength > outer.prefixLength)) {
          fail(ctx, at(join(path, 'except'), i), e, `must be strictly within cidr ${JSON.stringify(b.cidr)}`);
        }
      });
    },
  },
);

const peerSchema = obj<Obj>(
  { podSelector: labelSelectorSchema, namespaceSelector: labelSelectorSchema, ipBlock: ipBlockSchema },
  {
    check: (p, path, ctx) => {
      const n = Object.keys(p).length;
      if (n === 0) failField(ctx, path, 'must specify one of podSelector, namespaceSelector or ipBlock');
      if (p['ipBlock'] !== undefined && n > 1) failField(ctx, join(path, 'ipBlock'), 'may not be combined with podSelector or namespaceSelector');
    },
  },
);

export const k8sNetworkPolicySpecFields: Fields = {
  podSelector: labelSelectorSchema,
  ingress: arr(obj({ ports: arr(npPortSchema), from: arr(peerSchema) })),
  egress: arr(obj({ ports: arr(npPortSchema), to: arr(peerSchema) })),
  policyTypes: arr(oneOf(POLICY_TYPES), { unique: true, max: 2 }),
};

/** Kubernetes defaulting: Ingress always, Egress too when egress rules are present. */
export function k8sPolicyTypesDefault(spec: Obj): ('Ingress' | 'Egress')[] {
  return spec['egress'] !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
}

export const k8sNetworkPolicySpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(k8sNetworkPolicySpecFields),
  finish: (res) => {
    const spec = (res.spec ??= {});
    spec['podSelector'] ??= {};
    spec['policyTypes'] ??= k8sPolicyTypesDefault(spec);
  },
};

export const namespaceSpec: KindSpec = {
  name: (n) => labelNameProblem(n),
  spec: obj({ finalizers: arr(str()) }),
  status: obj({ phase: oneOf(['Active', 'Terminating'] as const) }),
  finish: (res) => {
    // The API server always labels a namespace with its own name.
    res.metadata.labels = { ...res.metadata.labels, 'kubernetes.io/metadata.name': res.metadata.name };
  },
};

export const serviceAccountSpec: KindSpec = {};

const containerPortSchema = obj<{ name?: string; containerPort: number; protocol?: string }>(
  { name: str(ianaServiceNameProblem), containerPort: portNumberSchema, protocol: oneOf(K8S_PROTOCOLS) },
  {
    required: ['containerPort'],
    check: (p) => {
      p.protocol ??= 'TCP';
    },
  },
);

export const podSpec: KindSpec = {
  spec: obj(
    {
      nodeName: subdomain,
      serviceAccountName: subdomain,
      hostNetwork: bool,
      containers: arr(
        obj({ name: str(labelNameProblem), image: str(), ports: arr(containerPortSchema) }, { required: ['name'] }),
        { min: 1 },
      ),
    },
    {
      required: ['containers'],
      check: (s) => {
        s['serviceAccountName'] ??= 'default';
      },
    },
  ),
  status: obj({
    phase: oneOf(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const),
    podIP: ipSchema(),
    podIPs: arr(obj({ ip: ipSchema() }, { required: ['ip'] })),
  }),
};

const clusterIPSchema: Schema<string> = (v, path, ctx) => (v === 'None' || v === '' ? v : ipSchema()(v, path, ctx));

export const serviceSpec: KindSpec = {
  name: (n) => labelNameProblem(n),
  specDefaultsWhenAbsent: true,
  spec: obj({
    selector: labelMap,
    ports: arr(
      obj<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>(
        { name: str(ianaServiceNameProblem), port: portNumberSchema, targetPort: intOrNamedPort, protocol: oneOf(K8S_PROTOCOLS) },
        {
          required: ['port'],
          check: (p) => {
            p.protocol ??= 'TCP';
            p.targetPort ??= p.port;
          },
        },
      ),
    ),
    clusterIP: clusterIPSchema,
    clusterIPs: arr(clusterIPSchema, { max: 2 }),
    type: oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const),
    sessionAffinity: oneOf(SESSION_AFFINITIES),
    sessionAffinityConfig: obj({ clientIP: obj({ timeoutSeconds: int(1, MAX_AFFINITY_TIMEOUT_SECONDS) }) }),
  }, {
    // Kubernetes' rules: the config belongs to ClientIP affinity only; ClientIP defaults its timeout.
    check: (s: Obj, path, ctx) => {
      const affinity = s['sessionAffinity'] ?? 'None';
      if (affinity === 'None' && s['sessionAffinityConfig'] !== undefined) {
        failField(ctx, join(path, 'sessionAffinityConfig'), 'must not be set when sessionAffinity is None');
        return;
      }
      if (affinity === 'ClientIP') {
        const c = (s['sessionAffinityConfig'] ??= {}) as Obj;
        const ip = (c['clientIP'] ??= {}) as Obj;
        ip['timeoutSeconds'] ??= DEFAULT_AFFINITY_TIMEOUT_SECONDS;
      }
    },
  }),
  status: anyJSON,
  finish: (res) => {
    const spec = (res.spec ??= {});
    spec['type'] ??= 'ClusterIP';
    spec['sessionAffinity'] ??= 'None';
  },
};
