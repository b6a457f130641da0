// Polling for end-to-end tests: wait until `fn` yields a value. Errors thrown while the thing
// under test is still coming up count as "not yet"; the last one is reported on timeout.

import { sleep } from '../../src/base/index.ts';

export async function until<T>(what: string | (() => string), fn: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) {
      const detail = last === undefined ? '' : ` (${last instanceof Error ? last.message : JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${detail}`);
    }
    await sleep(intervalMs);
  }
}
