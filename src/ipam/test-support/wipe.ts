// Test helper: delete every key of a backend in one transaction, between suite cases.
import type { DatastoreBackend } from '../../datastore/index.ts';

export async function wipe(be: DatastoreBackend): Promise<void> {
  const items = (await be.list('/')).items;
  for (let i = 0; i < items.length; i += 100) {
    await be.txn([], items.slice(i, i + 100).map((kv) => ({ op: 'delete' as const, key: kv.key })));
  }
}
