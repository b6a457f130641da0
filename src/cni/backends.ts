// The CNI ports over the real datastore (embedded SQLite or etcd) and the block IPAM. Which
// datastore: the process environment (DATASTORE_TYPE, ETCD_*, TRICOLOR_DATASTORE_PATH, as
// every Tricolor process), overridden by the netconf fields `datastore_type`, `etcd_*` and
// `datastore_path` when present.

import { isTricolorError } from '../base/index.ts';
import { resolveResourceType, resourceKeyPrefix, type Pod, type WorkloadEndpoint, type ClusterInformation } from '../api/index.ts';
import { datastoreConfigFromEnv, openBackend, ResourceClient, type DatastoreBackend, type DatastoreConfig } from '../datastore/index.ts';
import { resolve } from 'node:path';
import { IPAMCache, IPAMClient } from '../ipam/index.ts';
import type { NetConf } from './netconf.ts';
import type { CniBackends } from './ports.ts';

/** The environment the datastore is configured from: process env plus netconf overrides. */
export function datastoreEnv(conf: NetConf, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  if (conf.datastoreType !== undefined) out.DATASTORE_TYPE = conf.datastoreType;
  if (conf.etcdEndpoints !== undefined) out.ETCD_ENDPOINTS = conf.etcdEndpoints;
  if (conf.etcdCaCertFile !== undefined) out.ETCD_CA_CERT_FILE = conf.etcdCaCertFile;
  if (conf.etcdCertFile !== undefined) out.ETCD_CERT_FILE = conf.etcdCertFile;
  if (conf.etcdKeyFile !== undefined) out.ETCD_KEY_FILE = conf.etcdKeyFile;
  if (conf.datastorePath !== undefined) out.TRICOLOR_DATASTORE_PATH = conf.datastorePath;
  return out;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isTricolorError(e, 'ERR_NOT_FOUND')) return undefined;
    throw e;
  }
}

export async function openCniBackends(conf: NetConf, env: NodeJS.ProcessEnv): Promise<CniBackends> {
  const backend = await openBackend(datastoreConfigFromEnv(datastoreEnv(conf, env)));
  return cniBackendsOver(backend, () => backend.close());
}

/**
 * The ports over an already-open backend. `close` is what closing the ports does: the node
 * agent's CNI server passes a no-op, since its backend outlives every request.
 */
export function cniBackendsOver(backend: DatastoreBackend, close: () => Promise<void>, ipamClientOf: () => Promise<IPAMClient> = () => Promise.resolve(new IPAMClient({ backend }))): CniBackends {
  const client = new ResourceClient(backend);
  let ipamClientP: Promise<IPAMClient> | undefined;
  const ipam = (): Promise<IPAMClient> => (ipamClientP ??= ipamClientOf());
  const wepInfo = resolveResourceType('workloadendpoint');
  const podInfo = resolveResourceType('pod');
  const ciInfo = resolveResourceType('clusterinformation');
  return {
    store: {
      getPod: (ns, name) => orUndefined(client.get(podInfo, name, ns)) as Promise<Pod | undefined>,
      getWorkloadEndpoint: (ns, name) => orUndefined(client.get(wepInfo, name, ns)) as Promise<WorkloadEndpoint | undefined>,
      listWorkloadEndpoints: async (ns, namePrefix) => {
        if (namePrefix === undefined) return (await client.list(wepInfo, ns)).items as WorkloadEndpoint[];
        // Only the keys under <ns>/<prefix>: an ADD must not read every endpoint of a big namespace.
        const keys = (await backend.list(`${resourceKeyPrefix(wepInfo, ns)}${namePrefix}`)).items.map((kv) => kv.key);
        const out: WorkloadEndpoint[] = [];
        for (const k of keys) {
          const w = (await orUndefined(client.get(wepInfo, k.slice(resourceKeyPrefix(wepInfo, ns).length), ns))) as WorkloadEndpoint | undefined;
          if (w !== undefined) out.push(w);
        }
        return out;
      },
      writeWorkloadEndpoint: async (wep) =>
        (wep.metadata.resourceVersion === undefined ? await client.create(wep) : await client.update(wep)) as WorkloadEndpoint,
      deleteWorkloadEndpoint: async (ns, name, rv) => {
        try {
          await client.delete(wepInfo, name, ns, rv);
          return true;
        } catch (e) {
          if (isTricolorError(e, 'ERR_NOT_FOUND')) return false;
          throw e;
        }
      },
      datastoreReady: async () => {
        const ci = (await orUndefined(client.get(ciInfo, 'default'))) as ClusterInformation | undefined;
        return ci?.spec?.datastoreReady;
      },
    },
    ipam: {
      autoAssign: async (req) =>
        (await ipam()).autoAssign({
          num4: req.num4,
          num6: req.num6,
          handleId: req.handleId,
          attrs: req.attrs,
          hostname: req.hostname,
          intendedUse: 'Workload',
          ...(req.ipv4Pools.length > 0 ? { ipv4Pools: req.ipv4Pools } : {}),
          ...(req.ipv6Pools.length > 0 ? { ipv6Pools: req.ipv6Pools } : {}),
        }).then((r) => ({ ipv4: [...r.ipv4], ipv6: [...r.ipv6] })),
      assignIP: async (req) => (await ipam()).assignIP({ ...req, intendedUse: 'Workload' }),
      releaseByHandle: async (h) => {
        await (await ipam()).releaseByHandle(h);
      },
      listHandleIds: async () => (await (await ipam()).listHandles()).map((h) => h.id),
    },
    close,
  };
}

