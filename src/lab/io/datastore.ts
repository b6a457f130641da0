// The lab's datastore: the environment every lab process gets, a resource client over the
// lab's store for the lab's own reads and writes, the documents `lab up` seeds, and (with
// `--datastore etcdv3`) the lab's own etcd in a namespace of its own, serving a unix socket.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BugError, isTricolorError, TricolorError, withoutDatastoreEnv } from '../../base/index.ts';
import type { KindInfo } from '../../api/index.ts';
import type { ResourceClient } from '../../datastore/index.ts';
import { ETCD_SOCKET_NAME, LAB_ETCD_CLIENTS, labDatastoreEnv, labEtcdTls, type LabEtcdClient, type LabState } from '../lab-model.ts';
import { pidAlive, shOk, startDetached, waitFor } from './processes.ts';
import { netnsAdd } from './topology.ts';

/** The environment of every lab process: ours, with the lab's datastore in place of any other. */
export function datastoreEnv(s: LabState, component: LabEtcdClient = 'lab'): NodeJS.ProcessEnv {
  return { ...withoutDatastoreEnv(process.env), ...labDatastoreEnv(s, component) };
}

/**
 * The lab's PKI (issue 16 item 4): a lab CA, etcd's server certificate (for "localhost": TLS runs
 * over the unix socket; also clientAuth, since etcd's JSON gateway dials etcd's own gRPC port
 * with the server certificate) and one client certificate per component, EC P-256, valid 30
 * days, private keys readable by root only.
 */
async function makeLabPki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ssl = (args: string[]): Promise<string> => shOk(['openssl', ...args]);
  await ssl(['req', '-x509', ...ec, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '30', '-subj', '/CN=tricolor-lab-ca']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', ...LAB_ETCD_CLIENTS]) {
    await ssl(['req', ...ec, '-keyout', join(dir, `${who}.key`), '-out', join(dir, `${who}.csr`), '-subj', `/CN=${who === 'server' ? 'etcd' : `tricolor-${who}`}`]);
    await ssl(['x509', '-req', '-in', join(dir, `${who}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, `${who}.crt`), '-days', '30', '-extfile', join(dir, who === 'server' ? 'server.ext' : 'client.ext')]);
  }
}

/** Run fn with a resource client over the lab's datastore, closed afterwards. */
export async function withLabClient<T>(s: LabState, fn: (c: ResourceClient) => Promise<T>): Promise<T> {
  const { openBackend, datastoreConfigFromEnv, ResourceClient } = await import('../../datastore/index.ts');
  const backend = await openBackend(datastoreConfigFromEnv(labDatastoreEnv(s)));
  try {
    return await fn(new ResourceClient(backend));
  } finally {
    await backend.close();
  }
}

export async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isTricolorError(e, 'ERR_NOT_FOUND')) return undefined;
    throw e;
  }
}

export async function kind(apiVersion: string, k: string): Promise<KindInfo> {
  const { kindInfoFor } = await import('../../api/index.ts');
  const info = kindInfoFor(apiVersion, k);
  if (info === undefined) throw new BugError(`kind ${apiVersion} ${k} is not registered`);
  return info;
}

/** etcd in a namespace of its own, serving clients only on a unix socket under the run dir. */
export async function startLabEtcd(s: LabState, logs: string): Promise<void> {
  const e = s.etcd;
  if (e === undefined) return;
  mkdirSync(e.dir, { recursive: true });
  await netnsAdd(e.netns);
  const peer = 'http://127.0.0.1:2380'; // inside the etcd namespace: no port on the host
  const tls = e.pki !== undefined;
  if (e.pki !== undefined) await makeLabPki(e.pki);
  const scheme = tls ? 'unixs' : 'unix';
  const tlsFlags = e.pki === undefined ? [] : ['--cert-file', join(e.pki, 'server.crt'), '--key-file', join(e.pki, 'server.key'), '--client-cert-auth', '--trusted-ca-file', join(e.pki, 'ca.crt')];
  // etcd reads every ETCD_* variable as a flag: none of the host's settings may reach it
  const env = withoutDatastoreEnv(process.env);
  e.pid = await startDetached(
    [
      'ip', 'netns', 'exec', e.netns, 'etcd',
      '--name', 'lab',
      '--data-dir', join(e.dir, 'data'),
      '--listen-client-urls', `${scheme}://${ETCD_SOCKET_NAME}`,
      '--advertise-client-urls', `${scheme}://${ETCD_SOCKET_NAME}`,
      ...tlsFlags,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `lab=${peer}`,
      '--initial-cluster-state', 'new',
      '--snapshot-count', '100000',
      '--quota-backend-bytes', String(1024 * 1024 * 1024),
    ],
    join(logs, 'etcd.log'),
    env,
    e.dir,
  );
}

function etcdHealthy(socketPath: string, tls: { ca: string; cert: string; key: string } | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    void Promise.all([import('node:http'), import('node:https')]).then(([http, https]) => {
      const opts = { socketPath, host: 'localhost', path: '/health', method: 'GET', timeout: 1000, agent: false as const };
      const onRes = (res: import('node:http').IncomingMessage): void => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
      };
      const req =
        tls === undefined
          ? http.request(opts, onRes)
          : https.request({ ...opts, servername: 'localhost', ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, onRes);
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  });
}

export async function waitForEtcd(e: NonNullable<LabState['etcd']>, logs: string, timeoutMs = 30_000): Promise<void> {
  const socket = join(e.dir, ETCD_SOCKET_NAME);
  const ok = await waitFor(async () => {
    if (e.pid !== undefined && !pidAlive(e.pid)) {
      throw new TricolorError('ERR_IO', `the lab's etcd exited; see ${join(logs, 'etcd.log')}`);
    }
    return (await etcdHealthy(socket, labEtcdTls(e, 'lab'))) ? true : undefined;
  }, timeoutMs, 100);
  if (ok !== true) throw new TricolorError('ERR_TIMEOUT', `the lab's etcd is not healthy after ${timeoutMs / 1000}s on ${e.endpoint}; see ${join(logs, 'etcd.log')}`);
}
