// The ClusterIP service proxy daemon (`tricolor proxy run`): an UpdateSource over Services and
// WorkloadEndpoints (decoded by the datastore codec, as the agent's) feeding the pure renderer, the result applied with `nft -f -` in the network
// namespace this process runs in. Changes are coalesced (one apply per burst) and an unchanged
// ruleset is not re-applied. A status file in the run directory tells the lab what is programmed.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MutableDisposable, RunOnceScheduler, TricolorError, timeout } from '../../base/index.ts';
import { execOk, writeJsonAtomic } from '../../base/io/index.ts';
import { localUpdateSource, type DatastoreBackend, type StoredUpdate, type UpdateSelection, type UpdateSource } from '../../datastore/index.ts';
import { proxyEndpointOf, proxyServiceOf, renderProxyRuleset, resolveBackends, type ProxyEndpoint, type ProxyService } from '../service-proxy-renderer.ts';

export const PROXY_STATUS_FILE = 'proxy.json';

export interface ProxyStatus {
  readonly pid: number;
  readonly nodeName: string;
  readonly inSync: boolean;
  readonly applies: number;
  readonly services: number;
  /** `clusterIP:port/proto` → backends `ip:port`. */
  readonly backends: Readonly<Record<string, readonly string[]>>;
  readonly lastApplyAt: string | undefined;
  readonly lastError: string | undefined;
}

export interface ServiceProxyOptions {
  readonly nodeName: string;
  readonly backend: DatastoreBackend;
  readonly runDir: string;
  readonly log: (line: string) => void;
  /** Coalescing window for bursts of updates. */
  readonly coalesceMs?: number;
  /** Where Services and endpoints come from (default: the local syncer over `backend`). */
  readonly updateSource?: UpdateSource;
  /**
   * eBPF dataplane: write the services into the node's BPF NAT maps through this port (the CLI
   * wires the dataplane's BPF NAT driver) instead of the nft table. The BPF programs DNAT at the
   * client's interface.
   */
  readonly natWriter?: ProxyNatWriter;
}

/** One service frontend (cluster IP, port, protocol number) and its backends, as a NAT map holds it. */
export interface ProxyNatFrontend {
  readonly ip: string;
  readonly port: number;
  /** 6 (TCP) or 17 (UDP). */
  readonly protocol: number;
  readonly backends: readonly { readonly ip: string; readonly port: number }[];
  readonly affinitySecs: number;
}

/** Where a proxy in eBPF mode writes its services (port; the eBPF dataplane's NAT driver). */
export interface ProxyNatWriter {
  apply(frontends: readonly ProxyNatFrontend[]): Promise<void>;
}

/** What the proxy reads. */
export const PROXY_SELECTION: UpdateSelection = {
  kinds: [
    { apiVersion: 'v1', kind: 'Service' },
    { apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint' },
  ],
};

export class ServiceProxy {
  readonly #o: ServiceProxyOptions;
  readonly #services = new Map<string, ProxyService>();
  readonly #endpoints = new Map<string, ProxyEndpoint>();
  #source: UpdateSource | undefined;
  #inSync = false;
  readonly #applier: RunOnceScheduler;
  /** A retry after a failed apply (the next update also retries). */
  readonly #retry = new MutableDisposable();
  #dirty = false;
  #lastText = '';
  #applies = 0;
  #lastApplyAt: string | undefined;
  #lastError: string | undefined;
  #backendsView: Record<string, string[]> = {};

  constructor(o: ServiceProxyOptions) {
    this.#o = o;
    // one apply per burst; an update arriving during an apply queues exactly one more
    this.#applier = new RunOnceScheduler(() => this.#apply(), { delayMs: o.coalesceMs ?? 50 });
  }

  start(): void {
    this.#writeStatus();
    this.#source = this.#o.updateSource ?? localUpdateSource(this.#o.backend, PROXY_SELECTION);
    this.#source.start({
      onStatus: (s) => {
        if (s === 'InSync' && !this.#inSync) {
          this.#inSync = true;
          this.#schedule();
        }
      },
      onUpdates: (us) => this.#onUpdates(us),
    });
  }

  async stop(): Promise<void> {
    await this.#source?.dispose();
    this.#retry.dispose();
    this.#applier.cancel();
    await this.#applier.whenIdle();
    this.#applier.dispose();
  }

  #onUpdates(updates: readonly StoredUpdate[]): void {
    for (const u of updates) {
      if (u.type !== 'resource') continue;
      const isSvc = u.info.kind === 'Service';
      const map: Map<string, unknown> = isSvc ? this.#services : this.#endpoints;
      let decoded: ProxyService | ProxyEndpoint | undefined;
      if (u.value !== undefined) {
        try {
          decoded = isSvc ? proxyServiceOf(u.value) : proxyEndpointOf(u.value);
        } catch (e) {
          // not served (no partial service): say why, with the error's code, field and value
          this.#o.log(`proxy: ${u.key} not served: ${e instanceof TricolorError ? `${e.code}: ` : ''}${(e as Error).message}`);
          decoded = undefined;
        }
      }
      if (decoded === undefined) map.delete(u.key);
      else map.set(u.key, decoded);
    }
    if (this.#inSync) this.#schedule();
  }

  #schedule(): void {
    this.#dirty = true;
    this.#applier.schedule();
  }

  async #apply(): Promise<void> {
    this.#dirty = false;
    const resolved = resolveBackends([...this.#services.values()], [...this.#endpoints.values()]);
    const text = renderProxyRuleset(resolved);
    const view: Record<string, string[]> = {};
    for (const r of resolved) view[`${r.service.clusterIP}:${r.port.port}/${r.port.protocol.toLowerCase()}`] = r.backends.map((b) => `${b.ip}:${b.port}`);
    // what the NAT maps hold: backends and each frontend's affinity (a timeout change is a change)
    const bpfText = JSON.stringify([view, resolved.map((r) => r.service.affinitySecs)]);
    const nat = this.#o.natWriter;
    const want = nat !== undefined ? bpfText : text;
    if (want !== this.#lastText) {
      try {
        if (nat !== undefined) {
          await nat.apply(resolved.map((r) => ({ ip: r.service.clusterIP, port: r.port.port, protocol: r.port.protocol === 'UDP' ? 17 : 6, backends: r.backends, affinitySecs: r.service.affinitySecs })));
        } else await nftApply(text);
        this.#lastText = want;
        this.#applies++;
        this.#lastApplyAt = new Date().toISOString();
        this.#lastError = undefined;
        this.#backendsView = view;
      } catch (e) {
        this.#lastError = (e as Error).message;
        this.#o.log(`proxy: apply failed: ${this.#lastError}`);
        // retry later: the next update or this timer
        this.#retry.value = timeout(() => this.#schedule(), 1000, { unref: true });
      }
    }
    this.#writeStatus();
  }

  #writeStatus(): void {
    const s: ProxyStatus = {
      pid: process.pid,
      nodeName: this.#o.nodeName,
      inSync: this.#inSync && !this.#dirty,
      applies: this.#applies,
      services: this.#services.size,
      backends: this.#backendsView,
      lastApplyAt: this.#lastApplyAt,
      lastError: this.#lastError,
    };
    mkdirSync(this.#o.runDir, { recursive: true });
    writeJsonAtomic(join(this.#o.runDir, PROXY_STATUS_FILE), s, { compact: true });
  }
}

async function nftApply(text: string): Promise<void> {
  await execOk(['nft', '-f', '-'], { input: text });
}
