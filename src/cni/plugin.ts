// `tricolor-cni`: Calico's `calico` plugin (node contract §3.3–§3.7) over the CNI skeleton.
// ADD: identity → existing endpoint → addresses → veth into the pod → WorkloadEndpoint → result;
// every completed step registers its undo, and a failure runs them in reverse, so a failed ADD
// leaves no address, no veth and no endpoint behind. DEL is idempotent. CHECK really checks.

import { BugError, isTricolorError, quote, TricolorError } from '../base/index.ts';
import type { WorkloadEndpoint } from '../api/index.ts';
import {
  plugWorkloadVeth,
  readPodSide,
  removeHostVeth,
  showLink,
  showRoutes,
  unplugWorkloadPodSide,
  normaliseDst,
  POD_GATEWAY_IPV4,
  requireNetns,
} from '../dataplane/io/index.ts';
import { k8sIdentity, resolveMtu, resolveNodeName, type K8sIdentity } from './identity.ts';
import { execDelegate, findPlugin, ipamAdd, ipamDel, ipamGc, isBuiltinIpam } from './ipam-core.ts';
import { parseNetConf, type NetConf } from './netconf.ts';
import { containerHostIfName, interfacePrefix, podHostIfName, wepName, wepNamePrefix, parseWepName } from './naming.ts';
import type { CniBackends } from './ports.ts';
import type { CniPlugin, CniRequest } from './skeleton.ts';
import { parseResult, type CniResult } from './spec.ts';

export const WEP_API_VERSION = 'projectcalico.org/v3';
const DEL_ATTEMPTS = 6;

export interface PluginDeps {
  openBackends(conf: NetConf, env: NodeJS.ProcessEnv): Promise<CniBackends>;
}

interface Ctx {
  readonly req: CniRequest;
  readonly conf: NetConf;
  readonly node: string;
  readonly k8s: K8sIdentity | undefined;
  readonly orchestrator: string;
  readonly workload: string;
  readonly namespace: string;
  readonly hostIfName: string;
}

async function context(req: CniRequest): Promise<Ctx> {
  const conf = parseNetConf(req.conf);
  const node = await resolveNodeName(conf);
  const k8s = k8sIdentity(req.env.args);
  const prefix = interfacePrefix(req.processEnv);
  return {
    req,
    conf,
    node,
    k8s,
    orchestrator: k8s === undefined ? 'cni' : 'k8s',
    workload: k8s === undefined ? req.env.containerId : k8s.pod,
    namespace: k8s === undefined ? 'default' : k8s.namespace,
    hostIfName: k8s === undefined ? containerHostIfName(req.env.containerId, prefix) : podHostIfName(k8s.namespace, k8s.pod, prefix),
  };
}

async function requireReady(b: CniBackends): Promise<void> {
  if ((await b.store.datastoreReady()) === false) {
    throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', 'Tricolor is currently not ready to process requests: ClusterInformation "default" has datastoreReady=false');
  }
}

/** Narrow an address to /32 or /128, as Calico does before configuring and reporting it. */
export function hostPrefix(cidr: string): string {
  const ip = cidr.split('/')[0] ?? cidr;
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** Parse a pod annotation holding a JSON list of strings (ipAddrs, ipv4pools, ...). */
function annotationList(annotations: Readonly<Record<string, string>>, key: string): string[] | undefined {
  const v = annotations[key];
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== 'string')) {
    throw new TricolorError('ERR_VALIDATION', `pod annotation ${key}: ${quote(v)} must be a JSON list of strings`, { field: key, value: v });
  }
  return parsed as string[];
}

