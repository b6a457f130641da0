// The lab's pure model: names (every namespace of a lab carries the prefix `tri-<lab>-`, so
// `lab down` can find them all even after a crash), the address plan of the underlay, the
// external host and the service range, the state documents kept under the run directory, and
// the parsers for the command line's small languages (NS/NAME, k=v lists, --serve, --port).

import { ianaServiceNameProblem } from '../api/index.ts';
import { BugError, quote, TricolorError } from '../base/index.ts';
import type { LabMonitoring } from './monitoring-model.ts';

export const LAB_ROOT = '/var/run/tricolor/lab';
/** CalicoAPIConfig naming the datastore of the lab that is up (read by the CLI's connection). */
export const LAB_POINTER_FILE = `${LAB_ROOT}/current.cfg`;
export const DEFAULT_LAB_NAME = 'lab';
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
/** Underlay: one bridge subnet that every node shares, so BGP sessions need no router. */
export const UNDERLAY_PREFIX = '172.31.0';
export const UNDERLAY_GATEWAY = `${UNDERLAY_PREFIX}.1`;
/** The external host sits behind the underlay router, which has no route to any pod CIDR. */
export const EXTERNAL_GATEWAY = '203.0.113.1';
export const EXTERNAL_IP = '203.0.113.10';
/** `lab up --externals N`: external-1 … external-N at 203.0.113.10, .11, … (external-1 is also `external`). */
export const MAX_EXTERNALS = 16;
/** Ports the external host serves (TCP answers with the client's address as it saw it). */
export const EXTERNAL_TCP_PORTS = [80] as const;
export const EXTERNAL_UDP_PORTS = [53, 80] as const;
export const ENCAPS = ['none', 'vxlan'] as const;
export type Encap = (typeof ENCAPS)[number];
export const MAX_NODES = 200;
/** Where the lab keeps its datastore: a SQLite file in the run dir, or its own etcd on a unix socket there. */
export const LAB_DATASTORES = ['embedded', 'etcdv3'] as const;
export type LabDatastore = (typeof LAB_DATASTORES)[number];
/** The cluster's AS (Calico's default) and the `tor` router's: a different AS, so it peers over eBGP. */
export const CLUSTER_AS = 64512;
export const TOR_AS = 64513;
/** The tor router sits on the underlay after every possible node address (.11 … .210). */
export const TOR_ADDRESS = `${UNDERLAY_PREFIX}.250`;
/** etcd 3.4 takes unix://NAME:PORT and makes the socket file NAME:PORT in its working directory. */
export const ETCD_SOCKET_NAME = 'etcd:2379';

export interface LabNode {
  readonly name: string;
  readonly netns: string;
  /** Underlay address without prefix length. */
  readonly address: string;
  /** Interface on the underlay bridge (inside the underlay namespace). */
  readonly uplink: string;
  readonly runDir: string;
  agentPid?: number;
  proxyPid?: number;
}

export interface LabEtcd {
  /** etcd runs in a namespace of its own (its peer port stays private) and serves clients on a unix socket. */
  readonly netns: string;
  readonly dir: string;
  /**
   * Client endpoint for ETCD_ENDPOINTS: `unixs://<runDir>/etcd/etcd:2379` (mutual TLS; state
   * files of older labs have `unix://`, no TLS).
   */
  readonly endpoint: string;
  /** The lab CA, etcd's server certificate and one client certificate per component (`<component>.crt/.key`). */
  readonly pki?: string;
  pid?: number;
  /**
   * `--etcd-members N` (3 or 5; absent = 1): member i runs in namespace `<netns>-i` on the
   * underlay (172.31.0.241 …, peers talk https there with mutual TLS) and serves clients on
   * `unixs://<dir>/etcd-i:2379`; `endpoint` lists them all, comma-separated, so every client fails
   * over between them.
   */
  readonly members?: number;
  /** pid of each member (index 0 = etcd-1), when members is set. */
  memberPids?: number[];
}

/** The allowed member counts of the lab's etcd cluster (odd: a majority survives losing members). */
export const LAB_ETCD_MEMBER_COUNTS = [1, 3, 5] as const;

/** One member of the lab's etcd cluster: its name, namespace and client/peer socket files. */
export interface LabEtcdMember {
  readonly name: string;
  readonly netns: string;
  /** Client socket file, and the unix(s) endpoint URL clients use. */
  readonly clientSocket: string;
  readonly endpoint: string;
  /** Peer URL: https on the member's own underlay address (TLS both ways between members). */
  readonly peerUrl: string;
  /** The member's underlay address and its veth's name in the underlay (clusters only). */
  readonly address?: string;
  readonly uplink?: string;
}

/** Underlay address of etcd member i (0-based) of a cluster: .241 … .245, past every node, before the tor. */
export function labEtcdMemberAddress(i: number): string {
  return `${UNDERLAY_PREFIX}.${241 + i}`;
}

/** The lab's etcd members (one for a plain lab: the `etcd:2379` socket of older labs). */
export function labEtcdMembers(e: LabEtcd): LabEtcdMember[] {
  const scheme = e.pki === undefined ? 'unix' : 'unixs';
  if (e.members === undefined || e.members <= 1) {
    return [{ name: 'lab', netns: e.netns, clientSocket: `${e.dir}/${ETCD_SOCKET_NAME}`, endpoint: e.endpoint, peerUrl: 'http://127.0.0.1:2380' }];
  }
  return Array.from({ length: e.members }, (_, i) => ({
    name: `etcd-${i + 1}`,
    netns: `${e.netns}-${i + 1}`,
    clientSocket: `${e.dir}/etcd-${i + 1}:2379`,
    endpoint: `${scheme}://${e.dir}/etcd-${i + 1}:2379`,
    peerUrl: `https://${labEtcdMemberAddress(i)}:2380`,
    address: labEtcdMemberAddress(i),
    uplink: `etcd${i + 1}`,
  }));
}