/** Run tasks one at a time in call order; a failed task does not stop the queue. */
function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function sameDatastore(a: DatastoreConfig, b: DatastoreConfig): boolean {
  const norm = (c: DatastoreConfig): DatastoreConfig => (c.type === 'embedded' ? { ...c, path: resolve(c.path) } : c);
  return canonical(norm(a)) === canonical(norm(b));
}

/**
 * The opener the node agent's CNI server uses: a request whose datastore settings (its
 * forwarded environment plus netconf overrides) name the datastore the agent already has open
 * runs on that backend, with no connection set-up; any other datastore is opened for the
 * request and closed after it, as the stand-alone plugin does.
 */
export function sharedBackendsOpener(
  backend: DatastoreBackend,
  config: DatastoreConfig,
): (conf: NetConf, env: NodeJS.ProcessEnv) => Promise<CniBackends> {
  // On etcd the long-lived allocator reads through the watch-fed IPAM cache (started on the
  // first IPAM request): an allocation is then one compare-and-swap instead of ~8 round trips.
  // If the cache cannot start, allocation goes to the datastore directly, as before.
  const ipamClientOf = async (): Promise<IPAMClient> => {
    if (backend.type !== 'etcdv3') return new IPAMClient({ backend });
    const cache = await IPAMCache.start(backend).catch(() => undefined);
    return new IPAMClient({ backend, ...(cache !== undefined ? { cache } : {}) });
  };
  const open = cniBackendsOver(backend, () => Promise.resolve(), ipamClientOf);
  // Concurrent calls in one process would only collide on the same block's compare-and-swap
  // and sleep in the IPAM back-off; queued, each IPAM operation is a few local round trips.
  // Other processes (and other nodes) still meet the CAS as before.
  const serial = serialQueue();
  const shared: CniBackends = {
    ...open,
    ipam: {
      autoAssign: (req) => serial(() => open.ipam.autoAssign(req)),
      assignIP: (req) => serial(() => open.ipam.assignIP(req)),
      releaseByHandle: (h) => serial(() => open.ipam.releaseByHandle(h)),
      listHandleIds: () => open.ipam.listHandleIds(),
    },
  };
  return async (conf, env) => {
    const wanted = datastoreConfigFromEnv(datastoreEnv(conf, env));
    return sameDatastore(wanted, config) ? shared : openCniBackends(conf, env);
  };
}
