// Test helper: a throwaway CA and leaf certificates with a chosen CN and URI SAN (openssl), for
// Typha's mutual TLS tests; a second, unrelated CA for certificates that must not chain.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

export interface TestPKI {
  readonly dir: string;
  readonly ca: string;
  /** A leaf signed by this CA (or by a stranger CA when `foreign`). */
  issue(name: string, o: { cn: string; uriSAN?: string; foreign?: boolean }): TestCert;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr || String(r.error)}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makePKI(): TestPKI {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-pki-'));
  openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tricolor-test-ca']);
  let foreignCA = false;
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    issue(name, o) {
      let ca = 'ca';
      if (o.foreign === true) {
        if (!foreignCA) openssl(dir, ['req', '-x509', ...EC, '-keyout', 'stranger.key', '-out', 'stranger.crt', '-days', '2', '-subj', '/CN=stranger-ca']);
        foreignCA = true;
        ca = 'stranger';
      }
      const san = ['IP:127.0.0.1', 'DNS:localhost', ...(o.uriSAN !== undefined ? [`URI:${o.uriSAN}`] : [])].join(',');
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${o.cn}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
