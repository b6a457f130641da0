// The lab's datastore: the environment every lab process gets, a resource client over the
// lab's store for the lab's own reads and writes, the documents `lab up` seeds, and (with
// `--datastore etcdv3`) the lab's own etcd in a namespace of its own, serving a unix socket.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BugError, isTricolorError, TricolorError, withoutDatastoreEnv } from '../../base/index.ts';
import type { KindInfo } from '../../api/index.ts';
import type { ResourceClient } from '../../datastore/index.ts';
import { ETCD_SOCKET_NAME, LAB_ETCD_CLIENTS, labDatastoreEnv, labEtcdMemberAddress, labEtcdMembers, labEtcdTls, logsDir, type LabEtcd, type LabEtcdClient, type LabState } from '../lab-model.ts';
import { pidAlive, shOk, startDetached, waitFor } from './processes.ts';
import { writeLabState } from './state.ts';
import { addUnderlayHost, netnsAdd } from './topology.ts';

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
  // the members of a cluster (--etcd-members) dial each other at https://<member address>:2380 and
  // present this same certificate to each other (peer mutual TLS; etcd also checks that a peer's
  // certificate names the address it connects from)
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=DNS:localhost,${[0, 1, 2, 3, 4].map((i) => `IP:${labEtcdMemberAddress(i)}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
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

/**
 * One member of the lab's etcd cluster (`--etcd-members`), in its own namespace on the underlay:
 * peers talk https on the members' addresses, clients use the member's unix socket in the etcd
 * dir (`etcd-N:2379`, relative to its working directory); both with mutual TLS and the lab CA.
 */
function spawnEtcdMember(s: LabState, e: LabEtcd, i: number, logs: string, state: 'new' | 'existing'): Promise<number> {
  const members = labEtcdMembers(e);
  const m = members[i];
  if (m === undefined || e.pki === undefined) throw new BugError(`etcd member ${i} of ${members.length}`);
  const pki = e.pki;
  const client = `unixs://${m.name}:2379`;
  return startDetached(
    [
      'ip', 'netns', 'exec', m.netns, 'etcd',
      '--name', m.name,
      '--data-dir', join(e.dir, `${m.name}.data`),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--cert-file', join(pki, 'server.crt'), '--key-file', join(pki, 'server.key'), '--client-cert-auth', '--trusted-ca-file', join(pki, 'ca.crt'),
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--peer-cert-file', join(pki, 'server.crt'), '--peer-key-file', join(pki, 'server.key'), '--peer-client-cert-auth', '--peer-trusted-ca-file', join(pki, 'ca.crt'),
      '--initial-cluster', members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-state', state,
      '--initial-cluster-token', `tricolor-lab-${s.name}`,
      '--snapshot-count', '100000',
      '--quota-backend-bytes', String(1024 * 1024 * 1024),
    ],
    join(logs, `${m.name}.log`),
    withoutDatastoreEnv(process.env),
    e.dir,
  );
}

/** Start member i (0-based) of the lab's etcd cluster again (same data dir) after it was killed. */
export async function restartLabEtcdMember(s: LabState, i: number, logs: string = logsDir(s)): Promise<number> {
  const e = s.etcd;
  if (e?.memberPids === undefined) throw new TricolorError('ERR_VALIDATION', `lab ${s.name} has no etcd cluster (lab up --etcd-members 3)`);
  const old = e.memberPids[i];
  if (old !== undefined && pidAlive(old)) throw new TricolorError('ERR_VALIDATION', `etcd-${i + 1} of lab ${s.name} is still running (pid ${old})`);
  // a killed etcd leaves its client socket file behind, and would not listen over it
  const m = labEtcdMembers(e)[i];
  if (m !== undefined) rmSync(m.clientSocket, { force: true });
  const pid = await spawnEtcdMember(s, e, i, logs, 'existing');
  e.memberPids[i] = pid;
  writeLabState(s);
  return pid;
}

/** etcd in a namespace of its own, serving clients only on a unix socket under the run dir. */
export async function startLabEtcd(s: LabState, logs: string): Promise<void> {
  const e = s.etcd;
  if (e === undefined) return;
  mkdirSync(e.dir, { recursive: true });
  if (e.members !== undefined && e.members > 1) {
    if (e.pki !== undefined) await makeLabPki(e.pki);
    const members = labEtcdMembers(e);
    for (const m of members) await addUnderlayHost(s, { netns: m.netns, uplink: m.uplink ?? m.name, address: m.address ?? '' });
    e.memberPids = [];
    for (let i = 0; i < members.length; i++) e.memberPids.push(await spawnEtcdMember(s, e, i, logs, 'new'));
    return;
  }
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
  const members = labEtcdMembers(e);
  const pids = e.memberPids ?? [e.pid];
  const logOf = (i: number): string => join(logs, members.length > 1 ? `etcd-${i + 1}.log` : 'etcd.log');
  const ok = await waitFor(
    async () => {
      for (const [i, pid] of pids.entries()) {
        if (pid !== undefined && !pidAlive(pid)) throw new TricolorError('ERR_IO', `the lab's etcd${members.length > 1 ? ` member etcd-${i + 1}` : ''} exited; see ${logOf(i)}`);
      }
      for (const m of members) if (!(await etcdHealthy(m.clientSocket, labEtcdTls(e, 'lab')))) return undefined;
      return true;
    },
    timeoutMs,
    100,
  );
  if (ok !== true) throw new TricolorError('ERR_TIMEOUT', `the lab's etcd is not healthy after ${timeoutMs / 1000}s on ${e.endpoint}; see ${members.map((_, i) => logOf(i)).join(', ')}`);
}
