// Where the CLI's datastore is: `--config FILE` in Calico's CalicoAPIConfig shape (calicoctl
// contract §6.1), else `/etc/calico/calicoctl.cfg` when it exists, else the environment
// (`DATASTORE_TYPE`, `ETCD_*`, `TRICOLOR_DATASTORE_PATH`; each also with a `CALICO_` prefix,
// which wins, as calicoctl reads them).

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DATASTORE_ENV_KEYS, TricolorError, quote } from '../base/index.ts';
import type { DatastoreConfig, ResourceClient } from '../datastore/index.ts';
import type { CliContext } from './command.ts';

export const DEFAULT_CONFIG_PATH = '/etc/calico/calicoctl.cfg';
/** Written by `tricolor lab up` (src/lab's LAB_POINTER_FILE), removed by `lab down`. */
export const LAB_POINTER_FILE = '/var/run/tricolor/lab/current.cfg';

/** spec keys calicoctl accepts; unknown keys are an error (strict parsing). */
const CALICO_SPEC_KEYS = new Set([
  'datastoreType',
  'etcdEndpoints',
  'etcdDiscoverySrv',
  'etcdUsername',
  'etcdPassword',
  'etcdKeyFile',
  'etcdCertFile',
  'etcdCACertFile',
  'etcdKey',
  'etcdCert',
  'etcdCACert',
  'kubeconfig',
  'k8sAPIEndpoint',
  'k8sKeyFile',
  'k8sCertFile',
  'k8sCAFile',
  'k8sAPIToken',
  'k8sInsecureSkipTLSVerify',
  'k8sDisableNodePoll',
  'usePodCIDR',
  'kubeconfigInline',
  'k8sClientQPS',
  'k8sClientBurst',
  'k8sCurrentContext',
  'calicoAPIGroup',
  // Tricolor's own: the embedded store's file
  'datastorePath',
]);


/** The datastore variables (base's one list), each also read with a CALICO_ prefix. */
const ENV_KEYS: readonly string[] = DATASTORE_ENV_KEYS;

/** The datastore configuration for this invocation. */
export async function loadDatastoreConfig(configFlag: string | undefined, ctx: CliContext): Promise<DatastoreConfig> {
  const { datastoreConfigFromEnv } = await import('../datastore/index.ts');
  const explicit = configFlag !== undefined;
  let path = explicit ? resolve(ctx.cwd, configFlag) : DEFAULT_CONFIG_PATH;
  // While a lab is up, its pointer file (a CalicoAPIConfig written by `tricolor lab up`) stands in
  // for the default config file, unless the environment names a datastore.
  if (!explicit && !existsSync(path) && !ENV_KEYS.some((k) => (ctx.env[k] ?? ctx.env[`CALICO_${k}`] ?? '') !== '') && existsSync(LAB_POINTER_FILE)) {
    path = LAB_POINTER_FILE;
  }
  if (!existsSync(path)) {
    if (explicit) throw new TricolorError('ERR_IO', `Error reading config file: ${configFlag}`);
    return datastoreConfigFromEnv(envWithCalicoPrefix(ctx.env));
  }
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TricolorError('ERR_PARSE', `invalid config file ${path}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return datastoreConfigFromEnv(configFileToEnv(doc, path, ctx.env));
}

function envWithCalicoPrefix(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const k of ENV_KEYS) {
    const prefixed = env[`CALICO_${k}`];
    if (prefixed !== undefined && prefixed !== '') out[k] = prefixed;
  }
  return out;
}

/** Turn a CalicoAPIConfig document into the environment form the datastore opener reads. */
export function configFileToEnv(doc: unknown, path: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TricolorError('ERR_PARSE', `invalid config file ${path}: not a CalicoAPIConfig document`);
  }
  const d = doc as Record<string, unknown>;
  if (d['apiVersion'] !== 'projectcalico.org/v3') {
    throw new TricolorError('ERR_VALIDATION', `invalid config file: unknown APIVersion '${String(d['apiVersion'])}'`, {
      field: 'apiVersion',
      value: d['apiVersion'],
    });
  }
  if (d['kind'] !== 'CalicoAPIConfig') {
    throw new TricolorError('ERR_VALIDATION', `invalid config file: expected kind 'CalicoAPIConfig', got '${String(d['kind'])}'`, {
      field: 'kind',
      value: d['kind'],
    });
  }
  for (const k of Object.keys(d)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) {
      throw new TricolorError('ERR_VALIDATION', `invalid config file: field in document is not recognized or is in the wrong location: ${k}`, { field: k });
    }
  }
  const spec = (d['spec'] ?? {}) as Record<string, unknown>;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TricolorError('ERR_VALIDATION', `invalid config file: spec: ${quote(spec)} is not an object`, { field: 'spec' });
  }
  for (const k of Object.keys(spec)) {
    if (!CALICO_SPEC_KEYS.has(k)) {
      throw new TricolorError('ERR_VALIDATION', `invalid config file: field in document is not recognized or is in the wrong location: spec.${k}`, {
        field: `spec.${k}`,
      });
    }
  }
  const str = (k: string): string | undefined => {
    const v = spec[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') {
      throw new TricolorError('ERR_VALIDATION', `invalid config file: spec.${k}: ${quote(v)} is not a string`, { field: `spec.${k}`, value: v });
    }
    return v;
  };
  const type = str('datastoreType');
  if (type === 'kubernetes') {
    throw new TricolorError('ERR_VALIDATION', `invalid config file: spec.datastoreType: "kubernetes" is not supported by tricolor (use etcdv3 or embedded)`, {
      field: 'spec.datastoreType',
      value: type,
    });
  }
  // the file replaces the environment's datastore settings entirely, as in calicoctl
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!ENV_KEYS.includes(k) && !ENV_KEYS.some((e) => k === `CALICO_${e}`)) out[k] = v;
  const set = (envKey: string, v: string | undefined): void => {
    if (v !== undefined) out[envKey] = v;
  };
  const endpoints = str('etcdEndpoints');
  set('DATASTORE_TYPE', type ?? (endpoints !== undefined ? 'etcdv3' : undefined));
  set('ETCD_ENDPOINTS', endpoints);
  set('ETCD_CA_CERT_FILE', str('etcdCACertFile'));
  set('ETCD_CERT_FILE', str('etcdCertFile'));
  set('ETCD_KEY_FILE', str('etcdKeyFile'));
  set('TRICOLOR_DATASTORE_PATH', str('datastorePath'));
  return out;
}

/** Open the datastore and a resource client over it. The caller closes `client.backend`. */
export async function connect(configFlag: string | undefined, ctx: CliContext): Promise<ResourceClient> {
  const cfg = await loadDatastoreConfig(configFlag, ctx);
  const { openBackend, ResourceClient } = await import('../datastore/index.ts');
  const backend = await openBackend(cfg);
  return new ResourceClient(backend);
}

/** Run `fn` with a connected client and always close the backend afterwards. */
export async function withClient<T>(configFlag: string | undefined, ctx: CliContext, fn: (c: ResourceClient) => Promise<T>): Promise<T> {
  const client = await connect(configFlag, ctx);
  try {
    return await fn(client);
  } finally {
    await client.backend.close();
  }
}
