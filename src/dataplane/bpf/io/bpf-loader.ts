// Loading the eBPF dataplane's programs and maps, pinned on a bpffs the agent mounts itself at a
// per-node path (bpffs is not mounted on these hosts, and `ip netns exec` hides /sys/fs/bpf: a
// path in the host's mount namespace, mounted before the agent starts or by it, is visible both
// to the agent and to `tricolor bpf … dump`). Pins outlive the agent, so a restarted agent adopts
// the same maps and the attached programs keep running with no gap.
//
// Layout under DIR: maps/<map> (one set per node, reused across program versions) and
// progs-<objhash>/<prog> (one directory per compiled object; an upgrade loads the new object
// reusing the pinned maps, re-attaches, then removes the old directory).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TricolorError } from '../../../base/index.ts';
import { runCommand, runCommandRaw } from '../../io/exec.ts';
import { MAPS, PROGRAMS } from '../encoding.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const BPF_OBJECT = join(ROOT, 'build', 'bpf', 'tricolor.bpf.o');
const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-bpf.sh');

/** Compile the programs if the object is missing or older than the sources (idempotent, fast). */
export async function ensureBuilt(): Promise<string> {
  await runCommand(['bash', BUILD_SCRIPT]);
  return BPF_OBJECT;
}

function isBpffsMount(path: string): boolean {
  // mountinfo names the real path (/var/run is a symlink to /run on Debian)
  const dir = existsSync(path) ? realpathSync(path) : path;
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  return lines.some((l) => {
    const f = l.split(' ');
    const sep = f.indexOf('-');
    return f[4] === dir && sep > 0 && f[sep + 1] === 'bpf';
  });
}

/** Mount a private bpffs at `dir` (created if needed); a no-op when one is mounted there. */
export async function mountBpffs(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (isBpffsMount(dir)) return;
  await runCommand(['mount', '-t', 'bpf', 'bpf', dir]);
}

/** Unmount (dropping every pin in it) and remove the directory; safe to call twice. */
export async function unmountBpffs(dir: string): Promise<void> {
  if (existsSync(dir) && isBpffsMount(dir)) {
    const r = await runCommandRaw(['umount', dir]);
    if (r.status !== 0) await runCommand(['umount', '-l', dir]);
  }
  rmSync(dir, { recursive: true, force: true });
}

export interface LoadedObjects {
  readonly mapDir: string;
  readonly progDir: string;
  /** Pinned path of each map (by MAPS key). */
  readonly maps: Readonly<Record<keyof typeof MAPS, string>>;
  readonly fromWep: string;
  readonly toWep: string;
  /** Program directories of older objects, to remove once the new programs are attached. */
  readonly stale: readonly string[];
  /** True when maps were already pinned (a restart: state was adopted). */
  readonly adopted: boolean;
}

/**
 * The programs an earlier agent loaded and left pinned in `dir` (the newest complete
 * progs-<hash> directory, with every map pinned), or undefined. What the dataplane falls back to
 * when the kernel refuses a new object: the last good programs stay attached and in use.
 */
export function lastGoodObjects(dir: string): LoadedObjects | undefined {
  if (!existsSync(dir)) return undefined;
  const mapDir = join(dir, 'maps');
  const maps = Object.fromEntries(Object.entries(MAPS).map(([k, v]) => [k, join(mapDir, v)])) as Record<keyof typeof MAPS, string>;
  if (!Object.values(maps).every((p) => existsSync(p))) return undefined;
  const complete = readdirSync(dir)
    .filter((n) => n.startsWith('progs-'))
    .map((n) => join(dir, n))
    .filter((d) => existsSync(join(d, PROGRAMS.fromWep)) && existsSync(join(d, PROGRAMS.toWep)))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const progDir = complete[0];
  if (progDir === undefined) return undefined;
  return { mapDir, progDir, maps, fromWep: join(progDir, PROGRAMS.fromWep), toWep: join(progDir, PROGRAMS.toWep), stale: [], adopted: true };
}

function objectHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
}

/**
 * Load the object into `dir` (a bpffs) unless its programs are already pinned there. Existing
 * pinned maps are reused (`map name … pinned …`), so conntrack and policy survive restarts and
 * upgrades; a verifier rejection throws ERR_BPF_LOAD with the verifier's words
 * and leaves the old programs untouched.
 */
export async function loadObjects(dir: string, o: { object?: string; netnsPath?: string } = {}): Promise<LoadedObjects> {
  const object = o.object ?? (await ensureBuilt());
  const mapDir = join(dir, 'maps');
  const progDir = join(dir, `progs-${objectHash(object)}`);
  const maps = Object.fromEntries(Object.entries(MAPS).map(([k, v]) => [k, join(mapDir, v)])) as Record<keyof typeof MAPS, string>;
  mkdirSync(dir, { recursive: true });
  const adopted = Object.values(maps).every((p) => existsSync(p));
  const stale = readdirSync(dir)
    .filter((n) => n.startsWith('progs-') && join(dir, n) !== progDir)
    .map((n) => join(dir, n));
  const fromWep = join(progDir, PROGRAMS.fromWep);
  const toWep = join(progDir, PROGRAMS.toWep);
  if (existsSync(fromWep) && existsSync(toWep)) return { mapDir, progDir, maps, fromWep, toWep, stale, adopted };
  mkdirSync(mapDir, { recursive: true });
  const reuse = adopted ? Object.values(MAPS).flatMap((m) => ['map', 'name', m, 'pinned', join(mapDir, m)]) : [];
  const argv = ['bpftool', 'prog', 'loadall', object, progDir, 'type', 'tc', ...reuse, 'pinmaps', mapDir];
  const r = await runCommandRaw(argv, o.netnsPath === undefined ? {} : { netnsPath: o.netnsPath });
  if (r.status !== 0) {
    rmSync(progDir, { recursive: true, force: true });
    const verifier = r.stderr.split('\n').filter((l) => l.trim() !== '').slice(-12).join('\n');
    throw new TricolorError('ERR_BPF_LOAD', `bpf: loading ${object} failed (the kernel's verifier or loader refused it); the previous programs stay attached:\n${verifier}`, {
      detail: { stderr: r.stderr },
    });
  }
  return { mapDir, progDir, maps, fromWep, toWep, stale, adopted };
}
