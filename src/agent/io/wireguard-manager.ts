// The node's WireGuard (node contract §4.18, docs/design/wireguard.md): the key pair (generated
// once, 0600 in the node's state directory, reused across restarts), the supervised wireguard-go,
// its peers over UAPI, the WireGuard table with its no-plaintext guards and the rule (added last),
// the public key published in the Node's status, and the status/metrics view of the peers.
// One reconcile at a time; a request during one runs another right after it.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kindInfoFor } from '../../api/index.ts';
import type { IPPool, Node } from '../../api/index.ts';
import { RerunningTask, TricolorError, quote } from '../../base/index.ts';
import { writeFileAtomic } from '../../base/io/index.ts';
import type { CalcMessage, HostMetadataUpdate } from '../../calc/index.ts';
import { RoutingState, isRoutingMessage } from '../../dataplane/index.ts';
import { ResourceClient } from '../../datastore/index.ts';
import type { DatastoreBackend } from '../../datastore/index.ts';
import {
  WireGuardGo,
  configureLink,
  deleteLinkIfExists,
  findInterfaceWithAddress,
  flushWireGuardTable,
  reconcileWireGuardRule,
  reconcileWireGuardTable,
  runIpBatch,
  wireGuardRuleExists,
} from '../../dataplane/io/index.ts';
import { generatePrivateKey, isWireGuardKey, publicKeyOf } from '../../dataplane/index.ts';
import type { UAPIPeerSet, UAPIPeerState } from '../../dataplane/index.ts';
import { IPAMClient, ensureTunnelAddress, releaseTunnelAddress } from '../../ipam/index.ts';
import type { FelixSpec } from '../agent-config.ts';
import { DEFAULT_HOST_MTU } from '../mtu-plan.ts';
import { DEFAULT_WIREGUARD_INTERFACE, WIREGUARD_FWMARK, desiredWireGuard, rememberPeers, wireguardEnabled } from '../wireguard-plan.ts';
import type { RememberedPeer, WireGuardPeerSpec, WireGuardPlan } from '../wireguard-plan.ts';
import type { WireGuardStatus } from '../wireguard-status.ts';
export type { WireGuardPeerStatus, WireGuardStatus } from '../wireguard-status.ts';

/**
 * What the agent hands over besides the calc graph's messages: FelixConfiguration, the IP pools
 * (where this node's WireGuard tunnel address comes from), the local workload addresses (throw
 * routes) and the Nodes stored with a value that does not validate.
 */
export interface WireGuardManagerInputs {
  readonly felix: FelixSpec;
  readonly pools: readonly IPPool[];
  readonly localWorkloadIPs: readonly string[];
  readonly invalidNodes: ReadonlySet<string>;
}

export interface WireGuardManagerOptions {
  readonly nodeName: string;
  readonly backend: DatastoreBackend;
  /** `<runDir>/wireguard`: private key, peer memory, wireguard-go's /run. */
  readonly stateDir: string;
  /** The wireguard-go executable (default: on PATH). */
  readonly binary?: string;
  readonly log: (msg: string) => void;
  readonly onError: (msg: string) => void;
  readonly onChange: () => void;
  /** How often peer counters are read for status and metrics (default 2 s). */
  readonly statsIntervalMs?: number;
}

const KEY_FILE = 'private.key';
const MEMORY_FILE = 'peers.json';
/** How long a kicked peer keeps a 1 s keepalive before it goes back to the configured value. */
const KICK_KEEPALIVE_MS = 2000;


export class WireGuardManager {
  readonly #o: WireGuardManagerOptions;
  #wg: WireGuardGo;
  #inputs: WireGuardManagerInputs | undefined;
  /** The calc graph's host facts (HostMetadataUpdate per node): peers, endpoints, keys, allowed IPs. */
  readonly #routing = new RoutingState();
  readonly #pass = new RerunningTask(
    async () => {
      try {
        await this.#reconcileOnce();
      } catch (e) {
        this.#o.onError(`WireGuard: ${(e as Error).message}`);
      }
    },
    { stopped: () => this.#stopped },
  );
  #key: { privateKey: string; publicKey: string } | undefined;
  #remembered: Map<string, RememberedPeer>;
  /** The device was configured at least once (by us, or an earlier agent left the rule). */
  #deviceEverOk = false;
  #restartAll = false;
  #fastRestart = false;
  #keptBecause: string | undefined;
  #restarts = 0;
  #deviceName: string | undefined;
  #deviceError: string | undefined;
  #plan: WireGuardPlan | undefined;
  #peerStats = new Map<string, UAPIPeerState>();
  #torn = false;
  #publishWork: Promise<void> | undefined;
  #tunnelWork: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stats: NodeJS.Timeout | undefined;
  /** Keepalive resets after a kick, and publication retries: cleared on stop. */
  #kickTimers = new Set<NodeJS.Timeout>();
  readonly #kicked = new Set<string>();
  #stopped = false;
  #lastReport = '';

