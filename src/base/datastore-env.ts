// The one list of environment variables that select and reach a datastore, as Calico's
// components read them (each also accepted with a `CALICO_` prefix by the CLI). Everything that
// passes a datastore to a child process (the lab, the CNI wrappers, tests) or strips the host's
// settings before setting its own uses this list, so a new variable is added once.

/** Variables naming the datastore, in the order a config file or a wrapper script lists them. */
export const DATASTORE_ENV_KEYS = ['DATASTORE_TYPE', 'TRICOLOR_DATASTORE_PATH', 'ETCD_ENDPOINTS', 'ETCD_CA_CERT_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE'] as const;
export type DatastoreEnvKey = (typeof DATASTORE_ENV_KEYS)[number];

const KEY_SET: ReadonlySet<string> = new Set(DATASTORE_ENV_KEYS);

/**
 * True for a variable that would steer a process to some datastore: one of the keys, with or
 * without `CALICO_`, or any other `ETCD_*` (etcd's own flags, which etcdctl and etcd read too).
 */
export function isDatastoreEnvKey(key: string): boolean {
  const k = key.startsWith('CALICO_') ? key.slice('CALICO_'.length) : key;
  return KEY_SET.has(k) || k.startsWith('ETCD_');
}

/** A copy of env without any datastore variable (then add the one datastore the child must use). */
export function withoutDatastoreEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (!isDatastoreEnvKey(k)) out[k] = v;
  return out;
}

/** Only the datastore variables of env (set and non-empty), without their CALICO_ prefix resolved. */
export function pickDatastoreEnv(env: Readonly<Record<string, string | undefined>>): Partial<Record<DatastoreEnvKey, string>> {
  const out: Partial<Record<DatastoreEnvKey, string>> = {};
  for (const k of DATASTORE_ENV_KEYS) {
    const v = env[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}
