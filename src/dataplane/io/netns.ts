// Network namespaces given as paths: existence checks (a missing namespace is a distinct CNI
// error, code 3 "unknown container") and the path of the namespace this process runs in.

import { statSync } from 'node:fs';
import { TricolorError, quote } from '../../base/index.ts';

/** True when `path` exists (a bind-mounted netns file or /proc/PID/ns/net). */
export function netnsExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Throw ERR_NETNS_MISSING unless the namespace path exists. */
export function requireNetns(path: string, field = 'CNI_NETNS'): void {
  if (!netnsExists(path)) {
    throw new TricolorError('ERR_NETNS_MISSING', `${field}: ${quote(path)}: network namespace does not exist`, {
      field,
      value: path,
    });
  }
}
