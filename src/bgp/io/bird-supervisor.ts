// Runs one `bird` as a foreground child (in this network namespace or a given one), keeps it
// alive, and feeds it configuration: a new text is checked with `bird -p` first, written, and
// applied with `configure` over the control socket only when it differs from the running one.
// If BIRD dies it is restarted with exponential backoff. Every BIRD started here is killed on
// stop()/dispose and, as a last resort, when this process exits (base's startChild).

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Backoff, BugError, MutableDisposable, interval, sleep, timeout, TricolorError } from '../../base/index.ts';
import { startChild, type ChildHandle } from '../../base/io/index.ts';
import type { BGPPeerStatus } from '../bird-status.ts';
import { birdCommand, checkBirdConfig, showBGPPeers } from './bird-control.ts';

/** Where BIRD runs: a named namespace (`ip netns exec`) or a namespace file (`nsenter --net=`). */
export type BirdNetns = { readonly name: string } | { readonly path: string };

export type BirdEvent =
  | { readonly kind: 'started'; readonly pid: number }
  | { readonly kind: 'exited'; readonly pid: number; readonly code: number | null; readonly signal: string | null }
  | { readonly kind: 'restarting'; readonly delayMs: number; readonly attempt: number }
  | { readonly kind: 'reloaded' }
  | { readonly kind: 'log'; readonly line: string };

export interface BirdSupervisorOptions {
  /** Directory for bird.cfg, bird.ctl and bird.pid (created if missing). Keep it short: socket paths max out at 107 bytes. */
  readonly runDir: string;
  readonly netns?: BirdNetns;
  readonly birdPath?: string;
  /** First restart delay; doubles up to maxBackoffMs, and resets once BIRD has stayed up for stableAfterMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly stableAfterMs?: number;
  /** How long to wait for the control socket after a start. */
  readonly startTimeoutMs?: number;
  readonly onEvent?: (e: BirdEvent) => void;
}

