// Child process for the all-or-nothing conformance test: opens the datastore named by the env and
// creates N GlobalNetworkSets `<tag>-<i>` in one ResourceClient.createMany (what `tricolor create
// -f` of an N-document file does), and SIGKILLs itself at a hook point around the batch's first
// backend transaction: `after-first-txn` (the first write has landed; with chunked writes this is
// between chunks) or `during-first-txn` (the request is on its way). The real backend is
// wrapped only to place the kill. Usage: node this.ts TAG N after-first-txn|during-first-txn

import { datastoreConfigFromEnv, openBackend, ResourceClient } from '../../src/datastore/index.ts';

const [tag, countText, hook] = process.argv.slice(2);
if (tag === undefined || countText === undefined || (hook !== 'after-first-txn' && hook !== 'during-first-txn')) {
  throw new Error('usage: batch-writer-child.ts TAG N after-first-txn|during-first-txn');
}
const backend = await openBackend(datastoreConfigFromEnv(process.env));
const realTxn = backend.txn.bind(backend);
backend.txn = async (compares, ops) => {
  if (hook === 'during-first-txn') {
    const pending = realTxn(compares, ops);
    setImmediate(() => process.kill(process.pid, 'SIGKILL'));
    return pending;
  }
  const r = await realTxn(compares, ops);
  process.kill(process.pid, 'SIGKILL');
  return r;
};
const docs = Array.from({ length: Number(countText) }, (_, i) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkSet',
  metadata: { name: `${tag}-${i}`, labels: { batch: tag } },
  spec: { nets: [`10.${Math.floor(i / 250)}.${i % 250}.0/24`] },
}));
await new ResourceClient(backend).createMany(docs);
// reaching here means the hook never fired: the parent treats any exit as a failure of the test
process.stdout.write('finished without being killed\n');
await backend.close();
