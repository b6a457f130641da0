// Choosing and opening a datastore backend from configuration (env vars as in Calico:
// DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE; plus
// TRICOLOR_DATASTORE_PATH for the embedded store). The defaults live here, next to the code
// that owns them.

import { TricolorError, quote, type DatastoreEnvKey } from '../base/index.ts';
import type { DatastoreBackend } from './backend.ts';
import { EtcdBackend } from './etcd-backend.ts';
import { DEFAULT_DATASTORE_PATH, SQLiteBackend } from './sqlite-backend.ts';

export type DatastoreConfig =
  | { type: 'embedded'; path: string }
  | { type: 'etcdv3'; endpoints: string[]; caCertFile?: string; certFile?: string; keyFile?: string };

export const DATASTORE_TYPES = ['embedded', 'etcdv3'] as const;

export function datastoreConfigFromEnv(env: NodeJS.ProcessEnv): DatastoreConfig {
  const type = env['DATASTORE_TYPE'] === undefined || env['DATASTORE_TYPE'] === '' ? 'embedded' : env['DATASTORE_TYPE'];
  if (type === 'embedded') {
    const path = env['TRICOLOR_DATASTORE_PATH'];
    return { type: 'embedded', path: path === undefined || path === '' ? DEFAULT_DATASTORE_PATH : path };
  }
  if (type === 'etcdv3') {
    const raw = env['ETCD_ENDPOINTS'] ?? '';
    const endpoints = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (endpoints.length === 0) {
      throw new TricolorError('ERR_VALIDATION', `ETCD_ENDPOINTS: ${quote(raw)} must list at least one endpoint when DATASTORE_TYPE is "etcdv3"`, {
        field: 'ETCD_ENDPOINTS',
        value: raw,
      });
    }
    for (const e of endpoints) {
      if (!/^https?:\/\/[^/]+/.test(e) && !/^unixs?:\/\/\/./.test(e)) {
        throw new TricolorError('ERR_VALIDATION', `ETCD_ENDPOINTS: ${quote(e)} is not an http(s)://host:port URL or a unix(s):///path socket`, { field: 'ETCD_ENDPOINTS', value: e });
      }
    }
    const file = (name: string): string | undefined => {
      const v = env[name];
      return v === undefined || v === '' ? undefined : v;
    };
    const ca = file('ETCD_CA_CERT_FILE');
    const cert = file('ETCD_CERT_FILE');
    const key = file('ETCD_KEY_FILE');
    if ((cert === undefined) !== (key === undefined)) {
      throw new TricolorError('ERR_VALIDATION', `ETCD_CERT_FILE and ETCD_KEY_FILE must be set together (got ${quote(cert ?? '')} and ${quote(key ?? '')})`, {
        field: cert === undefined ? 'ETCD_CERT_FILE' : 'ETCD_KEY_FILE',
      });
    }
    return {
      type: 'etcdv3',
      endpoints,
      ...(ca !== undefined ? { caCertFile: ca } : {}),
      ...(cert !== undefined ? { certFile: cert } : {}),
      ...(key !== undefined ? { keyFile: key } : {}),
    };
  }
  throw new TricolorError('ERR_VALIDATION', `DATASTORE_TYPE: ${quote(type)} is not a datastore type (expected one of ${DATASTORE_TYPES.join(', ')})`, {
    field: 'DATASTORE_TYPE',
    value: type,
  });
}

/** The environment that names cfg (datastoreConfigFromEnv's inverse), for a child process to use. */
export function datastoreEnvOf(cfg: DatastoreConfig): Partial<Record<DatastoreEnvKey, string>> {
  if (cfg.type === 'embedded') return { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: cfg.path };
  return {
    DATASTORE_TYPE: 'etcdv3',
    ETCD_ENDPOINTS: cfg.endpoints.join(','),
    ...(cfg.caCertFile === undefined ? {} : { ETCD_CA_CERT_FILE: cfg.caCertFile }),
    ...(cfg.certFile === undefined ? {} : { ETCD_CERT_FILE: cfg.certFile }),
    ...(cfg.keyFile === undefined ? {} : { ETCD_KEY_FILE: cfg.keyFile }),
  };
}

export async function openBackend(cfg: DatastoreConfig): Promise<DatastoreBackend> {
  if (cfg.type === 'embedded') return new SQLiteBackend({ path: cfg.path });
  const backend = new EtcdBackend(cfg);
  return backend;
}
