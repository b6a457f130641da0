// Public surface of the dataplane's OS side: the dataplane registry (which dataplanes this build
// runs), the nftables dataplane and driver (nft/io/), the eBPF dataplane's loader, NAT driver and
// inspector (bpf/io/), and the drivers for links, namespaces,
// routes, sysctls and VXLAN (iproute2 and /proc/sys) that every dataplane shares. Everything here
// acts on the network namespace the process runs in, or on one given as a path.
export { createDataplane, removeOtherDataplanes, registerDataplane, availableDataplanes, type DataplaneFactory } from './dataplane-registry.ts';
export { NftDriver, type NftDriverOptions, type ApplyResult, type ResyncResult, type NftDriverStats } from '../nft/io/nft-driver.ts';
export { NftDataplane, type NftDataplaneOptions } from '../nft/io/nft-dataplane.ts';
export { BpfDataplane, DEFAULT_BPFFS_DIR, type BpfDataplaneOptions } from '../bpf/io/bpf-dataplane.ts';
export { mountBpffs, unmountBpffs, loadObjects, BPF_OBJECT } from '../bpf/io/bpf-loader.ts';
export { BpfNatDriver } from '../bpf/io/bpf-nat-driver.ts';
export { BpfInspector, DUMP_KINDS, type DumpKind } from '../bpf/io/bpf-inspect.ts';
export { runCommand, runCommandRaw, parseIpJson, type RunOptions, type RunResult } from './exec.ts';
export { netnsExists, requireNetns } from './netns.ts';
export {
  listLocalLinkNames,
  localLinkExists,
  showLinks,
  showLink,
  deleteLink,
  createVeth,
  vethAddArgv,
  setLinkUp,
  showAddresses,
  runIpBatch,
  type LinkInfo,
  type AddressInfo,
  type NetnsOption,
  type VethSpec,
} from './link-driver.ts';
export { showRoutes, addHostRoute, deleteRoute, normaliseDst, type RouteInfo } from './route-driver.ts';
export { readSysctl, writeSysctls, hostVethSysctls, sysctlFile, type SysctlSetting } from './sysctl-driver.ts';
export {
  plugWorkloadVeth,
  unplugWorkloadPodSide,
  readPodSide,
  removeHostVeth,
  podSidePlan,
  plugArgv,
  randomMac,
  HOST_VETH_MAC,
  POD_GATEWAY_IPV4,
  POD_GATEWAY_IPV6,
  type WorkloadVethSpec,
  type WorkloadVethResult,
  type PodSideState,
} from './workload-veth-driver.ts';
export {
  AGENT_ROUTE_PROTOCOL,
  findInterfaceWithAddress,
  ensureVXLANDevice,
  deleteVXLANDevice,
  reconcileVXLANNeighbours,
  reconcileVXLANFDB,
  reconcileAgentRoutes,
  type VXLANDevice,
  type AgentRoute,
  type ReconcileCounts,
} from './vxlan-driver.ts';
export {
  WireGuardGo,
  uapiRequest,
  socketAnswers,
  findExecutable,
  ensurePersistentTun,
  configureLink,
  deleteLinkIfExists,
  reconcileWireGuardTable,
  reconcileWireGuardRule,
  wireGuardRuleExists,
  flushWireGuardTable,
  type WireGuardGoOptions,
  type WireGuardTableRoute,
  type WireGuardRuleSpec,
} from './wireguard-driver.ts';
