// The IPAM suite on a real etcd started for the test (never skipped).
import { startEtcd } from '../../test/support/etcd.ts';
import { EtcdBackend } from '../datastore/index.ts';
import { ipamSuite } from './test-support/ipam-suite.ts';
import { wipe } from './test-support/wipe.ts';

ipamSuite('etcd', async () => {
  const etcd = await startEtcd();
  const backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
  return {
    backend,
    env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints },
    wipe: () => wipe(backend),
    async close() {
      await backend.close();
      await etcd.stop();
    },
  };
});
