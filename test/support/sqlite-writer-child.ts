// Child process for the crash test: writes /a and /b together in one transaction, forever,
// printing progress, until the parent SIGKILLs it. Usage: node this.ts DB_PATH

import { SQLiteBackend } from '../../src/datastore/index.ts';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: sqlite-writer-child.ts DB_PATH');
const b = new SQLiteBackend({ path });
for (let i = 1; ; i++) {
  const v = String(i).padStart(8, '0') + 'x'.repeat(2000);
  await b.txn([], [
    { op: 'put', key: '/a', value: String(i) },
    { op: 'put', key: '/b', value: String(i) },
    { op: 'put', key: `/pad/${i % 50}`, value: v },
  ]);
  if (i % 100 === 0) process.stdout.write(`progress ${i}\n`);
}
