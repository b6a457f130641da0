// Calico's network configuration (node contract §3.2): the JSON a runtime writes on stdin.
// Every field is checked for its type and named in the error; defaults are declared here.
// Unknown fields are kept (runtimes add `runtimeConfig`, `args`, `prevResult`, ...).

import { TricolorError, quote, validationError } from '../base/index.ts';
import { isSupportedVersion, isValidNetworkName, SUPPORTED_VERSIONS, type CniVersion } from './spec.ts';

/** Calico's nodename file: calico-node writes it, the plugin's `nodename_file` reads it. */
export const DEFAULT_NODENAME_FILE = '/var/lib/calico/nodename';
/** Moves the file for the agent (calico-node's variable) and for `install-cni`, which then writes `nodename_file`. */
export const NODENAME_FILE_ENV = 'CALICO_NODENAME_FILE';
export const DEFAULT_MTU_FILE = '/var/lib/calico/mtu';
export const DEFAULT_IPAM_LOCK_FILE = '/var/run/calico/ipam.lock';
export const DEFAULT_ENDPOINT_STATUS_DIR = '/var/run/calico/endpoint-status';
export const LOG_LEVELS = ['debug', 'info', 'warning', 'warn', 'error', 'fatal', 'panic', 'none'] as const;

export interface IpamConf {
  readonly type: string;
  readonly assignIPv4: boolean;
  readonly assignIPv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
  /** The raw object, handed unchanged to a delegated IPAM plugin. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly ipam: IpamConf;
  readonly mtu: number;
  readonly requireMtuFile: boolean;
  /** Where the node agent writes the pod MTU (Tricolor's `mtu_file`; Calico: /var/lib/calico/mtu). */
  readonly mtuFile: string;
  readonly numQueues: number;
  readonly deviceType: 'veth';
  readonly nodename: string | undefined;
  readonly nodenameFile: string;
  readonly nodenameFileOptional: boolean;
  readonly hostname: string | undefined;
  readonly ipamLockFile: string;
  readonly datastoreType: string | undefined;
  readonly etcdEndpoints: string | undefined;
  readonly etcdKeyFile: string | undefined;
  readonly etcdCertFile: string | undefined;
  readonly etcdCaCertFile: string | undefined;
  /** Tricolor addition: path of the embedded datastore (default from the environment). */
  readonly datastorePath: string | undefined;
  readonly policyType: string;
  readonly logLevel: string;
  readonly logFilePath: string | undefined;
  readonly allowIPForwarding: boolean;
  readonly includeDefaultRoutes: boolean;
  readonly policySetupTimeoutSeconds: number;
  readonly endpointStatusDir: string;
  readonly prevResult: unknown;
  /** CNI 1.1 GC: attachments the runtime still holds (`cni.dev/valid-attachments`). */
  readonly validAttachments: readonly { containerId: string; ifName: string }[] | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw validationError(`${path}${key}`, v, 'must be a string');
  return v;
}

function bool(o: Obj, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw validationError(`${path}${key}`, v, 'must be true or false');
  return v;
}

