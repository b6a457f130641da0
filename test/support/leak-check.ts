// A leak check in the style of VS Code's (`ensureNoDisposablesAreLeakedInTestSuite`), for the
// resources a Node daemon can leave behind: timers, child processes, sockets and servers (TCP,
// unix, UDP), signal handlers and file watchers. A tracker records every such resource created
// while it runs, with the stack that created it (async_hooks' init), and forgets it when Node
// releases it (destroy: a timer cleared or fired, a handle closed, a child reaped). What is still
// there after the component under test was disposed is a leak, named with its creation stack.
//
// Releases are reported asynchronously (a socket closes on a later tick, a child is reaped when
// its exit is read), so the check waits a little for them — polling, never asserting a duration.

import { createHook, type AsyncHook } from 'node:async_hooks';

/** async_hooks resource types that hold something open (see Node's async_hooks "Type" list). */
const TRACKED_TYPES: ReadonlySet<string> = new Set([
  'Timeout',
  'TCPWRAP',
  'TCPSERVERWRAP',
  'PIPEWRAP',
  'PIPESERVERWRAP',
  'UDPWRAP',
  'PROCESSWRAP',
  'SIGNALWRAP',
  'FSEVENTWRAP',
  'STATWATCHER',
]);

/** What the resource is, in words a test failure can use. */
const DESCRIPTION: Readonly<Record<string, string>> = {
  Timeout: 'timer',
  TCPWRAP: 'TCP socket',
  TCPSERVERWRAP: 'TCP server',
  PIPEWRAP: 'unix socket or pipe',
  PIPESERVERWRAP: 'unix socket server',
  UDPWRAP: 'UDP socket',
  PROCESSWRAP: 'child process',
  SIGNALWRAP: 'signal handler',
  FSEVENTWRAP: 'file watcher',
  STATWATCHER: 'file poller',
};

export interface Leftover {
  /** The async_hooks type (`Timeout`, `TCPSERVERWRAP`, `PROCESSWRAP`, …). */
  readonly type: string;
  /** The same in words (`timer`, `TCP server`, `child process`, …). */
  readonly what: string;
  /** Where it was created: the stack of the code that made it, Node's own frames left out. */
  readonly stack: string;
}

interface Tracked {
  readonly type: string;
  /**
   * Its creation stack, then those of what triggered it, up the chain: a resource made in one of
   * Node's own callbacks (a listen after a DNS lookup) is named by the code that set it off.
   */
  readonly chain: readonly { stack?: string }[];
  /** The resource object async_hooks handed us (for a timer: the Timeout, to see it cleared). */
  readonly resource: WeakRef<object>;
}

/** The stack here, captured now and formatted only when asked (V8 formats `.stack` lazily). */
function captureStack(): { stack?: string } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  Error.stackTraceLimit = limit;
  return holder;
}

/** Our frames of a captured stack: Node's own and the tracker's left out. */
function userFrames(holder: { stack?: string }): string[] {
  return (holder.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at ') && l.includes('file://') && !l.includes('/leak-check.ts:'));
}

/** A timer that fired (non-repeating) or was cleared, though its destroy is not reported yet. */
function timerDone(resource: object): boolean {
  const t = resource as { _destroyed?: boolean; _idleTimeout?: number };
  return t._destroyed === true || t._idleTimeout === -1;
}

/** The resources created since start(), until dispose(). */
export class LeakTracker {
  readonly #live = new Map<number, Tracked>();
  /** Every async resource but promises (ticks, DNS requests, …) while it exists: its stack and trigger. */
  readonly #origins = new Map<number, { readonly holder: { stack?: string }; readonly trigger: number }>();
  readonly #hook: AsyncHook;
  #disposed = false;

  private constructor() {
    this.#hook = createHook({
      init: (asyncId, type, trigger, resource) => {
        if (type === 'PROMISE') return;
        const holder = captureStack();
        this.#origins.set(asyncId, { holder, trigger });
        if (!TRACKED_TYPES.has(type)) return;
        const chain = [holder];
        for (let id = trigger, o = this.#origins.get(id); o !== undefined && chain.length < 20; id = o.trigger, o = this.#origins.get(id)) chain.push(o.holder);
        this.#live.set(asyncId, { type, chain, resource: new WeakRef(resource) });
      },
      destroy: (asyncId) => {
        this.#live.delete(asyncId);
        this.#origins.delete(asyncId);
      },
    });
  }

  /** Start recording now. */
  static start(): LeakTracker {
    const t = new LeakTracker();
    t.#hook.enable();
    return t;
  }

  /** What is still open now (without waiting). */
  snapshot(): Leftover[] {
    const out: Leftover[] = [];
    for (const [id, t] of this.#live) {
      const r = t.resource.deref();
      if (r === undefined || (t.type === 'Timeout' && timerDone(r))) {
        this.#live.delete(id);
        continue;
      }
      out.push({ type: t.type, what: DESCRIPTION[t.type] ?? t.type, stack: LeakTracker.#stackOf(t.chain) });
    }
    return out;
  }

  /** The first stack along the trigger chain that has frames of ours. */
  static #stackOf(chain: readonly { stack?: string }[]): string {
    for (const [i, holder] of chain.entries()) {
      const frames = userFrames(holder);
      if (frames.length > 0) return (i === 0 ? '' : '(set off by) ') + frames.slice(0, 12).join('\n    ');
    }
    return '';
  }

  /**
   * What is still open once pending releases had their chance: polls until nothing is left or
   * `settleMs` passed (sockets close and children are reaped on later ticks).
   */
  async leftovers(settleMs = 3000): Promise<Leftover[]> {
    const deadline = performance.now() + settleMs;
    for (;;) {
      // destroy hooks run from the native side after the current tick: let them through
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setImmediate(r));
      const left = this.snapshot();
      if (left.length === 0 || performance.now() >= deadline) return left;
      await new Promise<void>((r) => {
        // our own wait: untracked, since its destroy would arrive after the snapshot
        this.#hook.disable();
        setTimeout(r, 25);
        this.#hook.enable();
      });
    }
  }

  /** Throw an Error naming every leftover (type and creation stack), after `what` was disposed. */
  async assertNoLeaks(what: string, settleMs?: number): Promise<void> {
    const left = await this.leftovers(settleMs);
    if (left.length === 0) return;
    throw new Error(formatLeaks(what, left));
  }

  /** Stop recording. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#hook.disable();
    this.#live.clear();
    this.#origins.clear();
  }
}

export function formatLeaks(what: string, left: readonly Leftover[]): string {
  const lines = [`${what} left ${left.length} resource${left.length === 1 ? '' : 's'} behind after dispose:`];
  for (const l of left) lines.push(`  - a ${l.what} (${l.type}), created\n    ${l.stack || '(no stack outside Node)'}`);
  return lines.join('\n');
}

/**
 * Run `body` (which creates a component and disposes it) under a tracker and fail, naming each
 * leftover with its creation stack, when anything it created is still open afterwards.
 */
export async function checkNoLeaks(what: string, body: () => Promise<void>, settleMs?: number): Promise<void> {
  const tracker = LeakTracker.start();
  try {
    await body();
    await tracker.assertNoLeaks(what, settleMs);
  } finally {
    tracker.dispose();
  }
}
