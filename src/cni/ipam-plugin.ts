// `tricolor-ipam`: Calico's `calico-ipam` plugin on its own (node contract §3.8), for runtimes
// or chained plugins that call IPAM directly. ADD prints addresses with their block prefix and
// a default route per family; DEL releases both handles; GC releases handles of attachments
// the runtime no longer holds; STATUS checks the datastore.

import { TricolorError } from '../base/index.ts';
import { k8sIdentity, resolveNodeName } from './identity.ts';
import { ipamAdd, ipamDel, ipamGc } from './ipam-core.ts';
import { parseNetConf } from './netconf.ts';
import type { PluginDeps } from './plugin.ts';
import type { CniPlugin, CniRequest } from './skeleton.ts';
import type { CniResult } from './spec.ts';

export function createIpamPlugin(deps: PluginDeps): CniPlugin {
  async function withB<T>(req: CniRequest, fn: (b: Awaited<ReturnType<PluginDeps['openBackends']>>) => Promise<T>): Promise<T> {
    const conf = parseNetConf(req.conf);
    const b = await deps.openBackends(conf, req.processEnv);
    try {
      if ((await b.store.datastoreReady()) === false) {
        throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', 'Tricolor is currently not ready to process requests: ClusterInformation "default" has datastoreReady=false');
      }
      return await fn(b);
    } finally {
      await b.close();
    }
  }
  return {
    add: async (req): Promise<CniResult> => {
      const conf = parseNetConf(req.conf);
      const nodeName = await resolveNodeName(conf);
      const ip = req.env.args.get('IP');
      return withB(req, (b) =>
        ipamAdd(b.ipam, {
          conf,
          containerId: req.env.containerId,
          nodeName,
          k8s: k8sIdentity(req.env.args),
          requestedIPs: ip === undefined || ip === '' ? [] : ip.split(','),
        }),
      );
    },
    del: async (req) => {
      const conf = parseNetConf(req.conf);
      await resolveNodeName(conf);
      await withB(req, (b) => ipamDel(b.ipam, conf, req.env.containerId, k8sIdentity(req.env.args)));
    },
    // An IPAM plugin has nothing of its own to check beyond the allocation existing; the main
    // plugin checks the addresses on the interface.
    check: async () => undefined,
    gc: async (req) => {
      const conf = parseNetConf(req.conf);
      await withB(req, (b) => ipamGc(b.ipam, conf));
    },
    status: async (req) => {
      await withB(req, async () => undefined);
    },
  };
}
