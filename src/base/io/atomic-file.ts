// Atomic file replacement: write a temporary file beside the target, then rename it over the
// target (rename(2) within one directory is atomic), so a reader sees the old document or the
// new one, never half of one — status files polled by the CLI, the lab's state, CNI wrappers.
// The temporary name carries our pid and a counter, so concurrent writers never share one.

import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';

let counter = 0;

export interface AtomicWriteOptions {
  /** File mode of the result (e.g. 0o755 for an executable wrapper). */
  readonly mode?: number;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  const tmp = `${path}.${process.pid}.${++counter}.tmp`;
  try {
    writeFileSync(tmp, data, o.mode === undefined ? undefined : { mode: o.mode });
    // writeFileSync's mode is filtered by the umask; an explicit chmod gives exactly what was asked
    if (o.mode !== undefined) chmodSync(tmp, o.mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** JSON, two-space indented by default, with a final newline. */
export function writeJsonAtomic(path: string, value: unknown, o: AtomicWriteOptions & { readonly compact?: boolean } = {}): void {
  writeFileAtomic(path, (o.compact === true ? JSON.stringify(value) : JSON.stringify(value, null, 2)) + '\n', o);
}
