// What the CNI plugins need from the datastore and IPAM, as two narrow interfaces. The plugin
// logic is written against these; backends.ts implements them over the real datastore and
// IPAM, and the same plugin code runs unchanged against either datastore backend.

import type { Pod, WorkloadEndpoint } from '../api/index.ts';

export interface IpamAssignRequest {
  readonly num4: number;
  readonly num6: number;
  readonly handleId: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly hostname: string;
  /** Pool names or CIDRs; empty: every enabled pool that selects the node. */
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
}

export interface CniIpamPort {
  /** Assign addresses; returns CIDRs carrying the block's prefix length (e.g. 10.0.0.5/26). */
  autoAssign(req: IpamAssignRequest): Promise<{ ipv4: string[]; ipv6: string[] }>;
  /** Assign one specific address; returns it with its block's prefix length. */
  assignIP(req: { ip: string; handleId: string; attrs: Readonly<Record<string, string>>; hostname: string }): Promise<string>;
  /** Release everything held by a handle; an unknown handle is not an error. */
  releaseByHandle(handleId: string): Promise<void>;
  /** Every handle ID in the store (for GC). */
  listHandleIds(): Promise<string[]>;
}

export interface CniStorePort {
  getPod(namespace: string, name: string): Promise<Pod | undefined>;
  getWorkloadEndpoint(namespace: string, name: string): Promise<WorkloadEndpoint | undefined>;
  /** Endpoints of a namespace; with `namePrefix`, only those whose name starts with it (one key-prefix read). */
  listWorkloadEndpoints(namespace: string, namePrefix?: string): Promise<WorkloadEndpoint[]>;
  /** Create, or update when `metadata.resourceVersion` is set (CAS on it). */
  writeWorkloadEndpoint(wep: WorkloadEndpoint): Promise<WorkloadEndpoint>;
  /** Delete; false when it did not exist. A stale resourceVersion is ERR_UPDATE_CONFLICT. */
  deleteWorkloadEndpoint(namespace: string, name: string, resourceVersion?: string): Promise<boolean>;
  /** ClusterInformation `default` spec.datastoreReady (undefined when absent). */
  datastoreReady(): Promise<boolean | undefined>;
}

export interface CniBackends {
  readonly store: CniStorePort;
  readonly ipam: CniIpamPort;
  close(): Promise<void>;
}
