// Child process for the multi-process conformance test: opens the datastore named by the env
// (DATASTORE_TYPE etc.) and increments a counter key N times with compare-and-swap, retrying
// on conflict. Prints one JSON line {"done":N,"conflicts":C}. Usage: node this.ts KEY N

import { datastoreConfigFromEnv, openBackend } from '../../src/datastore/index.ts';
import { isTricolorError } from '../../src/base/index.ts';

const [key, countText] = process.argv.slice(2);
if (key === undefined || countText === undefined) throw new Error('usage: cas-increment-child.ts KEY N');
const count = Number(countText);
const backend = await openBackend(datastoreConfigFromEnv(process.env));
let conflicts = 0;
try {
  for (let done = 0; done < count; ) {
    const cur = await backend.get(key);
    try {
      if (cur === undefined) await backend.create(key, '1');
      else await backend.update(key, String(Number(cur.value) + 1), cur.modRevision);
      done++;
    } catch (e) {
      if (isTricolorError(e, 'ERR_UPDATE_CONFLICT') || isTricolorError(e, 'ERR_ALREADY_EXISTS')) conflicts++;
      else throw e;
    }
  }
  process.stdout.write(JSON.stringify({ done: count, conflicts }) + '\n');
} finally {
  await backend.close();
}
