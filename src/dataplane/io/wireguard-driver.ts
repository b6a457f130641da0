// Kernel and process plumbing for WireGuard on a machine without the kernel module (node contract
// §4.18; docs/design/wireguard.md): a supervised `wireguard-go` per node on a persistent TUN,
// configured over its UAPI socket, plus the WireGuard routing table and its policy rule.
//
// Why it is built this way (all measured, see the design note):
// - wireguard-go always listens on /var/run/wireguard/<if>.sock, a host path every network
//   namespace shares: a second node's wireguard-go would find the first one's socket. Each
//   node's wireguard-go therefore runs in a private mount namespace with the node's own directory
//   bound over /run; the agent reaches the socket through that directory's host path.
// - A TUN that wireguard-go creates disappears with it, and the kernel drops every route through
//   it; BIRD's or VXLAN's main-table routes would then carry the traffic in plaintext. The TUN is
//   created persistent beforehand (`ip tuntap … pi`, the framing wireguard-go uses): killed,
//   wireguard-go leaves the device, its address and routes in place with no carrier, so packets
//   are dropped, and a new wireguard-go attaches to the same device.
// - wireguard-go outlives the agent (as Felix's kernel device does): a restarted agent adopts the
//   running one when its socket answers, so an agent restart costs no session.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { TricolorError, quote, sleep } from '../../base/index.ts';
import { UAPI_GET, parseUAPIGet, renderUAPISet, uapiErrno } from '../wireguard-uapi.ts';
import type { UAPIDeviceState, UAPISet } from '../wireguard-uapi.ts';
import { commandError, parseIpJson, runCommand, runCommandRaw } from './exec.ts';