/** An external host: its own namespace on the external network, behind the underlay router. */
export interface LabExternal {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  /** Its link's name inside the underlay namespace (a port of the external bridge). */
  readonly uplink: string;
}

export interface LabTor {
  readonly netns: string;
  readonly address: string;
  readonly asNumber: number;
  /** Interface on the underlay bridge (inside the underlay namespace). */
  readonly uplink: string;
  readonly configPath: string;
  pid?: number;
}

/** The dataplanes a lab can run (`lab up --dataplane`). */
export const LAB_DATAPLANES = ['nft', 'bpf'] as const;
export type LabDataplane = (typeof LAB_DATAPLANES)[number];

/** Where a bpf lab mounts a node's own bpffs (the agent pins its programs and maps there). */
export function nodeBpffsDir(n: Pick<LabNode, 'runDir'>): string {
  return `${n.runDir}/bpf`;
}

export interface LabState {
  readonly name: string;
  readonly prefix: string;
  readonly runDir: string;
  /** embedded (absent in state files of older labs) or etcdv3. */
  readonly datastore?: LabDatastore;
  /** The SQLite file (embedded datastore only). */
  readonly datastorePath: string;
  readonly etcd?: LabEtcd | undefined;
  readonly tor?: LabTor | undefined;
  /** Prometheus (`lab up --monitoring`). */
  readonly monitoring?: LabMonitoring | undefined;
  /** Typha replicas (`lab up --typha N`): one in each of the first N nodes; agents read through them. */
  readonly typha?: number | undefined;
  readonly createdAt: string;
  /** nft (absent) or bpf: FelixConfiguration bpfEnabled, no nft service proxy, a bpffs per node. */
  readonly dataplane?: LabDataplane;
  readonly encap: Encap;
  /** WireGuard between nodes (FelixConfiguration wireguardEnabled); absent in older state files. */
  readonly wireguard?: boolean;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly underlayNetns: string;
  /** The first external host (`external`, `external-1`). */
  readonly externalNetns: string;
  readonly externalIP: string;
  /** Every external host, the first one included (absent in state files of older labs: only the first). */
  readonly externals?: readonly LabExternal[];
  readonly routeReflector: string | undefined;
  readonly nodes: LabNode[];
  /** Processes started outside nodes (external servers). */
  readonly pids: number[];
}

export interface LabPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly containerId: string;
  readonly ip: string;
  readonly serve: readonly ServePort[];
  /** Container ports declared with --named-port (absent in older records). */
  readonly namedPorts?: readonly NamedPort[];
  readonly serverPids: readonly number[];
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
}

