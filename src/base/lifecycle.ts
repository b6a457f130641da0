// Explicit lifetimes (after VS Code's base/common/lifecycle): everything long-running — a timer,
// a watch, a child process, a server socket, a whole agent — is a disposable, and its owner
// collects what it starts in a store it disposes once. Disposal is idempotent and runs in
// reverse order of registration (what was started last stops first); an error in one
// disposable does not stop the others, and all of them are reported together.

/** Something that holds a resource until disposed. dispose() is idempotent. */
export interface IDisposable {
  dispose(): void;
}

/** A disposable whose release is asynchronous (closing a socket, stopping a child). */
export interface IAsyncDisposable {
  dispose(): Promise<void> | void;
}

export function isDisposable(x: unknown): x is IDisposable {
  return typeof x === 'object' && x !== null && typeof (x as { dispose?: unknown }).dispose === 'function';
}

/** A disposable running fn once, on the first dispose(). */
export function toDisposable(fn: () => void): IDisposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

/** A disposable running an async fn once; later calls return the first call's promise. */
export function toAsyncDisposable(fn: () => Promise<void> | void): IAsyncDisposable {
  let done: Promise<void> | undefined;
  return {
    dispose() {
      done ??= Promise.resolve().then(fn);
      return done;
    },
  };
}

function combine(errors: readonly unknown[], what: string): unknown {
  if (errors.length === 1) return errors[0];
  return new AggregateError(errors, `${errors.length} errors while disposing ${what}`);
}

/** Disposables registered with add(), disposed together in reverse order. */
export class DisposableStore implements IDisposable {
  readonly #items: IDisposable[] = [];
  #disposed = false;

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Register d; once this store is disposed, d is disposed at once instead (and a leak is avoided). */
  add<T extends IDisposable>(d: T): T {
    if (this.#disposed) d.dispose();
    else this.#items.push(d);
    return d;
  }

  /** Forget d without disposing it (its owner changed). */
  delete(d: IDisposable): void {
    const i = this.#items.lastIndexOf(d);
    if (i >= 0) this.#items.splice(i, 1);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.clear();
  }

  /** Dispose everything registered so far; the store stays usable. */
  clear(): void {
    const errors: unknown[] = [];
    for (const d of this.#items.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw combine(errors, 'a store');
  }
}

/** The async counterpart: dispose() awaits each disposable in reverse order of registration. */
export class AsyncDisposableStore implements IAsyncDisposable {
  readonly #items: IAsyncDisposable[] = [];
  #disposing: Promise<void> | undefined;

  get isDisposed(): boolean {
    return this.#disposing !== undefined;
  }

  add<T extends IAsyncDisposable>(d: T): T {
    if (this.#disposing !== undefined) void Promise.resolve(d.dispose()).catch(() => undefined);
    else this.#items.push(d);
    return d;
  }

  /** Register a cleanup function (sync or async). */
  defer(fn: () => Promise<void> | void): void {
    this.add(toAsyncDisposable(fn));
  }

  delete(d: IAsyncDisposable): void {
    const i = this.#items.lastIndexOf(d);
    if (i >= 0) this.#items.splice(i, 1);
  }

  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      const errors: unknown[] = [];
      for (const d of this.#items.splice(0).reverse()) {
        try {
          await d.dispose();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length > 0) throw combine(errors, 'a store');
    })();
    return this.#disposing;
  }
}

/** Holds at most one disposable; setting a new value disposes the old one. */
export class MutableDisposable<T extends IDisposable> implements IDisposable {
  #value: T | undefined;
  #disposed = false;

  get value(): T | undefined {
    return this.#value;
  }

  set value(v: T | undefined) {
    if (this.#disposed) {
      v?.dispose();
      return;
    }
    if (v === this.#value) return;
    const old = this.#value;
    this.#value = v;
    old?.dispose();
  }

  clear(): void {
    this.value = undefined;
  }

  dispose(): void {
    this.#disposed = true;
    const old = this.#value;
    this.#value = undefined;
    old?.dispose();
  }
}
