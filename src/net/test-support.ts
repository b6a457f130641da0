// Shared imports for the net tests: the public surface plus a TricolorError matcher.
import { isTricolorError, type ErrorCode } from '../base/index.ts';

export * from './index.ts';

export function isTricolorErrorLike(e: unknown, code: ErrorCode, message?: string): boolean {
  if (!isTricolorError(e, code)) return false;
  if (message !== undefined) assert(e.message === message, `message: ${e.message}`);
  return true;
}

function assert(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}