export interface ServePort {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

/** A container port the pod declares (`--named-port NAME=PROTO:PORT`), served or not. */
export interface NamedPort {
  readonly name: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

export interface ServicePortSpec {
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: 'TCP' | 'UDP';
}

function usage(message: string, field: string, value: unknown): TricolorError {
  return new TricolorError('ERR_USAGE', message, { field, value });
}

export function validateLabName(name: string): string {
  if (!/^[a-z0-9]{1,12}$/.test(name)) {
    throw usage(`--name: ${quote(name)} is not a valid lab name (1-12 lower-case letters and digits)`, '--name', name);
  }
  return name;
}

export function labPrefix(lab: string): string {
  return `tri-${lab}-`;
}

export function labRunDir(lab: string, root = LAB_ROOT): string {
  return `${root}/${lab}`;
}

export function nodeName(index: number): string {
  return `node-${index + 1}`;
}

export function nodeAddress(index: number): string {
  return `${UNDERLAY_PREFIX}.${index + 11}`;
}

/** Pod namespace name: kept under the lab's prefix; `.` is legal in netns names but not wanted. */
export function podNetnsName(lab: string, ns: string, pod: string): string {
  return `${labPrefix(lab)}pod-${ns}-${pod}`.replaceAll('.', '_');
}

/** Plan of a fresh lab (no pids yet). */
export function planLab(opts: {
  name: string;
  nodes: number;
  encap: Encap;
  podCidr: string;
  serviceCidr?: string;
  routeReflector?: string | undefined;
  datastore?: LabDatastore;
  tor?: boolean;
  externals?: number;
  dataplane?: LabDataplane;
  wireguard?: boolean;
  typha?: number;
  etcdMembers?: number;
  root?: string;
  now?: Date;
}): LabState {
  const dataplane = opts.dataplane ?? 'nft';
  if (!(LAB_DATAPLANES as readonly string[]).includes(dataplane)) {
    throw usage(`--dataplane: ${quote(dataplane)} is not nft or bpf`, '--dataplane', dataplane);
  }
  const externals = opts.externals ?? 1;
  if (!Number.isInteger(externals) || externals < 1 || externals > MAX_EXTERNALS) {
    throw usage(`--externals: ${quote(String(externals))} is not a number from 1 to ${MAX_EXTERNALS}`, '--externals', externals);
  }
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    throw usage(`--nodes: ${quote(String(opts.nodes))} is not a number from 1 to ${MAX_NODES}`, '--nodes', opts.nodes);
  }
  const typha = opts.typha ?? 0;
  if (!Number.isInteger(typha) || typha < 0 || typha > opts.nodes) {
    throw usage(`--typha: ${quote(String(typha))} is not a number from 0 to the number of nodes (${opts.nodes}): each replica runs in its own node`, '--typha', typha);
  }
  const prefix = labPrefix(opts.name);
  const runDir = labRunDir(opts.name, opts.root);
  const nodes: LabNode[] = [];
  for (let i = 0; i < opts.nodes; i++) {
    const name = nodeName(i);
    nodes.push({ name, netns: `${prefix}${name}`, address: nodeAddress(i), uplink: `n${i + 1}`, runDir: `${runDir}/nodes/${name}` });
  }
  if (opts.routeReflector !== undefined && !nodes.some((n) => n.name === opts.routeReflector)) {
    throw usage(`--route-reflector: ${quote(opts.routeReflector)} is not a node of this lab (node-1 … node-${opts.nodes})`, '--route-reflector', opts.routeReflector);
  }
  const datastore = opts.datastore ?? 'embedded';
  if (!(LAB_DATASTORES as readonly string[]).includes(datastore)) {
    throw usage(`--datastore: ${quote(datastore)} is not embedded or etcdv3`, '--datastore', datastore);
  }
  const etcdDir = `${runDir}/etcd`;
  const members = opts.etcdMembers ?? 1;
  if (!(LAB_ETCD_MEMBER_COUNTS as readonly number[]).includes(members)) {
    throw usage(`--etcd-members: ${quote(String(members))} is not 1, 3 or 5 (an odd count, so a majority survives losing members)`, '--etcd-members', members);
  }
  if (members > 1 && datastore !== 'etcdv3') {
    throw usage(`--etcd-members: ${quote(String(members))} needs --datastore etcdv3 (the embedded store has no members)`, '--etcd-members', members);
  }
  const memberEndpoints = Array.from({ length: members }, (_, i) => `unixs://${etcdDir}/etcd-${i + 1}:2379`).join(',');
  return {
    name: opts.name,
    prefix,
    runDir,
    datastore,
    datastorePath: `${runDir}/datastore.db`,
    etcd:
      datastore !== 'etcdv3'
        ? undefined
        : members > 1
          ? { netns: `${prefix}etcd`, dir: etcdDir, endpoint: memberEndpoints, pki: `${etcdDir}/pki`, members }
          : { netns: `${prefix}etcd`, dir: etcdDir, endpoint: `unixs://${etcdDir}/${ETCD_SOCKET_NAME}`, pki: `${etcdDir}/pki` },
    tor: opts.tor === true ? { netns: `${prefix}tor`, address: TOR_ADDRESS, asNumber: TOR_AS, uplink: 'tor0', configPath: `${runDir}/tor/gobgpd.toml` } : undefined,
    createdAt: (opts.now ?? new Date()).toISOString(),
    ...(dataplane === 'bpf' ? { dataplane } : {}),
    ...(typha > 0 ? { typha } : {}),
    encap: opts.encap,
    wireguard: opts.wireguard === true,
    podCidr: opts.podCidr,
    serviceCidr: opts.serviceCidr ?? DEFAULT_SERVICE_CIDR,
    underlayNetns: `${prefix}underlay`,
    externalNetns: `${prefix}external`,
    externalIP: EXTERNAL_IP,
    externals: Array.from({ length: externals }, (_, i) => externalHost(prefix, i)),
    routeReflector: opts.routeReflector,
    nodes,
    pids: [],
  };
}

/** The i-th external host (i ≥ 0): external-1 keeps the single-external lab's namespace and address. */
export function externalHost(prefix: string, i: number): LabExternal {
  return { name: `external-${i + 1}`, netns: i === 0 ? `${prefix}external` : `${prefix}external-${i + 1}`, ip: `203.0.113.${10 + i}`, uplink: `ext${i + 1}` };
}

/** A lab's external hosts (an older lab's state names only the first). */
export function labExternals(s: LabState): readonly LabExternal[] {
  return s.externals ?? [{ name: 'external-1', netns: s.externalNetns, ip: s.externalIP, uplink: 'ext0' }];
}

/** `external` (the first one) or `external-N` → that external host, or undefined. */
export function findExternal(s: LabState, name: string): LabExternal | undefined {
  const all = labExternals(s);
  return name === 'external' ? all[0] : all.find((e) => e.name === name);
}

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `NS/NAME` as the lab's commands take it. */
export function parseNamespacedName(text: string, what = 'pod'): NamespacedName {
  const parts = text.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || namespace === undefined || name === undefined || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw usage(`${what}: ${quote(text)} is not NAMESPACE/NAME (lower-case DNS names)`, what, text);
  }
  return { namespace, name };
}

export function validateNamespaceName(name: string): string {
  if (!DNS_LABEL.test(name)) throw usage(`namespace: ${quote(name)} is not a valid namespace name (a DNS label)`, 'namespace', name);
  return name;
}

/** `k=v,k2=v2` (empty string: no labels). */
export function parseLabelList(text: string, field = '--labels'): Record<string, string> {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k) || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v)) {
      throw usage(`${field}: ${quote(item)} is not a label key=value`, field, item);
    }
    out[k] = v;
  }
  return out;
}