export function createPlugin(deps: PluginDeps): CniPlugin {
  async function withBackends<T>(ctx: Ctx, fn: (b: CniBackends) => Promise<T>): Promise<T> {
    const b = await deps.openBackends(ctx.conf, ctx.req.processEnv);
    try {
      return await fn(b);
    } finally {
      await b.close();
    }
  }

  async function add(req: CniRequest): Promise<CniResult> {
    const ctx = await context(req);
    requireNetns(req.env.netns);
    const mtu = await resolveMtu(ctx.conf);
    return withBackends(ctx, async (b) => {
      await requireReady(b);
      const undo: (() => Promise<unknown>)[] = [];
      try {
        // §3.3: reuse an endpoint of this pod whatever its interface segment.
        const prefix = wepNamePrefix({ node: ctx.node, orchestrator: ctx.orchestrator, workload: ctx.workload });
        const existing = (await b.store.listWorkloadEndpoints(ctx.namespace, prefix)).find((w) => {
          if (!w.metadata.name.startsWith(prefix)) return false;
          const id = parseWepName(w.metadata.name);
          return id !== undefined && id.node === ctx.node && id.orchestrator === ctx.orchestrator && id.workload === ctx.workload;
        });
        const name = existing?.metadata.name ?? wepName({ node: ctx.node, orchestrator: ctx.orchestrator, workload: ctx.workload, endpoint: req.env.ifName });

        const pod = ctx.k8s === undefined ? undefined : await b.store.getPod(ctx.k8s.namespace, ctx.k8s.pod);
        const podLabels = pod?.metadata.labels ?? {};
        const podAnnotations = pod?.metadata.annotations ?? {};
        const serviceAccount = pod?.spec?.serviceAccountName ?? (pod === undefined ? undefined : 'default');
        // Named container ports become endpoint ports, as Calico's plugin does: named-port rules
        // resolve against them.
        const namedPorts = (pod?.spec?.containers ?? []).flatMap((c) =>
          (c.ports ?? []).filter((cp) => cp.name !== undefined && cp.name !== '').map((cp) => ({ name: cp.name as string, protocol: cp.protocol ?? 'TCP', port: cp.containerPort })),
        );

        // Addresses (§3.4 step 6).
        let ipamResult: CniResult;
        if (isBuiltinIpam(ctx.conf.ipam.type)) {
          const argIP = req.env.args.get('IP');
          const annotated = annotationList(podAnnotations, 'cni.projectcalico.org/ipAddrs');
          const requestedIPs = annotated ?? (argIP === undefined || argIP === '' ? [] : argIP.split(','));
          const v4 = annotationList(podAnnotations, 'cni.projectcalico.org/ipv4pools');
          const v6 = annotationList(podAnnotations, 'cni.projectcalico.org/ipv6pools');
          undo.push(() => ipamDel(b.ipam, ctx.conf, req.env.containerId, undefined));
          ipamResult = await ipamAdd(b.ipam, {
            conf: ctx.conf,
            containerId: req.env.containerId,
            nodeName: ctx.node,
            k8s: ctx.k8s,
            requestedIPs,
            ...(v4 === undefined ? {} : { ipv4PoolsOverride: v4 }),
            ...(v6 === undefined ? {} : { ipv6PoolsOverride: v6 }),
          });
        } else {
          const plugin = await findPlugin(ctx.conf.ipam.type, req.env.path);
          undo.push(() => execDelegate(plugin, 'DEL', req.processEnv, req.stdinText));
          const r = await execDelegate(plugin, 'ADD', req.processEnv, req.stdinText);
          if (r === undefined) throw new BugError('delegated IPAM returned no result');
          ipamResult = r;
        }
        if (ipamResult.ips.length === 0) {
          throw new TricolorError('ERR_IPAM_EXHAUSTED', `IPAM ${quote(ctx.conf.ipam.type)} returned no addresses`);
        }
        const addresses = ipamResult.ips.map((ip) => hostPrefix(ip.address));
        const routes = (ipamResult.routes ?? []).map((r) => r.dst);
        const podRoutes = routes.length > 0 ? routes : [...new Set(addresses.map((a) => (a.includes(':') ? '::/0' : '0.0.0.0/0')))];

        // Dataplane (§3.5). The veth's own cleanup covers failures inside plugWorkloadVeth.
        undo.push(() => removeHostVeth(ctx.hostIfName));
        const veth = await plugWorkloadVeth({
          hostIfName: ctx.hostIfName,
          podIfName: req.env.ifName,
          netnsPath: req.env.netns,
          ...(mtu === undefined ? {} : { mtuBytes: mtu }),
          numQueues: ctx.conf.numQueues,
          addresses,
          routes: podRoutes,
          allowIPForwarding: ctx.conf.allowIPForwarding,
          skipHostRoutes: ipamResult.routes !== undefined && ipamResult.routes.length === 0,
        });

        // The endpoint (§3.4 steps 7, 9, 10).
        const labels: Record<string, string> = {
          ...podLabels,
          'projectcalico.org/namespace': ctx.namespace,
          'projectcalico.org/orchestrator': ctx.orchestrator,
          ...(serviceAccount === undefined ? {} : { 'projectcalico.org/serviceaccount': serviceAccount }),
        };
        const profiles =
          ctx.k8s === undefined
            ? [ctx.conf.name]
            : [`kns.${ctx.namespace}`, ...(serviceAccount === undefined ? [] : [`ksa.${ctx.namespace}.${serviceAccount}`])];
        const wep: WorkloadEndpoint = {
          apiVersion: WEP_API_VERSION,
          kind: 'WorkloadEndpoint',
          metadata: {
            name,
            namespace: ctx.namespace,
            labels,
            ...(existing?.metadata.resourceVersion === undefined ? {} : { resourceVersion: existing.metadata.resourceVersion }),
            ...(existing?.metadata.uid === undefined ? {} : { uid: existing.metadata.uid }),
            ...(existing?.metadata.creationTimestamp === undefined ? {} : { creationTimestamp: existing.metadata.creationTimestamp }),
          },
          spec: {
            orchestrator: ctx.orchestrator,
            ...(ctx.k8s === undefined ? { workload: ctx.workload } : {}),
            node: ctx.node,
            containerID: req.env.containerId,
            ...(ctx.k8s === undefined ? {} : { pod: ctx.k8s.pod }),
            endpoint: req.env.ifName,
            ...(serviceAccount === undefined ? {} : { serviceAccountName: serviceAccount }),
            ipNetworks: addresses,
            profiles,
            interfaceName: ctx.hostIfName,
            mac: veth.podMac,
            ...(namedPorts.length === 0 ? {} : { ports: namedPorts }),
          },
        };
        const written = await b.store.writeWorkloadEndpoint(wep);
        if (existing === undefined) {
          undo.push(() => b.store.deleteWorkloadEndpoint(ctx.namespace, name, written.metadata.resourceVersion));
        }
        return {
          interfaces: [
            { name: ctx.hostIfName },
            { name: req.env.ifName, mac: veth.podMac, ...(mtu === undefined ? {} : { mtu }), sandbox: req.env.netns },
          ],
          ips: addresses.map((address) => ({ address, interface: 1 })),
          routes: podRoutes.map((dst) => ({ dst })),
          ...(ipamResult.dns === undefined ? {} : { dns: ipamResult.dns }),
        };
      } catch (e) {
        for (const u of undo.reverse()) {
          try {
            await u();
          } catch {
            // best effort: the original error is the one to report
          }
        }
        throw e;
      }
    });
  }

  async function del(req: CniRequest): Promise<void> {
    const ctx = await context(req);
    await withBackends(ctx, async (b) => {
      await requireReady(b);
      const name = wepName({ node: ctx.node, orchestrator: ctx.orchestrator, workload: ctx.workload, endpoint: req.env.ifName });
      for (let attempt = 1; ; attempt++) {
        const wep = await b.store.getWorkloadEndpoint(ctx.namespace, name);
        if (wep === undefined) break;
        const owner = wep.spec?.containerID;
        // A DEL for an old sandbox of a live pod must not remove the live pod's endpoint (§3.7).
        if (owner !== undefined && owner !== '' && owner !== req.env.containerId) break;
        try {
          await b.store.deleteWorkloadEndpoint(ctx.namespace, name, wep.metadata.resourceVersion);
          break;
        } catch (e) {
          if (!isTricolorError(e, 'ERR_UPDATE_CONFLICT')) throw e;
          if (attempt >= DEL_ATTEMPTS) {
            throw new TricolorError('ERR_UPDATE_CONFLICT', `WorkloadEndpoint ${quote(`${ctx.namespace}/${name}`)}: endpoint was modified before it could be deleted`);
          }
        }
      }
      await unplugWorkloadPodSide(req.env.netns, req.env.ifName);
      if (isBuiltinIpam(ctx.conf.ipam.type)) {
        await ipamDel(b.ipam, ctx.conf, req.env.containerId, ctx.k8s);
      } else {
        const plugin = await findPlugin(ctx.conf.ipam.type, req.env.path);
        await execDelegate(plugin, 'DEL', req.processEnv, req.stdinText);
      }
    });
  }

  async function check(req: CniRequest): Promise<void> {
    const ctx = await context(req);
    if (ctx.conf.prevResult === undefined) {
      throw new TricolorError('ERR_VALIDATION', 'prevResult: required for CHECK but missing', { field: 'prevResult' });
    }
    const prev = parseResult(ctx.conf.prevResult);
    const ifn = req.env.ifName;
    const fail = (what: string): never => {
      throw new TricolorError('ERR_NOT_FOUND', `CHECK ${quote(req.env.containerId)}: ${what}`);
    };
    const state = await readPodSide(req.env.netns, ifn);
    if (state.link === undefined) fail(`interface ${quote(ifn)} is missing from netns ${quote(req.env.netns)}`);
    const podIf = prev.interfaces?.find((i) => i.name === ifn && i.sandbox !== undefined);
    if (podIf?.mac !== undefined && state.link?.mac.toLowerCase() !== podIf.mac.toLowerCase()) {
      fail(`interface ${quote(ifn)} has MAC ${quote(state.link?.mac)}, prevResult says ${quote(podIf.mac)}`);
    }
    if (state.link?.up !== true) fail(`interface ${quote(ifn)} is down`);
    for (const ip of prev.ips) {
      const [addr, len] = ip.address.split('/');
      if (!state.addresses.some((a) => a.address === addr && String(a.prefixLen) === len)) {
        fail(`address ${quote(ip.address)} is missing from ${quote(ifn)}`);
      }
    }
    const has4 = prev.ips.some((i) => !i.address.includes(':'));
    if (has4 && !state.routes.some((r) => r.dst === POD_GATEWAY_IPV4 && r.dev === ifn && r.scope === 'link')) {
      fail(`route ${POD_GATEWAY_IPV4} dev ${ifn} scope link is missing`);
    }
    for (const r of prev.routes ?? []) {
      const dst = normaliseDst(r.dst);
      if (!state.routes.some((x) => normaliseDst(x.dst) === dst && x.dev === ifn)) fail(`route to ${quote(r.dst)} via ${quote(ifn)} is missing`);
    }
    // Host side: the cali interface is up and routes each address to the pod.
    const hostIf = prev.interfaces?.find((i) => i.sandbox === undefined)?.name ?? ctx.hostIfName;
    const host = await showLink(hostIf);
    if (host === undefined) fail(`host interface ${quote(hostIf)} is missing`);
    if (host?.up !== true) fail(`host interface ${quote(hostIf)} is down`);
    for (const ip of prev.ips) {
      const cidr = hostPrefix(ip.address);
      const fam = cidr.includes(':') ? 6 : 4;
      const routes = await showRoutes(fam, { dst: cidr });
      if (!routes.some((r) => r.dev === hostIf)) fail(`host route to ${quote(cidr)} via ${quote(hostIf)} is missing`);
    }
  }

  async function gc(req: CniRequest): Promise<void> {
    const conf = parseNetConf(req.conf);
    if (!isBuiltinIpam(conf.ipam.type)) return;
    const b = await deps.openBackends(conf, req.processEnv);
    try {
      await ipamGc(b.ipam, conf);
    } finally {
      await b.close();
    }
  }

  async function status(req: CniRequest): Promise<void> {
    const conf = parseNetConf(req.conf);
    const b = await deps.openBackends(conf, req.processEnv);
    try {
      await requireReady(b);
    } finally {
      await b.close();
    }
  }

  return { add, del, check, gc, status };
}
