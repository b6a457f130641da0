// A host-wide IPAM lock, Calico's `ipam_lock_file` (node contract §2.11): processes allocating
// for one host take turns instead of colliding on the same block's compare-and-swap, where
// every loser sleeps in the back-off and the unlucky one waits seconds. Like Calico's flock it
// only reduces contention; correctness still rests on the CAS.
//
// The lock is an abstract unix socket (Linux): binding the name holds the lock, the kernel
// releases it when the holder closes it or dies (SIGKILL included), so a crashed allocator never
// leaves a stale lock file behind. A waiter connects to the holder and sleeps until that
// connection closes, then races to bind again: no polling. Abstract names are per network
// namespace, which is exactly "per host" for a node (and for each lab node).

import { createConnection, createServer, type Socket } from 'node:net';

/** Give up waiting after this long and proceed unlocked, as Calico does when flock fails. */
const DEFAULT_WAIT_MS = 10_000;

export interface HostLock {
  release(): Promise<void>;
}

/** The bound lock: closing it also drops every waiter's connection, which wakes them. */
interface Bound {
  close(): Promise<void>;
}

function tryBind(name: string): Promise<Bound | undefined> {
  return new Promise((resolve, reject) => {
    const waiters = new Set<Socket>();
    const srv = createServer((sock) => {
      sock.on('error', () => undefined);
      waiters.add(sock);
      sock.on('close', () => waiters.delete(sock));
    });
    srv.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    srv.listen({ path: `\0${name}` }, () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            srv.close(() => done());
            for (const s of waiters) s.destroy();
          }),
      }),
    );
  });
}

function waitForHolder(name: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = createConnection({ path: `\0${name}` });
    const done = (): void => {
      clearTimeout(t);
      sock.destroy();
      resolve();
    };
    const t = setTimeout(done, timeoutMs);
    sock.on('close', done);
    sock.on('error', done);
  });
}

/**
 * Take the lock `name` (e.g. `tricolor-ipam-<node>`); resolves with a handle to release it, or,
 * after `waitMs`, with a no-op handle (proceed unlocked).
 */
export async function acquireHostLock(name: string, waitMs = DEFAULT_WAIT_MS): Promise<HostLock> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const bound = await tryBind(name);
    if (bound !== undefined) return { release: () => bound.close() };
    const left = deadline - performance.now();
    if (left <= 0) return { release: () => Promise.resolve() };
    await waitForHolder(name, left);
  }
}
