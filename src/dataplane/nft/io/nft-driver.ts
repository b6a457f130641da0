// Reconciles our nft table `inet tricolor` with a desired Ruleset: computes the minimal delta from
// the last state it applied (or from a read-back when that is unknown), writes it as ONE JSON
// batch to a temp file and runs `nft -j -f FILE` (atomic: one bad command → nothing applied; stdin
// is not used because it fails from Node, see platform notes). Runs nft inside a given network
// namespace (`nsenter --net=PATH`) or the current one. Never touches other tables and never
// flushes anything on shutdown: the last programmed (stricter) state stays in force.

import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TricolorError } from '../../../base/index.ts';
import { describeDrift, diffRuleset, fingerprintFromListing, fingerprintOf, fullRebuild, patchFingerprint } from '../nft-delta.ts';
import type { Delta, RulesetFingerprint } from '../nft-delta.ts';
import { TABLE_FAMILY, TABLE_NAME } from '../nft-json.ts';
import type { NftBatch } from '../nft-json.ts';
import type { Ruleset, RulesetChanges } from '../nft-renderer.ts';
import { commandError, runCommandRaw } from '../../io/exec.ts';
import type { RunOptions } from '../../io/exec.ts';

export interface NftDriverOptions {
  /** Network namespace to program: a path (`/var/run/netns/X`, `/proc/PID/ns/net`). Omitted: ours. */
  readonly netnsPath?: string;
  /** The nft binary (default `nft` from PATH). */
  readonly nftBin?: string;
  /** After this many consecutive failed applies, rebuild the whole table (default 2). */
  readonly fullRebuildAfterFailures?: number;
}

export interface ApplyResult {
  readonly delta: Delta;
  /** Commands in the batch (0 = nothing to do, nft not run). */
  readonly commandCount: number;
}

export interface ResyncResult {
  /** Differences found between the kernel and what we last applied (empty = no drift). */
  readonly drift: readonly string[];
  /** True when a repair batch was applied. */
  readonly repaired: boolean;
}

export interface NftDriverStats {
  applies: number;
  failures: number;
  consecutiveFailures: number;
  repairs: number;
  lastError: string | undefined;
}

/** Per process, so several drivers in one process never share a file name. */
let batchSeq = 0;

export class NftDriver {
  private readonly opts: NftDriverOptions;
  private readonly run: RunOptions;
  private readonly dir: string;
  /** What we know the kernel holds; undefined = unknown (start-up, after a failure). */
  private applied: RulesetFingerprint | undefined;
  private known = false;
  /** The renderer revision `applied` describes, when it came from a RulesetRenderer. */
  private appliedRevision: number | undefined;
  readonly stats: NftDriverStats = { applies: 0, failures: 0, consecutiveFailures: 0, repairs: 0, lastError: undefined };

  constructor(opts: NftDriverOptions = {}) {
    this.opts = opts;
    this.run = opts.netnsPath === undefined ? {} : { netnsPath: opts.netnsPath };
    // batch files go straight into the temp dir and are removed after each run, so an agent
    // killed with SIGKILL leaves at most the one file it was applying (no directory per process)
    this.dir = tmpdir();
  }

  /** Nothing to release (each batch file is removed after its run). Does not touch the kernel. */
  dispose(): void {
    // kept so owners can release drivers uniformly
  }

  private get nft(): string {
    return this.opts.nftBin ?? 'nft';
  }