/** `kubectl label` style edits: `k=v` sets, `k-` removes. */
export function applyLabelEdits(labels: Readonly<Record<string, string>>, edits: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  if (edits.length === 0) throw usage('labels: give at least one k=v or k- edit', 'labels', edits);
  for (const e of edits) {
    if (e.endsWith('-') && !e.includes('=')) {
      delete out[e.slice(0, -1)];
      continue;
    }
    Object.assign(out, parseLabelList(e, 'labels'));
  }
  return out;
}

function parsePort(text: string, field: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw usage(`${field}: ${quote(text)} is not a port from 1 to 65535`, field, text);
  return n;
}

/**
 * `lab probe --port 80,81` (also repeatable): the ports to probe, in the order given, each once.
 * An empty item (`80,`) or a number outside 1-65535 is refused, naming --port and the item.
 */
export function parseProbePorts(items: readonly string[]): number[] {
  const out: number[] = [];
  for (const item of items.flatMap((x) => x.split(','))) {
    const port = parsePort(item.trim(), '--port');
    if (!out.includes(port)) out.push(port);
  }
  return out;
}

/** `lab probe --protocol tcp,udp` (default tcp): the protocols to probe, in the order given, each once. */
export function parseProbeProtocols(items: readonly string[]): ('tcp' | 'udp')[] {
  const out: ('tcp' | 'udp')[] = [];
  for (const item of items.flatMap((x) => x.split(','))) {
    const v = item.trim().toLowerCase();
    if (v !== 'tcp' && v !== 'udp') throw usage(`--protocol: ${quote(item)} is not tcp or udp`, '--protocol', item);
    if (!out.includes(v)) out.push(v);
  }
  return out.length === 0 ? ['tcp'] : out;
}

/** `--serve tcp:80,udp:81`. */
export function parseServe(text: string): ServePort[] {
  const out: ServePort[] = [];
  for (const item of text.split(',').filter((s) => s.trim() !== '')) {
    const m = /^(tcp|udp):(\d+)$/i.exec(item.trim());
    if (m === null) throw usage(`--serve: ${quote(item)} is not PROTO:PORT (tcp:80, udp:53)`, '--serve', item);
    const protocol = (m[1] ?? '').toLowerCase() as 'tcp' | 'udp';
    const port = parsePort(m[2] ?? '', '--serve');
    if (!out.some((p) => p.protocol === protocol && p.port === port)) out.push({ protocol, port });
  }
  return out;
}

/**
 * `--named-port NAME=PROTO:PORT` (repeatable): container ports the pod declares whether or not it
 * serves them, as a Deployment's pods do, so named-port policy can resolve per pod. NAME is an
 * IANA service name (what Kubernetes takes for a container port name); a name given twice, or
 * one that is a --serve port's own name, is refused.
 */
export function parseNamedPorts(items: readonly string[], serve: readonly ServePort[] = []): NamedPort[] {
  const out: NamedPort[] = [];
  for (const item of items) {
    const m = /^([^=]*)=(tcp|udp):(\d+)$/i.exec(item.trim());
    if (m === null) throw usage(`--named-port: ${quote(item)} is not NAME=PROTO:PORT (web=tcp:81)`, '--named-port', item);
    const name = m[1] ?? '';
    const problem = ianaServiceNameProblem(name);
    if (problem !== undefined) throw usage(`--named-port: ${quote(item)}: the name ${quote(name)} ${problem}`, '--named-port', item);
    if (out.some((p) => p.name === name)) throw usage(`--named-port: ${quote(item)}: the name ${quote(name)} is given twice`, '--named-port', item);
    if (serve.some((p) => servePortName(p) === name)) throw usage(`--named-port: ${quote(item)}: ${quote(name)} is the name of a --serve port`, '--named-port', item);
    out.push({ name, protocol: (m[2] ?? '').toLowerCase() as 'tcp' | 'udp', port: parsePort(m[3] ?? '', '--named-port') });
  }
  return out;
}

/** Container port name for a served port (the issue's contract: `serve-80-tcp`). */
export function servePortName(p: ServePort): string {
  return `serve-${p.port}-${p.protocol}`;
}

/** `--port PORT[:TARGETPORT][/PROTO]`. */
export function parseServicePort(text: string): ServicePortSpec {
  const m = /^(\d+)(?::(\d+))?(?:\/(tcp|udp))?$/i.exec(text.trim());
  if (m === null) throw usage(`--port: ${quote(text)} is not PORT[:TARGETPORT][/PROTO]`, '--port', text);
  const port = parsePort(m[1] ?? '', '--port');
  const targetPort = m[2] === undefined ? port : parsePort(m[2], '--port');
  const protocol = (m[3] ?? 'tcp').toUpperCase() as 'TCP' | 'UDP';
  return { port, targetPort, protocol };
}

/** The n-th address (n ≥ 0) of an IPv4 CIDR, refusing to run past its end. */
export function nthAddress(cidr: string, n: number): string {
  const [base, lenText] = cidr.split('/');
  const len = Number(lenText);
  const octets = (base ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !Number.isInteger(len) || len < 0 || len > 32) {
    throw usage(`CIDR ${quote(cidr)} is not an IPv4 CIDR`, 'cidr', cidr);
  }
  const size = 2 ** (32 - len);
  if (n < 0 || n >= size) throw new TricolorError('ERR_IPAM_EXHAUSTED', `no address left in ${cidr}`, { value: cidr });
  const ipnum = (octets[0] ?? 0) * 2 ** 24 + (octets[1] ?? 0) * 2 ** 16 + (octets[2] ?? 0) * 2 ** 8 + (octets[3] ?? 0);
  const start = ipnum - (ipnum % size);
  const v = start + n;
  return [Math.floor(v / 2 ** 24) % 256, Math.floor(v / 2 ** 16) % 256, Math.floor(v / 2 ** 8) % 256, v % 256].join('.');
}

