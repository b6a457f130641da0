// Test helper: runs the real Debian `etcd` (3.4) on 127.0.0.1 with free ports and a temp data
// dir, optionally with client-certificate TLS, for the conformance suite and anything else that
// must be tested against the production datastore. Tests never skip etcd: a missing binary is a
// loud error. A detached watchdog kills etcd and removes the dir if the test process dies
// without calling stop() (a crashed or timed-out test must not leave etcd running).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdOptions {
  readonly tls?: boolean;
  /** Serve clients on a unix socket in the temp dir (endpoint `unix:///…/etcd:2379`) instead of TCP. */
  readonly unixSocket?: boolean;
}

export interface RunningEtcd {
  /** Client URL, e.g. `http://127.0.0.1:40123` (https when TLS; `unix:///tmp/…/etcd:2379` for a socket). */
  readonly endpoints: string;
  readonly caCertFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly dataDir: string;
  /** Stop etcd and start it again on the same ports and data (data survives). */
  restart(): Promise<void>;
  /** Kill etcd and leave it down (data kept) until restart(): an outage for fault tests. */
  kill(): Promise<void>;
  /** Kill etcd and remove its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const ETCD_BIN = process.env['TRICOLOR_ETCD_BIN'] ?? '/usr/bin/etcd';
const READY_TIMEOUT_MS = 30_000;

const running = new Set<{ proc: ChildProcess | undefined; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const r of running) {
      try {
        r.proc?.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      try {
        rmSync(r.dir, { recursive: true, force: true });
      } catch {
        /* best effort at exit */
      }
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not allocate a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`startEtcd: openssl ${args.join(' ')} failed: ${r.stderr || String(r.error)}`);
  }
}

/** A throwaway CA plus a server cert (SAN 127.0.0.1/localhost) and a client cert. */
function makeCerts(dir: string): { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tricolor-test-ca']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(dir, ['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=tricolor-test-${who}`]);
    openssl(dir, ['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '2', '-extfile', `${who}.ext`]);
  }
  return {
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

function healthy(url: string, tls: { ca: string; cert: string; key: string } | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = { method: 'GET', timeout: 1000, agent: false as const };
    const req = url.startsWith('unix://')
      ? httpRequest({ ...opts, socketPath: url.slice('unix://'.length), host: 'localhost', path: '/health' })
      : tls
        ? httpsRequest(new URL('/health', url), { ...opts, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) })
        : httpRequest(new URL('/health', url), opts);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<RunningEtcd> {
  if (!existsSync(ETCD_BIN)) {
    throw new Error(`startEtcd: etcd binary not found at ${ETCD_BIN} (install the Debian package etcd-server); etcd tests are never skipped`);
  }
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-etcd-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'etcd.log');
  const tls = opts.tls === true ? makeCerts(dir) : undefined;
  const clientPort = await freePort();
  const peerPort = await freePort();
  const scheme = tls ? 'https' : 'http';
  // etcd 3.4 wants unix://NAME:PORT and creates the socket file NAME:PORT in its working directory
  const listenClientUrl = opts.unixSocket === true ? 'unix://etcd:2379' : `${scheme}://127.0.0.1:${clientPort}`;
  const clientUrl = opts.unixSocket === true ? `unix://${join(dir, 'etcd:2379')}` : listenClientUrl;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'tricolor-test',
    '--data-dir', dataDir,
    '--listen-client-urls', listenClientUrl,
    '--advertise-client-urls', listenClientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `tricolor-test=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    // keep tests light on a shared machine
    '--snapshot-count', '100000',
    '--quota-backend-bytes', String(256 * 1024 * 1024),
  ];
  if (tls) {
    args.push('--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth');
  }
  const clientTls = tls ? { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey } : undefined;
  const entry: { proc: ChildProcess | undefined; dir: string } = { proc: undefined, dir };
  running.add(entry);
  let watchdog: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    // a killed etcd leaves its socket file behind, and etcd 3.4 will not bind over it
    if (opts.unixSocket === true) rmSync(join(dir, 'etcd:2379'), { force: true });
    const logFd = openSync(logFile, 'a');
    const proc = spawn(ETCD_BIN, args, { stdio: ['ignore', logFd, logFd], env: etcdEnv(), cwd: dir });
    closeSync(logFd);
    entry.proc = proc;
    let exited: string | undefined;
    proc.on('exit', (code, sig) => {
      exited = `exited with ${sig ?? String(code)}`;
    });
    // watchdog: if this test process dies, kill etcd and remove the temp dir
    watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null; kill -0 ${process.pid} 2>/dev/null || rm -rf '${dir}'`], { detached: true, stdio: 'ignore' });
    watchdog.unref();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`startEtcd: etcd ${exited} before becoming healthy; log tail:\n${tail(logFile)}`);
      }
      if (await healthy(clientUrl, clientTls)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`startEtcd: etcd not healthy after ${READY_TIMEOUT_MS} ms; log tail:\n${tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const kill = async (): Promise<void> => {
    const proc = entry.proc;
    entry.proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
    watchdog?.kill('SIGKILL');
  };

  try {
    await launch();
  } catch (e) {
    await kill();
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  let stopped = false;
  const result: RunningEtcd = {
    endpoints: clientUrl,
    dataDir,
    async kill() {
      await kill();
    },
    async restart() {
      if (stopped) throw new Error('startEtcd: restart() after stop()');
      await kill();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
    ...(clientTls ? { caCertFile: clientTls.ca, certFile: clientTls.cert, keyFile: clientTls.key } : {}),
  };
  return result;
}

/** etcd reads every ETCD_* variable as a flag: never pass ours (ETCD_CERT_FILE, …) through. */
function etcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ETCD_')) env[k] = v;
  }
  return env;
}

function tail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
