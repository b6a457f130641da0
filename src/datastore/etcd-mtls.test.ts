// Mutual TLS against a real etcd (issue 16 item 4): with the right CA and a client certificate
// it signed, everything works; a client certificate from another CA, an expired one, none at
// all, or a CA file that did not sign the server's certificate → refused, with an error that
// says which of these it is (not a bare "socket hang up").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isTricolorError } from '../base/index.ts';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import { EtcdBackend } from './etcd-backend.ts';

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A client certificate `name` signed by caCrt/caKey, valid for `days` (negative: already expired). */
function clientCert(dir: string, name: string, caCrt: string, caKey: string, days: number): { cert: string; key: string } {
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', caCrt, '-CAkey', caKey, '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', 'client.ext']);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

void describe('etcdv3: mutual TLS', { timeout: 120_000 }, () => {
  let etcd: RunningEtcd;
  let dir: string;
  let ca: string;
  let other: { ca: string; cert: string; key: string };
  let expired: { cert: string; key: string };
  let good: { cert: string; key: string };
  before(async () => {
    etcd = await startEtcd({ tls: true });
    dir = mkdtempSync(join(tmpdir(), 'tricolor-mtls-'));
    ca = etcd.caCertFile ?? '';
    const caKey = join(dirname(ca), 'ca.key');
    good = clientCert(dir, 'agent', ca, caKey, 2);
    expired = clientCert(dir, 'expired', ca, caKey, -1);
    openssl(dir, ['req', '-x509', ...EC, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=another-ca']);
    other = { ca: join(dir, 'other-ca.crt'), ...clientCert(dir, 'stranger', join(dir, 'other-ca.crt'), join(dir, 'other-ca.key'), 2) };
  });
  after(async () => {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const attempt = async (o: { caCertFile?: string; certFile?: string; keyFile?: string }): Promise<unknown> => {
    const b = new EtcdBackend({ endpoints: [etcd.endpoints], ...o, dialTimeoutMs: 5000, requestTimeoutMs: 10_000 });
    try {
      await b.put('/mtls/k', 'v');
      return undefined;
    } catch (e) {
      return e;
    } finally {
      await b.close();
    }
  };

  void test('the right CA and a client certificate it signed: works', async () => {
    assert.equal(await attempt({ caCertFile: ca, certFile: good.cert, keyFile: good.key }), undefined);
  });

  const refused: [string, () => { caCertFile?: string; certFile?: string; keyFile?: string }, RegExp][] = [
    ['no client certificate', () => ({ caCertFile: ca }), /requires a client certificate and none was given: set ETCD_CERT_FILE/],
    ['a client certificate from another CA', () => ({ caCertFile: ca, certFile: other.cert, keyFile: other.key }), /refused the client certificate ETCD_CERT_FILE ".*stranger\.crt" \(CN=stranger\): it is not signed by a CA etcd trusts \(issuer CN=another-ca\)/],
    ['an expired client certificate', () => ({ caCertFile: ca, certFile: expired.cert, keyFile: expired.key }), /refused the client certificate ETCD_CERT_FILE ".*expired\.crt" \(CN=expired\): it expired on /],
    ["a CA file that did not sign the server's certificate", () => ({ caCertFile: other.ca, certFile: good.cert, keyFile: good.key }), /the etcd server certificate is not signed by the CA in ETCD_CA_CERT_FILE ".*other-ca\.crt"/],
  ];
  for (const [name, opts, re] of refused) {
    void test(`refused, clearly: ${name}`, async () => {
      const e = await attempt(opts());
      assert.ok(isTricolorError(e), `expected a TricolorError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_DATASTORE_UNAVAILABLE');
      assert.match(e.message, re);
    });
  }
});