/** The first free cluster IP (from the 10th address on, as Kubernetes keeps .1 for the API). */
export function allocateClusterIP(serviceCidr: string, used: ReadonlySet<string>): string {
  for (let n = 10; ; n++) {
    const ip = nthAddress(serviceCidr, n);
    if (!used.has(ip)) return ip;
  }
}

export interface HostsService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
}

/** /etc/netns/<pod-netns>/hosts for a pod: itself, then every service (short name in its own namespace). */
export function renderHostsFile(pod: { namespace: string; name: string; ip: string }, services: readonly HostsService[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${pod.ip}\t${pod.name}`];
  const sorted = [...services].sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
  for (const s of sorted) {
    const names = [`${s.name}.${s.namespace}.svc.cluster.local`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}`];
    if (s.namespace === pod.namespace) names.push(s.name);
    lines.push(`${s.clusterIP}\t${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** Pick the node for a new pod: the one with the fewest pods, ties to the lowest index. */
export function pickNode(nodes: readonly string[], pods: readonly { node: string }[]): string {
  const counts = new Map(nodes.map((n) => [n, 0]));
  for (const p of pods) counts.set(p.node, (counts.get(p.node) ?? 0) + 1);
  let best: string | undefined;
  for (const n of nodes) if (best === undefined || (counts.get(n) ?? 0) < (counts.get(best) ?? 0)) best = n;
  if (best === undefined) throw new BugError('lab has no nodes');
  return best;
}

/** The datastore settings every lab process gets, in the environment form of Calico's components. */
function cniEtcdTls(e: LabEtcd): Record<string, string> {
  const t = labEtcdTls(e, 'cni');
  return t === undefined ? {} : { etcd_ca_cert_file: t.ca, etcd_cert_file: t.cert, etcd_key_file: t.key };
}

/** The components that get a client certificate of their own for the lab's etcd. */
export const LAB_ETCD_CLIENTS = ['lab', 'cli', 'agent', 'cni', 'proxy', 'controllers', 'typha'] as const;

/** Typha's port in the lab (Calico's). */
export const LAB_TYPHA_PORT = 5473;
/** Typha's health port in the lab (Calico's), on each replica's namespace loopback. */
export const LAB_TYPHA_HEALTH_PORT = 9098;

/** The nodes running a Typha replica, and the FELIX_TYPHAADDR value every agent gets. */
export function labTyphaNodes(s: Pick<LabState, 'typha' | 'nodes'>): readonly LabNode[] {
  return s.nodes.slice(0, s.typha ?? 0);
}
export function labTyphaAddr(s: Pick<LabState, 'typha' | 'nodes'>): string | undefined {
  const ns = labTyphaNodes(s);
  return ns.length === 0 ? undefined : ns.map((n) => `${n.address}:${LAB_TYPHA_PORT}`).join(',');
}
export type LabEtcdClient = (typeof LAB_ETCD_CLIENTS)[number];

/** CA, certificate and key files of one component's etcd client identity. */
export function labEtcdTls(e: LabEtcd, component: LabEtcdClient): { ca: string; cert: string; key: string } | undefined {
  return e.pki === undefined ? undefined : { ca: `${e.pki}/ca.crt`, cert: `${e.pki}/${component}.crt`, key: `${e.pki}/${component}.key` };
}

export function labDatastoreEnv(s: Pick<LabState, 'datastore' | 'datastorePath' | 'etcd'>, component: LabEtcdClient = 'lab'): Record<string, string> {
  if (s.datastore === 'etcdv3' && s.etcd !== undefined) {
    const tls = labEtcdTls(s.etcd, component);
    return { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: s.etcd.endpoint, ...(tls === undefined ? {} : { ETCD_CA_CERT_FILE: tls.ca, ETCD_CERT_FILE: tls.cert, ETCD_KEY_FILE: tls.key }) };
  }
  return { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: s.datastorePath };
}

/** A short description of where the lab's data lives, for status and progress lines. */
export function describeLabDatastore(s: Pick<LabState, 'datastore' | 'datastorePath' | 'etcd'>): string {
  return s.datastore === 'etcdv3' && s.etcd !== undefined ? `etcdv3 ${s.etcd.endpoint}` : `embedded ${s.datastorePath}`;
}

/** The CalicoAPIConfig of the pointer file: plain `tricolor` commands on the host use the lab's datastore. */
export function renderPointerConfig(s: Pick<LabState, 'name' | 'datastore' | 'datastorePath' | 'etcd'>): string {
  const tls = s.etcd === undefined ? undefined : labEtcdTls(s.etcd, 'cli');
  const spec =
    s.datastore === 'etcdv3' && s.etcd !== undefined
      ? ['  datastoreType: etcdv3', `  etcdEndpoints: ${s.etcd.endpoint}`, ...(tls === undefined ? [] : [`  etcdCACertFile: ${tls.ca}`, `  etcdCertFile: ${tls.cert}`, `  etcdKeyFile: ${tls.key}`])]
      : ['  datastoreType: embedded', `  datastorePath: ${s.datastorePath}`];
  return [
    '# Written by `tricolor lab up`: while this lab is up, plain `tricolor` commands use its datastore.',
    'apiVersion: projectcalico.org/v3',
    'kind: CalicoAPIConfig',
    'metadata:',
    `  name: ${s.name}`,
    'spec:',
    ...spec,
    '',
  ].join('\n');
}

/** gobgpd's configuration for the tor router: its own AS, one eBGP neighbour per node. */
export function renderTorConfig(tor: Pick<LabTor, 'address' | 'asNumber'>, nodes: readonly { address: string }[], clusterAs = CLUSTER_AS): string {
  const lines = ['# gobgpd of the lab\'s tor router (written by `tricolor lab up --tor`)', '[global.config]', `  as = ${tor.asNumber}`, `  router-id = "${tor.address}"`, `  local-address-list = ["${tor.address}"]`, ''];
  for (const n of nodes) {
    lines.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${clusterAs}`, '');
  }
  return lines.join('\n');
}

