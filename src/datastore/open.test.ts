// datastoreConfigFromEnv: the env → config table, including the errors a user sees; and
// datastoreEnvOf, its inverse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTricolorError } from '../base/index.ts';
import { datastoreConfigFromEnv, datastoreEnvOf, type DatastoreConfig } from './open.ts';

void test('datastoreConfigFromEnv: valid environments', () => {
  const cases: [NodeJS.ProcessEnv, DatastoreConfig][] = [
    [{}, { type: 'embedded', path: '/var/lib/tricolor/datastore.db' }],
    [{ DATASTORE_TYPE: '' }, { type: 'embedded', path: '/var/lib/tricolor/datastore.db' }],
    [{ DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: '/tmp/x.db' }, { type: 'embedded', path: '/tmp/x.db' }],
    [{ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://127.0.0.1:2379' }, { type: 'etcdv3', endpoints: ['http://127.0.0.1:2379'] }],
    [
      { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: ' https://a:2379, https://b:2379 ,', ETCD_CA_CERT_FILE: '/ca', ETCD_CERT_FILE: '/c', ETCD_KEY_FILE: '/k' },
      { type: 'etcdv3', endpoints: ['https://a:2379', 'https://b:2379'], caCertFile: '/ca', certFile: '/c', keyFile: '/k' },
    ],
  ];
  for (const [env, want] of cases) {
    assert.deepEqual(datastoreConfigFromEnv(env), want, JSON.stringify(env));
    // and back: the environment datastoreEnvOf gives names the same datastore
    assert.deepEqual(datastoreConfigFromEnv(datastoreEnvOf(want)), want, JSON.stringify(want));
  }
});

void test('datastoreConfigFromEnv: errors name the variable and quote the value', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ DATASTORE_TYPE: 'kubernetes' }, /DATASTORE_TYPE: "kubernetes" is not a datastore type/],
    [{ DATASTORE_TYPE: 'etcdv3' }, /ETCD_ENDPOINTS: "" must list at least one endpoint/],
    [{ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: ' , ' }, /ETCD_ENDPOINTS/],
    [{ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: '127.0.0.1:2379' }, /ETCD_ENDPOINTS: "127.0.0.1:2379" is not an http\(s\)/],
    [{ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://a:1', ETCD_CERT_FILE: '/c' }, /ETCD_CERT_FILE and ETCD_KEY_FILE must be set together/],
  ];
  for (const [env, re] of cases) {
    assert.throws(
      () => datastoreConfigFromEnv(env),
      (e: unknown) => isTricolorError(e, 'ERR_VALIDATION') && re.test(e.message),
      JSON.stringify(env),
    );
  }
});