/** Longest path a unix socket address holds (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
const UAPI_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 5000;

/** Send one UAPI request and return the reply up to and including its `errno=N` line. */
export function uapiRequest(socketPath: string, request: string, timeoutMs = UAPI_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new TricolorError('ERR_TIMEOUT', `WireGuard UAPI ${quote(socketPath)}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (uapiErrno(buf) !== undefined) {
        clearTimeout(timer);
        s.end();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(new TricolorError('ERR_IO', `WireGuard UAPI ${quote(socketPath)}: ${e.message}`, { cause: e }));
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (uapiErrno(buf) === undefined) reject(new TricolorError('ERR_IO', `WireGuard UAPI ${quote(socketPath)}: connection closed before a reply`));
    });
    s.write(request);
  });
}

/** Is something accepting connections on this unix socket? */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** What errno a UAPI set failed with, in words (wireguard-go returns -errno). */
function uapiProblem(errno: number, set: UAPISet): string {
  if (errno === -98) return `listen port ${set.listenPort ?? '?'} is already in use (EADDRINUSE)`;
  if (errno === -13) return 'permission denied (EACCES)';
  return `errno=${errno}`;
}

/** Find an executable on PATH (or check a path); undefined when there is none. */
export function findExecutable(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface WireGuardGoOptions {
  /** The interface name (`wireguard.cali`). */
  readonly name: string;
  /** The node's WireGuard state directory: `run/` (bound over /run), pid file, log. */
  readonly stateDir: string;
  /** The wireguard-go executable (default: `wireguard-go` on PATH). */
  readonly binary?: string;
  readonly log: (msg: string) => void;
  /** The process stopped (its exit, or its socket stopped answering). */
  readonly onExit: (why: string) => void;
  /** How often an adopted process is checked (default 250 ms). */
  readonly pollMs?: number;
}

/** One node's wireguard-go: start or adopt, supervise, talk UAPI, stop. */
export class WireGuardGo {
  readonly socketPath: string;
  readonly #o: WireGuardGoOptions;
  readonly #runDir: string;
  readonly #pidFile: string;
  readonly #logFile: string;
  #pid: number | undefined;
  #watch: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(o: WireGuardGoOptions) {
    this.#o = o;
    this.#runDir = join(o.stateDir, 'run');
    this.socketPath = join(this.#runDir, 'wireguard', `${o.name}.sock`);
    this.#pidFile = join(o.stateDir, 'wireguard-go.pid');
    this.#logFile = join(o.stateDir, 'wireguard-go.log');
  }

  get name(): string {
    return this.#o.name;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /**
   * Make sure a wireguard-go serves the device: 'running' (ours, answering), 'adopted' (left by an
   * earlier agent, answering), or 'started'. Throws a coded error naming the cause otherwise.
   */
  async ensure(): Promise<'running' | 'adopted' | 'started'> {
    if (this.socketPath.length > MAX_SOCKET_PATH) {
      throw new TricolorError('ERR_VALIDATION', `WireGuard UAPI socket path ${quote(this.socketPath)} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter run directory`, { value: this.socketPath });
    }
    if (await socketAnswers(this.socketPath)) {
      const adopted = this.#pid === undefined;
      if (adopted) this.#pid = readPid(this.#pidFile);
      this.#supervise();
      return adopted ? 'adopted' : 'running';
    }
    const bin = findExecutable(this.#o.binary ?? 'wireguard-go');
    if (bin === undefined) {
      throw new TricolorError('ERR_NOT_FOUND', `wireguard-go: ${quote(this.#o.binary ?? 'wireguard-go')} not found${this.#o.binary?.includes('/') === true ? '' : ' on PATH'} (install wireguard-go; scripts/setup.sh does)`, {
        field: 'wireguard-go',
        value: this.#o.binary ?? 'wireguard-go',
      });
    }
    await this.#killStale();
    await ensurePersistentTun(this.#o.name);
    mkdirSync(this.#runDir, { recursive: true, mode: 0o700 });
    rmSync(this.socketPath, { force: true });
    const out = openSync(this.#logFile, 'a');
    // A private mount namespace with our directory over /run: wireguard-go's fixed socket path
    // becomes <stateDir>/run/wireguard/<if>.sock. `exec` keeps the pid: it is wireguard-go's.
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /run && exec "$2" -f "$3"', 'sh', this.#runDir, bin, this.#o.name], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1' },
    });
    closeSync(out);
    const pid = child.pid;
    if (pid === undefined) throw new TricolorError('ERR_IO', `cannot start wireguard-go for ${this.#o.name}`);
    let exited: string | undefined;
    child.on('exit', (code, signal) => {
      exited = signal !== null ? `killed by ${signal}` : `exited with code ${code ?? '?'}`;
      if (this.#pid === pid) this.#lost(`wireguard-go (pid ${pid}) ${exited}`);
    });
    child.unref();
    this.#pid = pid;
    writeFileSync(this.#pidFile, `${pid}\n`);
    const t0 = performance.now();
    while (!(await socketAnswers(this.socketPath))) {
      if (exited !== undefined || performance.now() - t0 > START_TIMEOUT_MS) {
        if (exited === undefined) process.kill(pid, 'SIGKILL');
        this.#pid = undefined;
        throw new TricolorError('ERR_IO', `wireguard-go for ${this.#o.name} ${exited ?? `did not open its UAPI socket within ${START_TIMEOUT_MS} ms`}: ${logTail(this.#logFile)}`);
      }
      await sleep(5);
    }
    this.#supervise();
    return 'started';
  }

  #supervise(): void {
    if (this.#watch !== undefined) return;
    // Our own child reports its exit; an adopted one (or a hung one) is noticed when its socket
    // stops answering. Zombies make `kill -0` useless here (pid 1 reaps late).
    this.#watch = setInterval(() => {
      void socketAnswers(this.socketPath).then((ok) => {
        if (!ok && this.#watch !== undefined) this.#lost(`wireguard-go${this.#pid === undefined ? '' : ` (pid ${this.#pid})`} stopped answering on its UAPI socket`);
      });
    }, this.#o.pollMs ?? 250);
    this.#watch.unref();
  }

  #lost(why: string): void {
    if (this.#watch !== undefined) clearInterval(this.#watch);
    this.#watch = undefined;
    this.#pid = undefined;
    if (!this.#stopping) this.#o.onExit(why);
  }

  async #killStale(): Promise<void> {
    const pid = readPid(this.#pidFile);
    if (pid === undefined || !isWireGuardGo(pid, this.#o.name)) return;
    this.#o.log(`stopping an unresponsive wireguard-go (pid ${pid})`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 100 && isWireGuardGo(pid, this.#o.name); i++) await sleep(10);
  }

  async set(s: UAPISet): Promise<void> {
    const reply = await uapiRequest(this.socketPath, renderUAPISet(s));
    const errno = uapiErrno(reply);
    if (errno !== 0) throw new TricolorError('ERR_IO', `WireGuard ${this.#o.name}: configuration refused: ${uapiProblem(errno ?? -1, s)}`, { detail: { errno } });
  }

  async get(): Promise<UAPIDeviceState> {
    return parseUAPIGet(await uapiRequest(this.socketPath, UAPI_GET));
  }

  /** Stop supervising; with `kill`, stop the process too (WireGuard turned off). */
  async stop(kill: boolean): Promise<void> {
    this.#stopping = true;
    if (this.#watch !== undefined) clearInterval(this.#watch);
    this.#watch = undefined;
    if (kill) {
      const pid = this.#pid ?? readPid(this.#pidFile);
      if (pid !== undefined && isWireGuardGo(pid, this.#o.name)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
        for (let i = 0; i < 100 && isWireGuardGo(pid, this.#o.name); i++) await sleep(10);
      }
      rmSync(this.#pidFile, { force: true });
      this.#pid = undefined;
    }
    this.#stopping = false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A live (not zombie) wireguard-go for this interface. */
function isWireGuardGo(pid: number, name: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('wireguard-go')) && argv.includes(name);
  } catch {
    return false;
  }
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '' && !/[│┌└─]/.test(l));
    return lines.slice(-3).join(' / ') || '(no output)';
  } catch {
    return '(no log)';
  }
}

// ---- the device ---------------------------------------------------------------------------------

interface LinkState {
  readonly kind: string;
  readonly mtu: number;
  readonly up: boolean;
  readonly carrier: boolean;
}

async function readLink(name: string): Promise<LinkState | undefined> {
  const argv = ['ip', '-j', '-d', 'link', 'show', 'dev', name];
  const r = await runCommandRaw(argv);
  if (r.status !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw commandError(argv, r);
  }
  const l = parseIpJson(r.stdout)[0] as Record<string, unknown> | undefined;
  if (l === undefined) return undefined;
  const info = (l['linkinfo'] ?? {}) as Record<string, unknown>;
  const flags = Array.isArray(l['flags']) ? (l['flags'] as unknown[]) : [];
  return { kind: typeof info['info_kind'] === 'string' ? info['info_kind'] : '', mtu: Number(l['mtu']), up: flags.includes('UP'), carrier: !flags.includes('NO-CARRIER') };
}

/**
 * A persistent TUN named `name` (created when missing). An existing link of another type is
 * refused, as Felix refuses a non-WireGuard link with its device name.
 */
export async function ensurePersistentTun(name: string): Promise<'created' | 'exists'> {
  const cur = await readLink(name);
  if (cur !== undefined) {
    if (cur.kind !== 'tun') throw new TricolorError('ERR_ALREADY_EXISTS', `wireguardInterfaceName: interface ${quote(name)} exists and is not a TUN device (type ${quote(cur.kind || 'unknown')}); remove it or choose another name`, { field: 'wireguardInterfaceName', value: name });
    return 'exists';
  }
  await runCommand(['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tun', 'pi']);
  return 'created';
}

/** MTU, the /32 address (only that one) and admin up. wireguard-go resets the MTU on every start. */
export async function configureLink(name: string, mtu: number, address: string | undefined): Promise<boolean> {
  const cur = await readLink(name);
  if (cur === undefined) throw new TricolorError('ERR_NOT_FOUND', `WireGuard device ${quote(name)} does not exist`);
  const batch: string[] = [];
  if (cur.mtu !== mtu) batch.push(`link set dev ${name} mtu ${mtu}`);
  const addrs = (parseIpJson(await runCommand(['ip', '-j', '-4', 'addr', 'show', 'dev', name])) as Record<string, unknown>[]).flatMap((l) =>
    Array.isArray(l['addr_info']) ? (l['addr_info'] as Record<string, unknown>[]) : [],
  );
  let have = false;
  for (const a of addrs) {
    if (address !== undefined && a['local'] === address && a['prefixlen'] === 32) have = true;
    else batch.push(`addr del ${String(a['local'])}/${String(a['prefixlen'])} dev ${name}`);
  }
  if (address !== undefined && !have) batch.push(`addr add ${address}/32 dev ${name}`);
  if (!cur.up) batch.push(`link set dev ${name} up`);
  if (batch.length === 0) return false;
  await runCommand(['ip', '-batch', '-'], { input: batch.join('\n') + '\n' });
  return true;
}

/** Delete the device (a TUN left by wireguard-go or by us); true if it existed. */
export async function deleteLinkIfExists(name: string): Promise<boolean> {
  const r = await runCommandRaw(['ip', 'link', 'del', 'dev', name]);
  if (r.status === 0) return true;
  if (/does not exist|Cannot find device/i.test(r.stderr)) return false;
  throw commandError(['ip', 'link', 'del', 'dev', name], r);
}

// ---- the WireGuard table and rule ---------------------------------------------------------------

export type WireGuardTableRoute = { readonly type: 'dev' | 'throw' | 'unreachable'; readonly dst: string; readonly metric: number };

function routeSpec(r: WireGuardTableRoute, dev: string): string {
  const metric = r.metric === 0 ? '' : ` metric ${r.metric}`;
  return r.type === 'dev' ? `${r.dst} dev ${dev}${metric}` : `${r.type} ${r.dst}${metric}`;
}

/**
 * Make table `table` hold exactly `desired`. Guards are added before anything else and stale
 * routes deleted last, so no step opens a path the end state does not have.
 */
export async function reconcileWireGuardTable(table: number, dev: string, desired: readonly WireGuardTableRoute[]): Promise<{ added: number; removed: number; errors: string[] }> {
  const show = ['ip', '-j', '-4', 'route', 'show', 'table', String(table)];
  const res0 = await runCommandRaw(show);
  // a table with no routes does not exist yet as far as the kernel is concerned
  if (res0.status !== 0 && !/FIB table does not exist/i.test(res0.stderr)) throw commandError(show, res0);
  const seen = (res0.status === 0 ? parseIpJson(res0.stdout) : []) as Record<string, unknown>[];
  const norm = (d: string): string => (d.includes('/') ? d : `${d}/32`);
  const have = new Set<string>();
  const seenKeys: { dst: string; metric: number; type: string }[] = [];
  for (const r of seen) {
    const type = typeof r['type'] === 'string' && r['type'] !== 'unicast' ? r['type'] : 'dev';
    const dst = norm(String(r['dst']));
    const metric = typeof r['metric'] === 'number' ? r['metric'] : 0;
    if (type === 'dev' && r['dev'] !== dev) {
      seenKeys.push({ dst, metric, type: 'other' });
      continue;
    }
    have.add(`${type} ${dst} ${metric}`);
    seenKeys.push({ dst, metric, type });
  }
  const wantPos = new Set(desired.map((r) => `${r.dst} ${r.metric}`));
  const adds = desired.filter((r) => !have.has(`${r.type} ${r.dst} ${r.metric}`));
  adds.sort((a, b) => (a.type === 'unreachable' ? 0 : 1) - (b.type === 'unreachable' ? 0 : 1));
  const errors: string[] = [];
  let added = 0;
  for (const r of adds) {
    const argv = ['ip', 'route', 'replace', ...routeSpec(r, dev).split(' '), 'table', String(table), 'proto', '80'];
    const res = await runCommandRaw(argv);
    if (res.status === 0) added++;
    else errors.push(`table ${table}: ${routeSpec(r, dev)}: ${res.stderr.trim()}`);
  }
  let removed = 0;
  for (const k of seenKeys) {
    if (wantPos.has(`${k.dst} ${k.metric}`)) continue;
    const argv = ['ip', 'route', 'del', ...(k.type === 'throw' || k.type === 'unreachable' ? [k.type] : []), k.dst, 'table', String(table), 'metric', String(k.metric)];
    const res = await runCommandRaw(argv);
    if (res.status === 0) removed++;
    else if (!/No such process/i.test(res.stderr)) errors.push(`table ${table}: delete ${k.dst} metric ${k.metric}: ${res.stderr.trim()}`);
  }
  return { added, removed, errors };
}

export interface WireGuardRuleSpec {
  readonly priority: number;
  readonly table: number;
  readonly fwmark: number;
}

function markText(m: number): string {
  return `0x${m.toString(16)}`;
}

async function ourRules(fwmark: number): Promise<{ priority: number; table: string }[]> {
  const rules = parseIpJson(await runCommand(['ip', '-j', '-4', 'rule', 'show'])) as Record<string, unknown>[];
  const mark = `${markText(fwmark)}/${markText(fwmark)}`;
  // iproute2 prints the mask apart (`fwmark`, `fwmask`) or joined (`0x…/0x…`) depending on version
  const markOf = (r: Record<string, unknown>): string => (typeof r['fwmask'] === 'string' ? `${String(r['fwmark'])}/${r['fwmask']}` : String(r['fwmark']));
  return rules.filter((r) => 'not' in r && markOf(r) === mark).map((r) => ({ priority: Number(r['priority']), table: String(r['table']) }));
}

/** `not fwmark M/M lookup T` at priority P: exactly one such rule (undefined: none). */
export async function reconcileWireGuardRule(want: WireGuardRuleSpec | undefined, fwmark: number): Promise<'added' | 'removed' | 'unchanged'> {
  const cur = await ourRules(want?.fwmark ?? fwmark);
  let ok = false;
  let outcome: 'added' | 'removed' | 'unchanged' = 'unchanged';
  const mark = `${markText(fwmark)}/${markText(fwmark)}`;
  for (const r of cur) {
    if (want !== undefined && r.priority === want.priority && r.table === String(want.table) && !ok) {
      ok = true;
      continue;
    }
    await runCommand(['ip', 'rule', 'del', 'priority', String(r.priority), 'not', 'fwmark', mark, 'table', r.table]);
    outcome = 'removed';
  }
  if (want !== undefined && !ok) {
    await runCommand(['ip', 'rule', 'add', 'not', 'fwmark', mark, 'table', String(want.table), 'priority', String(want.priority)]);
    outcome = 'added';
  }
  return outcome;
}

/** Does the rule exist already (an earlier agent ran WireGuard here)? */
export async function wireGuardRuleExists(fwmark: number): Promise<boolean> {
  return (await ourRules(fwmark)).length > 0;
}

/** Empty the WireGuard table. */
export async function flushWireGuardTable(table: number): Promise<void> {
  const r = await runCommandRaw(['ip', '-4', 'route', 'flush', 'table', String(table)]);
  if (r.status !== 0 && !/No such|FIB table does not exist/i.test(r.stderr)) throw commandError(['ip', 'route', 'flush', 'table', String(table)], r);
}