/** The file a pod's record lives in under the run directory. */
export function podFileName(ns: string, name: string): string {
  return `${ns}_${name}.json`;
}

// ---- files under the run directory -------------------------------------------------------------

/** Per-namespace files (`ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts). */
export const NETNS_ETC = '/etc/netns';

/** The lab's plan and pids, rewritten after each phase of `lab up`. */
export function statePath(runDir: string): string {
  return `${runDir}/state.json`;
}

/** One JSON record per pod (concurrent `pod add`s never race on a shared file). */
export function podsDir(s: Pick<LabState, 'runDir'>): string {
  return `${s.runDir}/pods`;
}

export function logsDir(s: Pick<LabState, 'runDir'>): string {
  return `${s.runDir}/logs`;
}

/** Where lab up installs a node's CNI plugins (tricolor-cni talks to the node agent's socket). */
export function cniBinDir(n: Pick<LabNode, 'runDir'>): string {
  return `${n.runDir}/cni-bin`;
}

// ---- what lab up writes to the datastore -------------------------------------------------------

/** The documents `lab up` applies: the pool, default Felix and BGP configuration, one Node per node, the peers. */
export function labSeedDocuments(s: Pick<LabState, 'podCidr' | 'encap' | 'routeReflector' | 'nodes' | 'tor' | 'dataplane' | 'wireguard'>): unknown[] {
  const docs: unknown[] = [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: s.podCidr, blockSize: 26, ipipMode: 'Never', vxlanMode: s.encap === 'vxlan' ? 'Always' : 'Never', natOutgoing: true, nodeSelector: 'all()' },
    },
    { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { ...(s.dataplane === 'bpf' ? { bpfEnabled: true } : {}), ...(s.wireguard === true ? { wireguardEnabled: true } : {}) } },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { asNumber: CLUSTER_AS, nodeToNodeMeshEnabled: s.routeReflector === undefined, logSeverityScreen: 'Info' },
    },
    ...s.nodes.map((n) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...(n.name === s.routeReflector ? { 'route-reflector': 'true' } : {}) } },
      spec: { bgp: { ipv4Address: `${n.address}/24`, ...(n.name === s.routeReflector ? { routeReflectorClusterID: '224.0.0.1' } : {}) } },
    })),
  ];
  if (s.routeReflector !== undefined) {
    docs.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'peer-with-route-reflectors' },
      spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
    });
  }
  if (s.tor !== undefined) {
    // a global peer (no node selector): every node opens an eBGP session to the tor
    docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: s.tor.address, asNumber: s.tor.asNumber } });
  }
  return docs;
}

/** Where a node's agent writes the pod MTU (underlay less VXLAN's 50 / WireGuard's 60 bytes) for the CNI plugin. */
export function labMtuFile(n: Pick<LabNode, 'runDir'>): string {
  return `${n.runDir}/mtu`;
}

// ---- CNI calls and pod servers -------------------------------------------------------------------

