// The CNI ports over the real datastore (embedded SQLite or etcd) and the block IPAM. Which
// datastore: the process environment (DATASTORE_TYPE, ETCD_*, TRICOLOR_DATASTORE_PATH, as
// every Tricolor process), overridden by the netconf fields `datastore_type`, `etcd_*` and
// `datastore_path` when present.

import { isTricolorError } from '../base/index.ts';
import { resolveResourceType, type Pod, type WorkloadEndpoint, type ClusterInformation } from '../api/index.ts';
import { datastoreConfigFromEnv, openBackend, ResourceClient } from '../datastore/index.ts';
import { IPAMClient } from '../ipam/index.ts';
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
  const client = new ResourceClient(backend);
  const ipamClient = new IPAMClient({ backend });
  const wepInfo = resolveResourceType('workloadendpoint');
  const podInfo = resolveResourceType('pod');
  const ciInfo = resolveResourceType('clusterinformation');
  return {
    store: {
      getPod: (ns, name) => orUndefined(client.get(podInfo, name, ns)) as Promise<Pod | undefined>,
      getWorkloadEndpoint: (ns, name) => orUndefined(client.get(wepInfo, name, ns)) as Promise<WorkloadEndpoint | undefined>,
      listWorkloadEndpoints: async (ns) => (await client.list(wepInfo, ns)).items as WorkloadEndpoint[],
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
      autoAssign: (req) =>
        ipamClient.autoAssign({
          num4: req.num4,
          num6: req.num6,
          handleId: req.handleId,
          attrs: req.attrs,
          hostname: req.hostname,
          intendedUse: 'Workload',
          ...(req.ipv4Pools.length > 0 ? { ipv4Pools: req.ipv4Pools } : {}),
          ...(req.ipv6Pools.length > 0 ? { ipv6Pools: req.ipv6Pools } : {}),
        }).then((r) => ({ ipv4: [...r.ipv4], ipv6: [...r.ipv6] })),
      assignIP: (req) => ipamClient.assignIP({ ...req, intendedUse: 'Workload' }),
      releaseByHandle: async (h) => {
        await ipamClient.releaseByHandle(h);
      },
      listHandleIds: async () => (await ipamClient.listHandles()).map((h) => h.id),
    },
    close: () => backend.close(),
  };
}
