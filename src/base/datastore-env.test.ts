import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATASTORE_ENV_KEYS, isDatastoreEnvKey, pickDatastoreEnv, withoutDatastoreEnv } from './datastore-env.ts';

void describe('datastore environment', () => {
  void it('recognises every key, with and without CALICO_, and etcd flags', () => {
    for (const k of DATASTORE_ENV_KEYS) {
      assert.ok(isDatastoreEnvKey(k), k);
      assert.ok(isDatastoreEnvKey(`CALICO_${k}`), k);
    }
    assert.ok(isDatastoreEnvKey('ETCD_DATA_DIR'));
    for (const k of ['PATH', 'HOME', 'NODENAME', 'TRICOLOR_LAB', 'CALICO_NETWORKING_BACKEND']) assert.ok(!isDatastoreEnvKey(k), k);
  });

  void it('strips the datastore settings and keeps the rest; picks only set keys', () => {
    const env = { PATH: '/bin', DATASTORE_TYPE: 'etcdv3', CALICO_ETCD_ENDPOINTS: 'x', ETCD_ENDPOINTS: 'http://e:2379', TRICOLOR_DATASTORE_PATH: '', NODENAME: 'n' };
    assert.deepEqual(withoutDatastoreEnv(env), { PATH: '/bin', NODENAME: 'n' });
    assert.deepEqual(pickDatastoreEnv(env), { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://e:2379' });
  });
});