/** CNI_ARGS as the kubelet passes them (K8S_POD_* tell the plugin which pod it is plugging). */
export function cniArgs(p: { namespace: string; name: string; containerId: string }): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.containerId}`;
}

/** The network config a runtime hands the `calico`-compatible plugin on stdin, for one node. */
export function renderCniNetconf(s: Pick<LabState, 'datastore' | 'datastorePath' | 'etcd'>, n: Pick<LabNode, 'name' | 'runDir'>): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'tricolor-cni',
    ...(s.datastore === 'etcdv3' && s.etcd !== undefined ? { datastore_type: 'etcdv3', etcd_endpoints: s.etcd.endpoint, ...cniEtcdTls(s.etcd) } : { datastore_type: 'embedded', datastore_path: s.datastorePath }),
    nodename: n.name,
    nodename_file: `${n.runDir}/nodename`,
    // 0: the MTU the node's agent computed from the underlay and the encapsulations, as Calico's CNI reads it
    mtu: 0,
    mtu_file: labMtuFile(n),
    require_mtu_file: true,
    ipam: { type: 'tricolor-ipam' },
    policy: { type: 'k8s' },
  });
}

/**
 * The shell loop that runs a pod's server as a container runtime runs a container with restart
 * policy Always: when the server exits it is started again a second later, and the exit is logged
 * (pods.log) with its status, so a server that died is visible and never silently missing.
 * SIGTERM/SIGINT stop the loop and the server with it. $1 names the server in the log line.
 */
export const POD_SERVER_SUPERVISOR = [
  'name=$1; shift',
  "trap 'kill $child 2>/dev/null; exit 0' TERM INT",
  'while :; do',
  '  "$@" & child=$!',
  '  wait $child; status=$?',
  '  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) pod server $name exited with status $status; starting it again in 1 s" >&2',
  '  sleep 1',
  'done',
].join('\n');

/**
 * A pod's server in the pod's namespace, echoing what it gets, kept running by
 * POD_SERVER_SUPERVISOR: TCP by socat, UDP by `udpEcho PORT` (the lab's udp-echo-main.ts, one
 * process, no fork per datagram: socat's UDP4-RECVFROM,fork can hang for good, see that file).
 */
export function podServerArgv(netns: string, p: ServePort, pod: string, udpEcho: readonly string[]): string[] {
  // socat forks a child per connection and echoes what it gets: enough for a probe, and a few
  // hundred kB per idle listener, so 500 pods fit. socat's listen backlog is 5 by default: a burst
  // of probes (the restart-gap test's 100 handshakes/s) against a server slowed by a busy node
  // overflows it and the kernel drops SYNs, which would read as a network gap.
  const server = p.protocol === 'tcp' ? ['socat', `TCP4-LISTEN:${p.port},reuseaddr,fork,backlog=1024`, 'PIPE'] : [...udpEcho, String(p.port)];
  return ['ip', 'netns', 'exec', netns, 'sh', '-c', POD_SERVER_SUPERVISOR, 'tricolor-pod-server', `${pod} ${p.protocol}:${p.port}`, ...server];
}

/**
 * The ports of `serve` not yet bound in a namespace, from its /proc/net/{tcp,udp} text: a TCP
 * port counts once a socket listens on it (state 0A), a UDP port once a socket is bound to it.
 */
export function unboundServePorts(serve: readonly ServePort[], procNetTcp: string, procNetUdp: string): ServePort[] {
  const bound = (text: string, state: string | undefined): Set<number> => {
    const out = new Set<number>();
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (local === undefined || (state !== undefined && f[3] !== state)) continue;
      const port = Number.parseInt(local.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) out.add(port);
    }
    return out;
  };
  const tcp = bound(procNetTcp, '0A');
  const udp = bound(procNetUdp, undefined);
  return serve.filter((p) => !(p.protocol === 'tcp' ? tcp : udp).has(p.port));
}

// ---- options and views of the io operations ------------------------------------------------------

export type Progress = (line: string) => void;

export interface LabUpOptions {
  readonly name: string;
  readonly nodes: number;
  readonly encap: Encap;
  readonly podCidr: string;
  readonly routeReflector?: string | undefined;
  /** embedded (default): a SQLite file in the run dir; etcdv3: the lab's own etcd on a unix socket there. */
  readonly datastore?: LabDatastore | undefined;
  /** Add the `tor` router (gobgpd, AS 64513) on the underlay, peered with every node. */
  readonly tor?: boolean | undefined;
  /** External hosts (default 1): external-1 … external-N, each with its own address. */
  readonly externals?: number | undefined;
  /** Run the controllers (default true). */
  readonly controllers?: boolean | undefined;
  /** Flow logs on every node, and the flow aggregator + UI on the host's loopback. */
  readonly flowLogs?: boolean | undefined;
  /** Debian's Prometheus in a lab namespace, scraping every agent, the controllers and the flow aggregator. */
  readonly monitoring?: boolean | undefined;
  /** Typha replicas (default 0: every agent watches the datastore itself). */
  readonly typha?: number | undefined;
  /** Members of the lab's etcd cluster (1, 3 or 5; with --datastore etcdv3). */
  readonly etcdMembers?: number | undefined;
  /** nft (default) or bpf. */
  readonly dataplane?: LabDataplane | undefined;
  /** Encrypt node-to-node traffic with WireGuard (wireguard-go per node). */
  readonly wireguard?: boolean | undefined;
  readonly readyTimeoutMs?: number;
  readonly progress: Progress;
}

export interface LabDownResult {
  readonly namespaces: number;
  readonly processes: number;
}

export interface PodAddOptions {
  readonly namespace: string;
  readonly name: string;
  readonly node?: string | undefined;
  readonly labels: Record<string, string>;
  readonly serviceAccount?: string | undefined;
  readonly serve: readonly ServePort[];
  readonly namedPorts?: readonly NamedPort[];
}

export interface ProbeTarget {
  readonly label: string;
  readonly ip: string;
}

export interface ProbeAllResult {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly results: { from: string; to: string; connected: boolean }[];
}

/** `lab probe --all` over several ports and/or protocols: every result names its protocol and port. */
export interface ProbeMatrixResult {
  readonly ports: number[];
  readonly protocols: ('tcp' | 'udp')[];
  readonly results: { from: string; to: string; protocol: 'tcp' | 'udp'; port: number; connected: boolean }[];
}

/** What a node's service proxy reports in `<runDir>/proxy.json`. */
export interface ProxyStatusView {
  readonly inSync: boolean;
  readonly backends: Readonly<Record<string, readonly string[]>>;
}

/** gobgpd's gRPC API, inside the tor namespace only. */
export const TOR_API_PORT = 50051;
/** gobgp's session_state enum (api.PeerState_SessionState): 1 idle … 6 established. */
export const GOBGP_SESSION_STATES = ['unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

export interface TorView {
  readonly netns: string;
  readonly address: string;
  readonly asNumber: number;
  readonly running: boolean;
  readonly sessions: { peer: string; asNumber: number; state: string }[];
  /** Prefixes in the tor's RIB (pod blocks learned from the nodes). */
  readonly routes: { prefix: string; nextHops: string[] }[];
}

/** One BGP session of a node, as `calicoctl node status` lists it. */
export interface LabBGPSession {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

export interface LabStatusView {
  readonly name: string;
  readonly runDir: string;
  /** `embedded <path>` or `etcdv3 unix://…`. */
  readonly datastore: string;
  readonly datastorePath: string;
  readonly encap: Encap;
  readonly routeReflector: string | null;
  readonly tor: TorView | null;
  /** The flow aggregator and UI (`lab up --flow-logs`), or null. */
  readonly flows?: { readonly url: string } | null;
  /** The lab's Prometheus (`lab up --monitoring`), or null. */
  readonly monitoring?: { readonly url: string; readonly netns: string; readonly address: string } | null;
  /** Typha replicas (`lab up --typha N`): host:port each, the value the agents get in FELIX_TYPHAADDR. */
  readonly typha?: readonly string[];
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly external: { readonly netns: string; readonly ip: string };
  /** Every external host (`lab up --externals N`). */
  readonly externals: readonly { readonly name: string; readonly ip: string }[];
  readonly nodes: {
    name: string;
    netns: string;
    address: string;
    agent: { running: boolean; ready: boolean; endpoints: number; policies: number };
    proxy: { running: boolean; services: number };
    /** null when the node runs no BIRD (or it cannot be asked). */
    bgp: LabBGPSession[] | null;
  }[];
  readonly pods: { namespace: string; name: string; node: string; ip: string; labels: Readonly<Record<string, string>>; serve: string[]; namedPorts?: string[] }[];
  readonly services: { namespace: string; name: string; clusterIP: string; ports: string[]; endpoints: number }[];
}