  constructor(o: WireGuardManagerOptions) {
    this.#o = o;
    mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    this.#wg = this.#newDevice(DEFAULT_WIREGUARD_INTERFACE);
    this.#remembered = this.#readMemory();
  }

  #newDevice(name: string): WireGuardGo {
    return new WireGuardGo({
      name,
      stateDir: this.#o.stateDir,
      ...(this.#o.binary === undefined ? {} : { binary: this.#o.binary }),
      log: this.#o.log,
      onExit: (why) => this.#onDeviceExit(why),
    });
  }

  setInputs(i: WireGuardManagerInputs): void {
    this.#inputs = i;
  }

  /** Take the calc graph's messages; true when a node's host facts changed (reconcile then). */
  onMessages(msgs: readonly CalcMessage[]): boolean {
    let any = false;
    for (const m of msgs) {
      if (m.type !== 'HostMetadataUpdate' && m.type !== 'HostMetadataRemove') continue;
      if (isRoutingMessage(m)) this.#routing.apply(m);
      any = true;
    }
    return any;
  }

  /** Reconcile now (or right after the one in progress). */
  reconcile(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return this.#pass.run();
  }

  #onDeviceExit(why: string): void {
    this.#restarts++;
    this.#restartAll = true;
    this.#fastRestart = true;
    this.#o.onError(`WireGuard: ${why}; restarting it (no plaintext meanwhile: the device and its routes stay, guarded)`);
    void this.reconcile();
  }

  // ---- keys ---------------------------------------------------------------------------------

  /** The private key from the state directory, generated (0600) the first time. */
  #loadKey(): { privateKey: string; publicKey: string } {
    const file = join(this.#o.stateDir, KEY_FILE);
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      if (!isWireGuardKey(text)) {
        throw new TricolorError('ERR_VALIDATION', `WireGuard private key file ${quote(file)} does not hold a WireGuard key; remove it to have a new key generated`, { value: file });
      }
      if (this.#key?.privateKey !== text) this.#key = { privateKey: text, publicKey: publicKeyOf(text) };
      return this.#key;
    }
    const privateKey = generatePrivateKey();
    writeFileAtomic(file, `${privateKey}\n`, { mode: 0o600 });
    this.#key = { privateKey, publicKey: publicKeyOf(privateKey) };
    this.#o.log(`WireGuard: generated a new key pair (public ${this.#key.publicKey}), private key in ${file}`);
    return this.#key;
  }

  #readMemory(): Map<string, RememberedPeer> {
    try {
      const v = JSON.parse(readFileSync(join(this.#o.stateDir, MEMORY_FILE), 'utf8')) as Record<string, RememberedPeer>;
      return new Map(Object.entries(v).filter(([, r]) => isWireGuardKey(r.publicKey) && typeof r.endpoint === 'string' && Array.isArray(r.allowedIPs)));
    } catch {
      return new Map();
    }
  }

  #writeMemory(next: Map<string, RememberedPeer>): void {
    const text = JSON.stringify(Object.fromEntries([...next].sort((a, b) => (a[0] < b[0] ? -1 : 1))), null, 2) + '\n';
    if (text === JSON.stringify(Object.fromEntries([...this.#remembered].sort((a, b) => (a[0] < b[0] ? -1 : 1))), null, 2) + '\n') return;
    this.#remembered = next;
    writeFileAtomic(join(this.#o.stateDir, MEMORY_FILE), text, { mode: 0o600 });
  }

  // ---- reconcile ----------------------------------------------------------------------------

  /**
   * wireguard-go died: start it again with the last plan before anything else is looked at — the
   * device, its address and routes are still there (persistent TUN), so this is the whole outage.
   * Link settings and the full UAPI configuration go in parallel; every peer is kicked.
   */
  async #restartNow(): Promise<void> {
    this.#fastRestart = false;
    const plan = this.#plan;
    const key = this.#key;
    const dev = plan?.device;
    if (plan === undefined || !plan.enabled || dev === undefined || key === undefined || dev.name !== this.#wg.name) return;
    const t0 = performance.now();
    await this.#wg.ensure();
    const started = performance.now();
    const link = [`link set dev ${dev.name} mtu ${dev.mtu} up`, ...(dev.address === undefined ? [] : [`addr replace ${dev.address}/32 dev ${dev.name}`])];
    await Promise.all([
      runIpBatch(link),
      this.#wg.set({
        privateKey: key.privateKey,
        listenPort: dev.listenPort,
        fwmark: dev.fwmark,
        replacePeers: true,
        peers: plan.peers.flatMap((p) => [
          { publicKey: p.publicKey, endpoint: p.endpoint, keepaliveSeconds: 0, allowedIPs: p.allowedIPs },
          { publicKey: p.publicKey, keepaliveSeconds: Math.max(1, p.keepaliveSeconds) },
        ]),
      }),
    ]);
    this.#restartAll = false;
    this.#scheduleKeepaliveReset(plan.peers, plan.keepaliveSeconds);
    const done = performance.now();
    this.#o.log(`WireGuard: wireguard-go restarted (pid ${this.#wg.pid ?? '?'}) in ${(started - t0).toFixed(0)} ms, configured with ${plan.peers.length} peers (kicked) in ${(done - started).toFixed(0)} ms`);
  }

  async #reconcileOnce(): Promise<void> {
    const i = this.#inputs;
    if (i === undefined) return;
    if (this.#fastRestart) {
      try {
        await this.#restartNow();
      } catch (e) {
        this.#o.onError(`WireGuard: restart failed: ${(e as Error).message}`);
      }
    }
    const hosts = this.#routing.hosts;
    const me = hosts.get(this.#o.nodeName);
    const myIP = me?.ipv4;
    const parent = myIP === undefined ? undefined : await findInterfaceWithAddress(myIP);
    const base = { nodeName: this.#o.nodeName, hosts, invalidNodes: i.invalidNodes, felix: i.felix, localWorkloadIPs: i.localWorkloadIPs, parentMtu: parent?.mtu, remembered: this.#remembered };
    if (!wireguardEnabled(i.felix)) {
      const plan = desiredWireGuard({ ...base, publicKey: undefined }, DEFAULT_HOST_MTU);
      // reported as off only once it is (rule, table, process and device gone)
      await this.#teardown(this.#plan?.table ?? plan.table);
      this.#plan = plan;
      this.#publish(me, undefined);
      this.#tunnelAddress(i, me, false);
      this.#report();
      return;
    }
    this.#torn = false;
    const key = this.#loadKey();
    const plan = desiredWireGuard({ ...base, publicKey: key.publicKey }, DEFAULT_HOST_MTU);
    const dev = plan.device;
    if (dev === undefined) {
      // Our own Node is absent or unreadable: no plan can be made, so what is programmed stays
      // (tearing down here would send the traffic out in plaintext).
      if (this.#plan?.device === undefined) this.#plan = plan;
      else if (this.#keptBecause !== plan.reason) this.#o.onError(`WireGuard: ${plan.reason}; keeping the programmed device, peers and routes`);
      this.#keptBecause = plan.reason;
      this.#report();
      return;
    }
    this.#plan = plan;
    this.#keptBecause = undefined;
    if (this.#wg.name !== dev.name) {
      // wireguardInterfaceName changed: the old device goes (its routes with it; the guards stay)
      await this.#wg.stop(true);
      await deleteLinkIfExists(this.#wg.name);
      this.#wg = this.#newDevice(dev.name);
    }
    this.#deviceName = dev.name;
    this.#tunnelAddress(i, me, true);

    let deviceOk = false;
    try {
      const how = await this.#wg.ensure();
      if (how !== 'running') this.#o.log(`WireGuard: wireguard-go ${how} for ${dev.name} (pid ${this.#wg.pid ?? '?'}, UAPI ${this.#wg.socketPath})`);
      if (how === 'started') this.#restartAll = true;
      if (await configureLink(dev.name, dev.mtu, dev.address)) this.#o.log(`WireGuard: ${dev.name} MTU ${dev.mtu}${dev.address === undefined ? '' : `, address ${dev.address}/32`}, up`);
      await this.#configurePeers(key.privateKey, plan);
      deviceOk = true;
      this.#deviceEverOk = true;
      if (this.#deviceError !== undefined) this.#o.log(`WireGuard: ${dev.name} working again`);
      this.#deviceError = undefined;
    } catch (e) {
      const msg = (e as Error).message;
      if (this.#deviceError !== msg) this.#o.onError(`WireGuard: ${msg}`);
      this.#deviceError = msg;
      this.#scheduleRetry();
    }
    // The table and the rule follow the plan once the device has ever worked here (this agent, or
    // an earlier one that left the rule): from then on a broken device means dropped packets, not
    // plaintext. Before that, nothing changes: traffic flows as it did before WireGuard was on.
    if (deviceOk || this.#deviceEverOk || (await wireGuardRuleExists(WIREGUARD_FWMARK))) {
      this.#deviceEverOk = true;
      const r = await reconcileWireGuardTable(plan.table, dev.name, plan.routes);
      if (r.added + r.removed > 0) this.#o.log(`WireGuard: table ${plan.table} +${r.added}/-${r.removed} (${plan.routes.length} routes)`);
      for (const e of r.errors) if (deviceOk) this.#o.onError(`WireGuard: ${e}`);
      const rule = await reconcileWireGuardRule({ priority: plan.rulePriority, table: plan.table, fwmark: WIREGUARD_FWMARK }, WIREGUARD_FWMARK);
      if (rule !== 'unchanged') this.#o.log(`WireGuard: rule ${rule}: not fwmark 0x${WIREGUARD_FWMARK.toString(16)} lookup ${plan.table} priority ${plan.rulePriority}`);
    }
    if (deviceOk) this.#publish(me, key.publicKey);
    this.#writeMemory(rememberPeers(this.#remembered, plan));
    this.#ensureStatsTimer();
    this.#report();
  }

  /** Bring wireguard-go's peers to the plan: changed peers only, so live sessions stay. */
  async #configurePeers(privateKey: string, plan: WireGuardPlan): Promise<void> {
    const dev = plan.device;
    if (dev === undefined) return;
    const cur = await this.#wg.get();
    const keyChanged = cur.privateKey !== privateKey;
    const byKey = new Map(cur.peers.map((p) => [p.publicKey, p]));
    const wanted = new Map(plan.peers.map((p) => [p.publicKey, p]));
    const sets: UAPIPeerSet[] = [];
    const fresh: WireGuardPeerSpec[] = [];
    for (const p of cur.peers) if (!wanted.has(p.publicKey)) sets.push({ publicKey: p.publicKey, remove: true });
    for (const p of plan.peers) {
      const c = byKey.get(p.publicKey);
      const same =
        c !== undefined &&
        c.endpoint === p.endpoint &&
        (c.keepaliveSeconds === p.keepaliveSeconds || this.#kicked.has(p.publicKey)) &&
        JSON.stringify([...c.allowedIPs].sort()) === JSON.stringify([...p.allowedIPs].sort());
      if (c === undefined) fresh.push(p);
      if (!same) sets.push({ publicKey: p.publicKey, endpoint: p.endpoint, keepaliveSeconds: p.keepaliveSeconds, allowedIPs: p.allowedIPs });
    }
    const restart = this.#restartAll;
    if (keyChanged || cur.listenPort !== dev.listenPort || cur.fwmark !== dev.fwmark || sets.length > 0) {
      await this.#wg.set({
        ...(keyChanged ? { privateKey } : {}),
        ...(cur.listenPort !== dev.listenPort ? { listenPort: dev.listenPort } : {}),
        ...(cur.fwmark !== dev.fwmark ? { fwmark: dev.fwmark } : {}),
        peers: sets,
      });
      const removed = sets.filter((s) => s.remove === true).length;
      this.#o.log(`WireGuard: configured ${dev.name}${keyChanged ? ' (private key)' : ''}: ${plan.peers.length} peers (${fresh.length} new, ${sets.length - removed - fresh.length} changed, ${removed} removed)`);
    }
    this.#restartAll = false;
    // A restarted wireguard-go, a new key, a new peer: the other side still holds a session we
    // no longer have and would wait for WireGuard's 15 s rekey timer. One keepalive from here
    // starts a handshake at once (measured: ~0.2–0.4 s instead of 15 s).
    const kick = restart || keyChanged ? plan.peers : fresh;
    if (kick.length > 0) await this.#kick(kick, plan.keepaliveSeconds);
  }

  async #kick(peers: readonly WireGuardPeerSpec[], keepaliveSeconds: number): Promise<void> {
    // Going from 0 to non-zero makes wireguard-go send a keepalive immediately.
    await this.#wg.set({ peers: peers.flatMap((p) => [{ publicKey: p.publicKey, keepaliveSeconds: 0 }, { publicKey: p.publicKey, keepaliveSeconds: Math.max(1, keepaliveSeconds) }]) });
    this.#scheduleKeepaliveReset(peers, keepaliveSeconds);
  }

  #scheduleKeepaliveReset(peers: readonly WireGuardPeerSpec[], keepaliveSeconds: number): void {
    if (keepaliveSeconds > 0) return;
    // until the reset, a reconcile must not take the 1 s keepalive for drift
    for (const p of peers) this.#kicked.add(p.publicKey);
    const t = setTimeout(() => {
      this.#kickTimers.delete(t);
      for (const p of peers) this.#kicked.delete(p.publicKey);
      const still = new Set((this.#plan?.peers ?? []).map((p) => p.publicKey));
      const back = peers.filter((p) => still.has(p.publicKey)).map((p) => ({ publicKey: p.publicKey, keepaliveSeconds: 0 }));
      if (back.length > 0 && !this.#stopped) this.#wg.set({ peers: back }).catch(() => undefined);
    }, KICK_KEEPALIVE_MS);
    t.unref();
    this.#kickTimers.add(t);
  }

  /** WireGuard off: rule first (traffic returns to the main table), then the table, the process, the device. */
  async #teardown(table: number): Promise<void> {
    if (this.#torn) return;
    const had = await wireGuardRuleExists(WIREGUARD_FWMARK);
    await reconcileWireGuardRule(undefined, WIREGUARD_FWMARK);
    if (had || this.#deviceEverOk) await flushWireGuardTable(table);
    await this.#wg.stop(true);
    const name = this.#deviceName ?? 'wireguard.cali';
    const deleted = await deleteLinkIfExists(name);
    if (had || deleted) this.#o.log(`WireGuard: turned off (rule, table ${table}, wireguard-go and ${name} removed)`);
    this.#deviceEverOk = false;
    this.#deviceError = undefined;
    this.#peerStats.clear();
    this.#writeMemory(new Map());
    this.#torn = true;
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined || this.#stopped) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.reconcile();
    }, 1000);
    this.#retry.unref();
  }

  // ---- the Node: public key and tunnel address ------------------------------------------------

  /**
   * Publish (or, WireGuard off, clear) `status.wireguardPublicKey`: get + compare-and-swap update,
   * retried at once on a conflict and every 2–4 s on other errors (Felix's policy).
   */
  #publish(me: HostMetadataUpdate | undefined, publicKey: string | undefined): void {
    if (me === undefined || this.#publishWork !== undefined) return;
    const have = me.wireguardPublicKey;
    if ((have ?? '') === (publicKey ?? '')) return;
    this.#publishWork = this.#updateNode((n) => {
      const { wireguardPublicKey: _old, ...rest } = n.status ?? {};
      return { ...n, status: publicKey === undefined ? rest : { ...rest, wireguardPublicKey: publicKey } };
    })
      .then(() => this.#o.log(publicKey === undefined ? 'WireGuard: public key removed from the Node' : `WireGuard: public key ${publicKey} published in Node ${this.#o.nodeName}`))
      .catch((e: unknown) => {
        this.#o.onError(`WireGuard: cannot publish the public key: ${(e as Error).message} (retrying)`);
        const t = setTimeout(() => {
          this.#kickTimers.delete(t);
          void this.reconcile();
        }, 2000 + Math.random() * 2000);
        t.unref();
        this.#kickTimers.add(t);
      })
      .finally(() => (this.#publishWork = undefined));
  }

  /** Calico's WireGuard tunnel address (`spec.wireguard.interfaceIPv4Address`, handle `wireguard-tunnel-addr-<node>`). */
  #tunnelAddress(i: WireGuardManagerInputs, me: HostMetadataUpdate | undefined, want: boolean): void {
    if (this.#tunnelWork !== undefined || me === undefined) return;
    const node = this.#o.nodeName;
    const have = me.wireguardTunnelAddr;
    let work: (() => Promise<void>) | undefined;
    if (want && (have === undefined || have === '')) {
      const pools = i.pools.filter((p) => p.spec?.disabled !== true && !(p.spec?.cidr ?? '').includes(':')).map((p) => p.metadata.name);
      if (pools.length === 0) return;
      work = async () => {
        const addr = await ensureTunnelAddress(new IPAMClient({ backend: this.#o.backend }), { node, type: 'wireguardTunnelAddress', pools });
        await this.#updateNode((n) => ({ ...n, spec: { ...n.spec, wireguard: { ...n.spec?.wireguard, interfaceIPv4Address: addr } } }));
        this.#o.log(`WireGuard: tunnel address ${addr} written to Node ${node}`);
      };
    } else if (!want && have !== undefined && have !== '') {
      work = async () => {
        await releaseTunnelAddress(new IPAMClient({ backend: this.#o.backend }), node, 'wireguardTunnelAddress');
        await this.#updateNode((n) => {
          const { interfaceIPv4Address: _a, ...rest } = n.spec?.wireguard ?? {};
          return { ...n, spec: { ...n.spec, wireguard: rest } };
        });
        this.#o.log(`WireGuard: tunnel address ${have} released`);
      };
    }
    if (work === undefined) return;
    this.#tunnelWork = work()
      .catch((e: unknown) => this.#o.onError(`WireGuard tunnel address: ${(e as Error).message}`))
      .finally(() => (this.#tunnelWork = undefined));
  }

  async #updateNode(edit: (n: Node) => Node): Promise<void> {
    const info = kindInfoFor('projectcalico.org/v3', 'Node');
    if (info === undefined) throw new TricolorError('ERR_INTERNAL', 'Node kind is not registered');
    const client = new ResourceClient(this.#o.backend);
    for (let attempt = 0; ; attempt++) {
      const cur = (await client.get(info, this.#o.nodeName)) as Node;
      try {
        await client.update(edit(cur));
        return;
      } catch (e) {
        if (attempt >= 5 || (e as { code?: string }).code !== 'ERR_UPDATE_CONFLICT') throw e;
      }
    }
  }

  // ---- status and metrics --------------------------------------------------------------------

  #ensureStatsTimer(): void {
    if (this.#stats !== undefined || this.#stopped) return;
    this.#stats = setInterval(() => void this.refreshStats(), this.#o.statsIntervalMs ?? 2000);
    this.#stats.unref();
  }

  /** Read handshakes and byte counters from wireguard-go now. */
  async refreshStats(): Promise<void> {
    if (this.#plan?.enabled !== true) return;
    try {
      const st = await this.#wg.get();
      this.#peerStats = new Map(st.peers.map((p) => [p.publicKey, p]));
    } catch {
      this.#peerStats.clear();
    }
    this.#report();
  }

  #report(): void {
    const s = JSON.stringify(this.state);
    if (s === this.#lastReport) return;
    this.#lastReport = s;
    this.#o.onChange();
  }

  get state(): WireGuardStatus {
    const plan = this.#plan;
    if (plan === undefined || !plan.enabled || plan.device === undefined) {
      return { enabled: false, reason: plan?.reason ?? 'not reconciled yet', peers: [], plaintext: [], blocked: [], degraded: [] };
    }
    const d = plan.device;
    return {
      enabled: true,
      reason: plan.reason,
      device: {
        name: d.name,
        implementation: 'wireguard-go',
        pid: this.#wg.pid,
        running: this.#wg.pid !== undefined,
        restarts: this.#restarts,
        listenPort: d.listenPort,
        publicKey: this.#key?.publicKey,
        mtu: d.mtu,
        address: d.address,
        table: plan.table,
        rulePriority: plan.rulePriority,
        error: this.#deviceError,
      },
      peers: plan.peers.map((p) => {
        const s = this.#peerStats.get(p.publicKey);
        return {
          node: p.node,
          publicKey: p.publicKey,
          endpoint: s?.endpoint ?? p.endpoint,
          lastHandshake: s === undefined || s.lastHandshakeSec === 0 ? undefined : new Date(s.lastHandshakeSec * 1000).toISOString(),
          rxBytes: s?.rxBytes ?? 0,
          txBytes: s?.txBytes ?? 0,
          remembered: p.remembered,
        };
      }),
      plaintext: plan.plaintext,
      blocked: plan.blocked,
      degraded: plan.degraded,
    };
  }

  /** Wait for background work (tests, shutdown). */
  async settle(): Promise<void> {
    await this.#pass.running;
    await this.#publishWork;
    await this.#tunnelWork;
  }

  /** Stop supervising; wireguard-go, the device, table and rule stay (as Felix leaves the kernel device). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of [this.#retry, this.#stats, ...this.#kickTimers]) if (t !== undefined) clearTimeout(t);
    await this.settle().catch(() => undefined);
    await this.#wg.stop(false);
  }
}