function int(o: Obj, key: string, path: string, dflt: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw validationError(`${path}${key}`, v, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** Calico's IPAM booleans are strings ("true"/"false"); real booleans are accepted too. */
function stringBool(o: Obj, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw validationError(`${path}${key}`, v, 'must be "true" or "false"');
}

function stringList(o: Obj, key: string, path: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    throw validationError(`${path}${key}`, v, 'must be a list of non-empty strings');
  }
  return v as string[];
}

/** Parse stdin text into JSON; malformed input is ERR_PARSE (CNI code 6, "failed to decode"). */
export function parseStdinJson(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TricolorError('ERR_PARSE', `network configuration (stdin): not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!isObj(v)) throw new TricolorError('ERR_PARSE', `network configuration (stdin): ${quote(v)} is not a JSON object`);
  return v;
}

/** The `cniVersion` a request asked for, checked against what we speak (code 1 otherwise). */
export function parseCniVersion(o: Obj): CniVersion {
  const v = o.cniVersion;
  if (typeof v !== 'string' || v === '') {
    throw new TricolorError('ERR_CNI_VERSION', `cniVersion: ${quote(v)} is required; supported: ${SUPPORTED_VERSIONS.join(', ')}`, {
      field: 'cniVersion',
      value: v,
    });
  }
  if (!isSupportedVersion(v)) {
    throw new TricolorError('ERR_CNI_VERSION', `cniVersion: ${quote(v)} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`, {
      field: 'cniVersion',
      value: v,
    });
  }
  return v;
}

export function parseIpamConf(o: Obj): IpamConf {
  const ipam = o.ipam;
  if (ipam === undefined || ipam === null) {
    return { type: 'tricolor-ipam', assignIPv4: true, assignIPv6: false, ipv4Pools: [], ipv6Pools: [], raw: {} };
  }
  if (!isObj(ipam)) throw validationError('ipam', ipam, 'must be an object');
  const type = str(ipam, 'type', 'ipam.') ?? '';
  if (type === '') throw validationError('ipam.type', ipam.type, 'is required');
  const assignIPv4 = stringBool(ipam, 'assign_ipv4', 'ipam.', true);
  const assignIPv6 = stringBool(ipam, 'assign_ipv6', 'ipam.', false);
  if (!assignIPv4 && !assignIPv6 && (type === 'tricolor-ipam' || type === 'calico-ipam')) {
    throw validationError('ipam.assign_ipv4', ipam.assign_ipv4, 'and ipam.assign_ipv6 are both false: nothing to assign');
  }
  return {
    type,
    assignIPv4,
    assignIPv6,
    ipv4Pools: stringList(ipam, 'ipv4_pools', 'ipam.'),
    ipv6Pools: stringList(ipam, 'ipv6_pools', 'ipam.'),
    raw: ipam,
  };
}

function parseValidAttachments(o: Obj): { containerId: string; ifName: string }[] | undefined {
  // libcni sends both spellings (the spec once named it `cni.dev/attachments`).
  const key = o['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw validationError(key, v, 'must be a list');
  return v.map((a: unknown, i) => {
    if (!isObj(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
      throw validationError(`${key}[${i}]`, a, 'must be {"containerID": string, "ifname": string}');
    }
    return { containerId: a.containerID, ifName: a.ifname };
  });
}

/** Parse and validate a whole network configuration. */
export function parseNetConf(o: Obj): NetConf {
  const cniVersion = parseCniVersion(o);
  const name = o.name;
  if (typeof name !== 'string' || !isValidNetworkName(name)) {
    throw validationError('name', name, 'must be a network name of letters, digits, "_", "." and "-"');
  }
  const type = str(o, 'type', '') ?? '';
  if (type === '') throw validationError('type', o.type, 'is required');
  const deviceType = str(o, 'device_type', '') ?? '';
  if (deviceType !== '' && deviceType !== 'veth' && deviceType !== 'netkit') {
    throw validationError('device_type', deviceType, 'must be "veth" or "netkit"');
  }
  const policy = o.policy;
  if (policy !== undefined && policy !== null && !isObj(policy)) throw validationError('policy', policy, 'must be an object');
  const policyType = isObj(policy) ? (str(policy, 'type', 'policy.') ?? '') : '';
  if (policyType !== '' && policyType !== 'k8s') throw validationError('policy.type', policyType, 'must be "k8s" or empty');
  const kubernetes = o.kubernetes;
  if (kubernetes !== undefined && kubernetes !== null && !isObj(kubernetes)) {
    throw validationError('kubernetes', kubernetes, 'must be an object');
  }
  const container = o.container_settings;
  if (container !== undefined && container !== null && !isObj(container)) {
    throw validationError('container_settings', container, 'must be an object');
  }
  const logLevel = (str(o, 'log_level', '') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw validationError('log_level', o.log_level, `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const datastoreType = str(o, 'datastore_type', '');
  if (datastoreType !== undefined && !['embedded', 'etcdv3', 'kubernetes', ''].includes(datastoreType)) {
    throw validationError('datastore_type', datastoreType, 'must be "embedded" or "etcdv3"');
  }
  const nodename = str(o, 'nodename', '') ?? (isObj(kubernetes) ? str(kubernetes, 'node_name', 'kubernetes.') : undefined);
  const policySetupTimeoutSeconds = int(o, 'policy_setup_timeout_seconds', '', 0, -2147483648, 3600);
  if (policySetupTimeoutSeconds < 0) {
    throw validationError('policy_setup_timeout_seconds', policySetupTimeoutSeconds, 'must not be negative');
  }
  return {
    cniVersion,
    name,
    type,
    ipam: parseIpamConf(o),
    mtu: int(o, 'mtu', '', 0, 0, 65535),
    requireMtuFile: bool(o, 'require_mtu_file', '', false),
    mtuFile: str(o, 'mtu_file', '') ?? DEFAULT_MTU_FILE,
    numQueues: int(o, 'num_queues', '', 1, 1, 1024),
    // netkit is accepted and falls back to veth, as Calico does where netkit is unavailable.
    deviceType: 'veth',
    nodename: nodename === '' ? undefined : nodename,
    nodenameFile: str(o, 'nodename_file', '') ?? DEFAULT_NODENAME_FILE,
    nodenameFileOptional: bool(o, 'nodename_file_optional', '', false),
    hostname: str(o, 'hostname', ''),
    ipamLockFile: str(o, 'ipam_lock_file', '') ?? DEFAULT_IPAM_LOCK_FILE,
    datastoreType: datastoreType === '' || datastoreType === 'kubernetes' ? undefined : datastoreType,
    etcdEndpoints: str(o, 'etcd_endpoints', ''),
    etcdKeyFile: str(o, 'etcd_key_file', ''),
    etcdCertFile: str(o, 'etcd_cert_file', ''),
    etcdCaCertFile: str(o, 'etcd_ca_cert_file', ''),
    datastorePath: str(o, 'datastore_path', ''),
    policyType,
    logLevel,
    logFilePath: str(o, 'log_file_path', ''),
    allowIPForwarding: isObj(container) ? bool(container, 'allow_ip_forwarding', 'container_settings.', false) : false,
    includeDefaultRoutes: bool(o, 'include_default_routes', '', false),
    policySetupTimeoutSeconds,
    endpointStatusDir: str(o, 'endpoint_status_dir', '') ?? DEFAULT_ENDPOINT_STATUS_DIR,
    prevResult: o.prevResult,
    validAttachments: parseValidAttachments(o),
    raw: o,
  };
}