  /** Run one batch; `check` only validates it (`nft -c`). Throws ERR_IO with nft's message. */
  async runBatch(batch: NftBatch, check = false): Promise<void> {
    const file = join(this.dir, `tricolor-nft-${process.pid}-${batchSeq++}.json`);
    writeBatchFile(file, batch);
    try {
      const argv = check ? [this.nft, '-c', '-j', '-f', file] : [this.nft, '-j', '-f', file];
      const r = await runCommandRaw(argv, this.run);
      if (r.status !== 0) throw commandError(argv, r, this.run);
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** `nft -j list table inet tricolor`, parsed; undefined when the table does not exist. */
  async readBack(): Promise<unknown> {
    const argv = [this.nft, '-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME];
    const r = await runCommandRaw(argv, this.run);
    if (r.status !== 0) {
      if (/No such file or directory|does not exist/i.test(r.stderr)) return undefined;
      throw commandError(argv, r, this.run);
    }
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch (e) {
      throw new TricolorError('ERR_IO', `${argv.join(' ')}: output is not JSON`, { cause: e });
    }
  }

  /** The kernel's current state of our table as a fingerprint (undefined: no table). */
  async observe(): Promise<RulesetFingerprint | undefined> {
    return fingerprintFromListing(await this.readBack());
  }

  /** Validate the full table for `desired` without applying anything. */
  async check(desired: Ruleset): Promise<void> {
    await this.runBatch({ nftables: fullRebuild(desired).commands }, true);
  }

  /**
   * Bring the table to `desired` in one transaction. On failure nothing was applied (nft batches
   * are atomic); the error is thrown, recorded, and the next call starts from a read-back — or, after
   * repeated failures, rebuilds the whole table.
   *
   * `changes` (RulesetRenderer.takeChanges()) limits the delta and the bookkeeping to what changed
   * when they start at the revision this driver last applied; otherwise the whole table is diffed.
   */
  async apply(desired: Ruleset, changes?: RulesetChanges): Promise<ApplyResult> {
    try {
      if (!this.known) {
        this.applied = await this.observe();
        this.known = true;
      }
      const limit = this.opts.fullRebuildAfterFailures ?? 2;
      const hint = changes !== undefined && this.applied !== undefined && this.appliedRevision === changes.from ? changes : undefined;
      const delta = this.stats.consecutiveFailures >= limit ? fullRebuild(desired) : diffRuleset(this.applied, desired, hint);
      this.appliedRevision = undefined;
      if (delta.commands.length > 0) await this.runBatch({ nftables: delta.commands });
      this.applied = hint !== undefined && this.applied !== undefined && !delta.full ? patchFingerprint(this.applied, desired, hint) : fingerprintOf(desired);
      this.appliedRevision = changes?.to;
      this.stats.applies++;
      this.stats.consecutiveFailures = 0;
      return { delta, commandCount: delta.commands.length };
    } catch (e) {
      this.known = false;
      this.applied = undefined;
      this.stats.failures++;
      this.stats.consecutiveFailures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  /**
   * Read the table back and repair any drift from `desired` (a chain flushed, an element removed,
   * the table deleted by someone else). Drift relative to what we last applied counts as a repair.
   * `revision`: the renderer revision `desired` is at, so later hinted applies can continue from it.
   */
  async resync(desired: Ruleset, revision?: number): Promise<ResyncResult> {
    const observed = await this.observe();
    const want = fingerprintOf(desired);
    const drift = observed === undefined ? ['table missing'] : describeDrift(this.applied ?? want, observed);
    const pending = observed === undefined || describeDrift(want, observed).length > 0;
    if (!pending) {
      this.applied = observed;
      this.known = true;
      this.appliedRevision = revision;
      return { drift, repaired: false };
    }
    this.applied = observed;
    this.known = true;
    await this.apply(desired);
    this.appliedRevision = revision;
    if (drift.length > 0) this.stats.repairs++;
    return { drift, repaired: true };
  }
}

/**
 * The batch as JSON, written a megabyte at a time: a full apply at 5000 policies is ~60k
 * commands, and one JSON.stringify of all of them would be a transient string of tens of MB
 * on top of the commands themselves (the agent's peak resident memory).
 */
function writeBatchFile(file: string, batch: NftBatch): void {
  const fd = openSync(file, 'w');
  try {
    let buf = '{"nftables":[';
    batch.nftables.forEach((c, i) => {
      buf += (i === 0 ? '' : ',') + JSON.stringify(c);
      if (buf.length >= 1 << 20) {
        writeSync(fd, buf);
        buf = '';
      }
    });
    writeSync(fd, buf + ']}');
  } finally {
    closeSync(fd);
  }
}
