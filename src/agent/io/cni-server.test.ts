// The agent's CNI socket without root: a real SQLite datastore, the real installed wrapper run
// by dash, the real socat. Verbs that need no namespace (VERSION, STATUS, GC, bad input) show
// which side answered through the server's request counter; the namespace verbs are in
// test/e2e/cni-agent.test.ts.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isTricolorError } from '../../base/index.ts';
import { agentWrapperScript, AGENT_PROTOCOL_MAGIC, parseAgentReply } from '../../cni/index.ts';
import { ResourceClient, SQLiteBackend } from '../../datastore/index.ts';
import { CniServer } from './cni-server.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const skip = spawnSync('socat', ['-V']).status === 0 && spawnSync('dash', ['-c', 'true']).status === 0 ? undefined : 'needs socat and dash';

function runScript(script: string, env: Record<string, string>, input: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn('dash', [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
    c.stdin.end(input);
  });
}

function raw(path: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    let out = '';
    s.on('data', (b: Buffer) => (out += b.toString()));
    s.on('error', reject);
    s.on('end', () => resolve(out));
    s.end(data);
  });
}

void describe('CniServer', { skip }, () => {
  async function setup(t: { after(fn: () => Promise<void> | void): void }) {
    const dir = mkdtempSync(join(tmpdir(), 'tri-cnisrv-'));
    const dbPath = join(dir, 'datastore.db');
    const backend = new SQLiteBackend({ path: dbPath });
    await new ResourceClient(backend).initialise();
    const socketPath = join(dir, 'run', 'cni.sock');
    const logs: string[] = [];
    const server = new CniServer({ socketPath, backend, datastore: { type: 'embedded', path: dbPath }, log: (l) => logs.push(l) });
    await server.start();
    const wrapper = join(dir, 'tricolor-cni');
    writeFileSync(wrapper, agentWrapperScript(process.execPath, join(REPO, 'bin', 'tricolor-cni.ts'), { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: dbPath }, socketPath), {
      mode: 0o755,
    });
    t.after(async () => {
      await server.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { dir, dbPath, backend, socketPath, server, wrapper, logs };
  }

  void it('listens on a 0600 socket and refuses to start over a live one', async (t) => {
    const s = await setup(t);
    assert.equal(statSync(s.socketPath).mode & 0o777, 0o600);
    const second = new CniServer({ socketPath: s.socketPath, backend: s.backend, datastore: { type: 'embedded', path: s.dbPath } });
    await assert.rejects(second.start(), (e: unknown) => isTricolorError(e, 'ERR_ALREADY_EXISTS') && /another running agent/.test(e.message));
  });

  void it('the installed wrapper (dash + socat) gets VERSION, STATUS and GC answered by the agent', async (t) => {
    const s = await setup(t);
    const v = await runScript(s.wrapper, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    assert.equal(v.status, 0, v.stderr);
    assert.equal((JSON.parse(v.stdout) as { cniVersion: string }).cniVersion, '1.0.0');
    const st = await runScript(s.wrapper, { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' }, JSON.stringify({ cniVersion: '1.1.0', name: 'k8s-pod-network', type: 'tricolor-cni', nodename_file_optional: true, ipam: { type: 'tricolor-ipam' } }));
    assert.equal(st.status, 0, st.stdout + st.stderr);
    assert.equal(st.stdout, '');
    const gc = await runScript(s.wrapper, { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, JSON.stringify({ cniVersion: '1.1.0', name: 'k8s-pod-network', type: 'tricolor-cni', ipam: { type: 'tricolor-ipam' }, 'cni.dev/valid-attachments': [] }));
    assert.equal(gc.status, 0, gc.stdout + gc.stderr);
    assert.equal(s.server.stats.requests, 3);
  });

  void it('plugin errors come back as CNI error JSON with the exit status', async (t) => {
    const s = await setup(t);
    const r = await runScript(s.wrapper, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/nonexistent' }, '{"cniVersion":"1.0.0", broken');
    assert.equal(r.status, 1);
    const err = JSON.parse(r.stdout) as { code: number; msg: string };
    assert.equal(err.code, 6);
    assert.equal(s.server.stats.failures, 1);
    assert.ok(s.logs.some((l) => l.includes('ADD c1 failed')));
  });

  void it('answers a malformed request with a CNI error and keeps serving', async (t) => {
    const s = await setup(t);
    const reply = parseAgentReply(await raw(s.socketPath, 'GET / HTTP/1.0\r\n\r\n'));
    assert.equal(reply?.status, 1);
    assert.equal((JSON.parse(reply?.stdout ?? '{}') as { code: number }).code, 6);
    assert.equal(s.server.stats.badRequests, 1);
    const v = await runScript(s.wrapper, { CNI_COMMAND: 'VERSION' }, '{}');
    assert.equal(v.status, 0);
  });

  void it('with no socket the wrapper runs the plugin itself; a greeting without an answer is an error, not a retry', async (t) => {
    const s = await setup(t);
    await s.server.stop();
    const v = await runScript(s.wrapper, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(v.status, 0, v.stderr);
    assert.equal((JSON.parse(v.stdout) as { cniVersion: string }).cniVersion, '0.4.0');
    assert.equal(s.server.stats.requests, 0);
    // an "agent" that greets and hangs up: the call must not be run a second time
    const fake = createServer({ allowHalfOpen: true }, (c) => {
      c.resume();
      c.end(`${AGENT_PROTOCOL_MAGIC}\n`);
    });
    await new Promise<void>((r) => fake.listen(s.socketPath, r));
    t.after(() => new Promise<void>((r) => fake.close(() => r())));
    const lost = await runScript(s.wrapper, { CNI_COMMAND: 'VERSION' }, '{}');
    assert.equal(lost.status, 1);
    const err = JSON.parse(lost.stdout) as { code: number; msg: string };
    assert.equal(err.code, 999);
    assert.match(err.msg, /closed the connection before answering/);
  });

});