export function renderLabStatus(v: LabStatusView): string {
  const out: string[] = [];
  out.push(`Lab ${v.name}: encap ${v.encap}, pod CIDR ${v.podCidr}, service CIDR ${v.serviceCidr}`);
  out.push(`  datastore ${v.datastore}`);
  if (v.externals.length <= 1) out.push(`  external host ${v.external.ip} (namespace ${v.external.netns})`);
  else out.push(`  external hosts ${v.externals.map((e) => `${e.name} ${e.ip}`).join(', ')}`);
  if (v.routeReflector !== null) out.push(`  route reflector ${v.routeReflector}`);
  if (v.flows !== undefined && v.flows !== null) out.push(`  flows ${v.flows.url}/ (tricolor flows, or open it in a browser)`);
  if (v.monitoring !== undefined && v.monitoring !== null) out.push(`  prometheus ${v.monitoring.url}/ (namespace ${v.monitoring.netns}; dashboards/tricolor.json)`);
  if (v.typha !== undefined && v.typha.length > 0) out.push(`  typha ${v.typha.join(', ')} (agents and proxies read through it)`);
  out.push('', 'NODES');
  for (const n of v.nodes) {
    out.push(`  ${n.name.padEnd(10)} ${n.address.padEnd(15)} agent ${n.agent.running ? (n.agent.ready ? 'ready' : 'NOT ready') : 'NOT running'} (${n.agent.endpoints} endpoints, ${n.agent.policies} policies)  proxy ${n.proxy.running ? 'running' : 'NOT running'}`);
    if (n.bgp === null) out.push('    BGP: no BIRD status');
    for (const b of n.bgp ?? []) out.push(`    BGP ${b.peerAddress.padEnd(15)} ${b.peerType.padEnd(18)} ${b.state.padEnd(6)} ${b.since.padEnd(10)} ${b.info}`);
  }
  if (v.tor !== null) {
    const t = v.tor;
    const up = t.sessions.filter((x) => x.state === 'Established').length;
    out.push('', `TOR ${t.address} AS ${t.asNumber} (gobgpd ${t.running ? 'running' : 'NOT running'}, namespace ${t.netns}): ${up}/${t.sessions.length} sessions established, ${t.routes.length} routes`);
    for (const x of t.sessions) out.push(`  peer ${x.peer.padEnd(15)} AS ${x.asNumber}  ${x.state}`);
    for (const r of t.routes) out.push(`  route ${r.prefix.padEnd(18)} via ${r.nextHops.join(',')}`);
  }
  out.push('', 'PODS');
  if (v.pods.length === 0) out.push('  (none)');
  for (const p of v.pods) {
    const labels = Object.entries(p.labels).map(([k, x]) => `${k}=${x}`).join(',');
    out.push(`  ${`${p.namespace}/${p.name}`.padEnd(28)} ${p.ip.padEnd(15)} ${p.node.padEnd(10)} ${labels}${p.serve.length > 0 ? `  serves ${p.serve.join(',')}` : ''}${(p.namedPorts ?? []).length > 0 ? `  ports ${(p.namedPorts ?? []).join(',')}` : ''}`);
  }
  out.push('', 'SERVICES');
  if (v.services.length === 0) out.push('  (none)');
  for (const s of v.services) out.push(`  ${`${s.namespace}/${s.name}`.padEnd(28)} ${s.clusterIP.padEnd(15)} ${s.ports.join(',')}  ${s.endpoints} endpoints`);
  return out.join('\n') + '\n';
}
