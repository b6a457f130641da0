// One real etcd (test/support/etcd.ts) and an EtcdBackend on it for a describe block: started in
// its before hook, closed and stopped in its after hook. The set-up the etcd-backed suites
// (controllers, the IPAM cache, …) shared line for line.

import { after, before } from 'node:test';
import { EtcdBackend } from '../../src/datastore/index.ts';
import { startEtcd, type RunningEtcd } from './etcd.ts';

export interface EtcdSuite {
  /** Set once the suite's before hook ran. */
  readonly etcd: RunningEtcd;
  readonly backend: EtcdBackend;
}

/** Call inside describe(): registers the before/after hooks; the fields are there from the first test on. */
export function etcdForSuite(): EtcdSuite {
  const s = {} as { etcd: RunningEtcd; backend: EtcdBackend };
  before(async () => {
    s.etcd = await startEtcd();
    s.backend = new EtcdBackend({ endpoints: [s.etcd.endpoints] });
  });
  after(async () => {
    await s.backend.close();
    await s.etcd.stop();
  });
  return s;
}
