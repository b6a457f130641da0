// Errors and small helpers both backends share, so that a create/update/delete outcome reads
// the same whichever store produced it (node contract §1.1: AlreadyExists / DoesNotExist /
// UpdateConflict, each carrying the current KV where there is one).

import { TricolorError, quote } from '../base/index.ts';
import type { KeyValue, TxnOp } from './backend.ts';

export function alreadyExists(key: string, current: KeyValue): TricolorError {
  return new TricolorError('ERR_ALREADY_EXISTS', `key ${quote(key)} already exists (mod revision ${current.modRevision})`, {
    field: 'key',
    value: key,
    detail: current,
  });
}

export function notFound(key: string): TricolorError {
  return new TricolorError('ERR_NOT_FOUND', `key ${quote(key)} does not exist`, { field: 'key', value: key });
}

export function updateConflict(key: string, expectedRevision: number, current: KeyValue): TricolorError {
  return new TricolorError(
    'ERR_UPDATE_CONFLICT',
    `key ${quote(key)}: expected mod revision ${expectedRevision} but it is ${current.modRevision}`,
    { field: 'key', value: key, detail: current },
  );
}

/** etcd rejects a transaction that touches one key twice; so do we, in both backends. */
export function checkTxnOps(ops: readonly TxnOp[]): void {
  const seen = new Set<string>();
  for (const [i, op] of ops.entries()) {
    if (seen.has(op.key)) {
      throw new TricolorError('ERR_VALIDATION', `txn ops[${i}].key: ${quote(op.key)} appears more than once in one transaction`, {
        field: `ops[${i}].key`,
        value: op.key,
      });
    }
    seen.add(op.key);
  }
}

/**
 * The exclusive upper bound of a prefix scan: the prefix with its last code point incremented
 * (etcd's range_end for WithPrefix). UTF-8 byte order equals code point order, so this bounds
 * a byte-ordered (BINARY / etcd) key space exactly. Undefined for the empty prefix (no bound).
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}
