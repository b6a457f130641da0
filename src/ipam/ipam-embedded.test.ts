// The IPAM suite on the embedded SQLite store (a temp file shared with the child processes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLiteBackend } from '../datastore/index.ts';
import { ipamSuite } from './test-support/ipam-suite.ts';
import { wipe } from './test-support/wipe.ts';

ipamSuite('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-ipam-'));
  const path = join(dir, 'datastore.db');
  const backend = new SQLiteBackend({ path });
  return {
    backend,
    env: { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: path },
    wipe: () => wipe(backend),
    async close() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