export class BirdSupervisor implements AsyncDisposable {
  readonly configPath: string;
  readonly socketPath: string;
  readonly pidPath: string;
  readonly #opts: BirdSupervisorOptions;
  #child: ChildHandle | undefined;
  /** A BIRD an earlier owner of this run dir left running, kept because its config is ours. */
  #adopted: number | undefined;
  /** Watches an adopted BIRD (not our child) for its exit. */
  readonly #adoptTimer = new MutableDisposable();
  #text: string | undefined;
  #stopping = false;
  readonly #backoff: Backoff;
  /** The pending restart after BIRD died. */
  readonly #restartTimer = new MutableDisposable();
  /** Resets the back-off once BIRD has stayed up for stableAfterMs. */
  readonly #stableTimer = new MutableDisposable();
  #restarts = 0;
  #exited: Promise<void> = Promise.resolve();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: BirdSupervisorOptions) {
    this.#opts = opts;
    this.#backoff = new Backoff({ initialMs: opts.initialBackoffMs ?? 200, maxMs: opts.maxBackoffMs ?? 10_000 });
    this.configPath = join(opts.runDir, 'bird.cfg');
    this.socketPath = join(opts.runDir, 'bird.ctl');
    this.pidPath = join(opts.runDir, 'bird.pid');
    if (Buffer.byteLength(this.socketPath) > 107) {
      throw new TricolorError('ERR_VALIDATION', `runDir: ${JSON.stringify(opts.runDir)} is too long for a control socket path`, {
        field: 'runDir',
        value: opts.runDir,
      });
    }
  }

  /** PID of the running BIRD, if any. */
  get pid(): number | undefined {
    return this.#child?.running === true ? this.#child.pid : this.#adopted;
  }

  get #running(): boolean {
    return this.#child !== undefined || this.#adopted !== undefined;
  }

  /** How many times BIRD was restarted after dying. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Serialise start/apply/stop so a reload never races a restart. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Set the configuration. Starts BIRD on the first call; later calls reload it only when the
   * text changed. Resolves to what happened. A text BIRD rejects is an ERR_VALIDATION and
   * leaves the running configuration alone.
   */
  apply(text: string): Promise<'started' | 'adopted' | 'reloaded' | 'unchanged'> {
    return this.#serial(async () => {
      if (this.#stopping) throw new BugError('BirdSupervisor.apply() after stop()');
      if (text === this.#text && this.#running) return 'unchanged';
      if (!this.#running && (await this.#adopt(text))) return 'adopted';
      await mkdir(this.#opts.runDir, { recursive: true });
      const candidate = `${this.configPath}.new`;
      await writeFile(candidate, text);
      try {
        await checkBirdConfig(candidate, this.#opts.birdPath);
      } catch (e) {
        await rm(candidate, { force: true });
        throw e;
      }
      await rename(candidate, this.configPath);
      this.#text = text;
      if (!this.#running) {
        await this.#start();
        return 'started';
      }
      const reply = await birdCommand(this.socketPath, 'configure');
      // 0003 reconfigured, 0004 in progress, 0018 unchanged; 8xxx/9xxx are errors.
      if (/^[89]/.test(reply.code)) {
        throw new TricolorError('ERR_IO', `BIRD refused to reconfigure: ${reply.lines.join(' | ')}`, { detail: reply.lines });
      }
      this.#emit({ kind: 'reloaded' });
      return 'reloaded';
    });
  }

  /**
   * After an agent restart (SIGKILL, or systemd's KillMode=process): a live BIRD still running
   * from our config file, whose configuration is exactly what we would give it, is kept as it
   * is — its BGP sessions and routes never flap. Anything else (other text, no answer on the
   * control socket) is replaced by a fresh BIRD as before.
   */
  async #adopt(text: string): Promise<boolean> {
    const pid = await this.#stalePid();
    if (pid === undefined) return false;
    let onDisk: string;
    try {
      onDisk = await readFile(this.configPath, 'utf8');
    } catch {
      return false;
    }
    if (onDisk !== text) return false;
    try {
      await birdCommand(this.socketPath, 'show status', 1000);
    } catch {
      return false;
    }
    this.#adopted = pid;
    this.#text = text;
    this.#emit({ kind: 'log', line: `adopted the running BIRD (pid ${pid}): its configuration is unchanged` });
    this.#emit({ kind: 'started', pid });
    // not our child: watch /proc for its exit
    this.#adoptTimer.value = interval(
      () => {
        if (existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '') return;
        this.#adoptTimer.clear();
        if (this.#adopted !== pid) return;
        this.#adopted = undefined;
        this.#emit({ kind: 'exited', pid, code: null, signal: null });
        if (!this.#stopping) this.#scheduleRestart();
      },
      500,
      { unref: true },
    );
    return true;
  }

  /** The pid in bird.pid if that process runs BIRD on our config file. */
  async #stalePid(): Promise<number | undefined> {
    let pid: number;
    try {
      pid = Number((await readFile(this.pidPath, 'utf8')).trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || pid === this.#child?.pid) return undefined;
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      return cmdline.includes(this.configPath) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  #emit(e: BirdEvent): void {
    this.#opts.onEvent?.(e);
  }

  #argv(): string[] {
    const bird = [this.#opts.birdPath ?? 'bird', '-f', '-c', this.configPath, '-s', this.socketPath, '-P', this.pidPath];
    const ns = this.#opts.netns;
    if (ns === undefined) return bird;
    // Both exec BIRD in place, so the child's pid is BIRD's own.
    return 'name' in ns ? ['ip', 'netns', 'exec', ns.name, ...bird] : ['nsenter', `--net=${ns.path}`, ...bird];
  }

  async #start(): Promise<void> {
    await this.#killStale();
    await rm(this.socketPath, { force: true });
    const argv = this.#argv();
    let child: ChildHandle;
    try {
      child = await startChild(argv, { onLine: (line) => this.#emit({ kind: 'log', line }) });
    } catch (e) {
      throw new TricolorError('ERR_IO', `BIRD: ${(e as Error).message}`, { cause: e });
    }
    this.#child = child;
    this.#exited = child.exited.then(({ code, signal }) => {
      this.#stableTimer.clear();
      this.#emit({ kind: 'exited', pid: child.pid, code, signal });
      if (this.#child === child) this.#child = undefined;
      if (!this.#stopping) this.#scheduleRestart();
    });
    this.#emit({ kind: 'started', pid: child.pid });
    await this.#waitForSocket(child);
    this.#stableTimer.value = timeout(() => this.#backoff.reset(), this.#opts.stableAfterMs ?? 10_000, { unref: true });
  }

  /**
   * A BIRD left by an earlier owner of this run directory (e.g. an agent killed with SIGKILL)
   * would hold the BGP port and the socket: kill it, but only if its command line names our
   * config file (the pid file may be stale and the pid reused).
   */
  async #killStale(): Promise<void> {
    let pid: number;
    try {
      pid = Number((await readFile(this.pidPath, 'utf8')).trim());
    } catch {
      return;
    }
    if (!Number.isInteger(pid) || pid <= 0 || pid === this.#child?.pid) return;
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    } catch {
      return; // not running
    }
    if (!cmdline.includes(this.configPath)) return;
    this.#emit({ kind: 'log', line: `killing a stale BIRD (pid ${pid}) left in ${this.#opts.runDir}` });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')) === '') return; // a zombie: gone as far as the port goes
      } catch {
        return;
      }
      await sleep(20);
    }
  }

  async #waitForSocket(child: ChildHandle): Promise<void> {
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 10_000);
    for (;;) {
      if (!child.running) {
        const e = await child.exited;
        throw new TricolorError('ERR_IO', `BIRD exited during start-up (${e.code ?? e.signal}); see its log`);
      }
      try {
        await birdCommand(this.socketPath, 'show status', 1000);
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new TricolorError('ERR_TIMEOUT', `BIRD's control socket ${JSON.stringify(this.socketPath)} did not come up`);
        }
        await sleep(50);
      }
    }
  }

  #scheduleRestart(): void {
    const delayMs = this.#backoff.next();
    this.#emit({ kind: 'restarting', delayMs, attempt: this.#backoff.attempt });
    this.#restartTimer.value = timeout(() => {
      this.#restartTimer.clear();
      this.#serial(async () => {
        if (this.#stopping || this.#running) return;
        this.#restarts++;
        try {
          await this.#start();
        } catch (e) {
          this.#emit({ kind: 'log', line: `restart failed: ${(e as Error).message}` });
          // A start that died already scheduled the next attempt from its exit handler.
          if (this.#child === undefined && this.#restartTimer.value === undefined && !this.#stopping) this.#scheduleRestart();
        }
      }).catch(() => undefined);
    }, delayMs);
  }

  /** Peers from `show protocols`. */
  showPeers(timeoutMs?: number): Promise<BGPPeerStatus[]> {
    return showBGPPeers(this.socketPath, timeoutMs);
  }

  /** The configuration text BIRD was last given. */
  get configText(): string | undefined {
    return this.#text;
  }

  /** Read the config file back (to compare with what is running after an agent restart). */
  async readConfigFile(): Promise<string | undefined> {
    try {
      return await readFile(this.configPath, 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Stop BIRD (SIGTERM, then SIGKILL after graceMs) and stop restarting it. Idempotent. */
  async stop(graceMs = 3000): Promise<void> {
    this.#stopping = true;
    this.#restartTimer.dispose();
    this.#stableTimer.dispose();
    await this.#queue;
    this.#adoptTimer.dispose();
    const adopted = this.#adopted;
    this.#adopted = undefined;
    if (adopted !== undefined) {
      try {
        process.kill(adopted, 'SIGTERM');
        for (let waited = 0; existsSync(`/proc/${adopted}/cmdline`) && readFileSync(`/proc/${adopted}/cmdline`, 'utf8') !== ''; waited += 20) {
          if (waited >= graceMs) process.kill(adopted, 'SIGKILL');
          await sleep(20);
        }
      } catch {
        // already gone
      }
    }
    const child = this.#child;
    if (child !== undefined) {
      await child.stop(graceMs);
      await this.#exited;
    }
    this.#child = undefined;
    await rm(this.socketPath, { force: true });
  }

  /**
   * Stop supervising and leave BIRD running, as systemd's KillMode=process does: the agent is
   * going away to be restarted (SIGTERM), and the next agent adopts this BIRD when it renders the
   * same configuration, so no BGP session flaps. Resolves to BIRD's pid (undefined: none ran).
   * BIRD ignores SIGPIPE, so its log writes to our closed pipe are harmless.
   */
  async release(): Promise<number | undefined> {
    this.#stopping = true;
    this.#restartTimer.dispose();
    this.#stableTimer.dispose();
    await this.#queue;
    this.#adoptTimer.dispose();
    const pid = this.pid;
    this.#adopted = undefined;
    const child = this.#child;
    this.#child = undefined;
    child?.detach(); // the exit hook must not kill it
    return pid;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
