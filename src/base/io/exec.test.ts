// The exec helper against real programs: output, status, stdin, env, a missing program, a
// timeout, a supervised child (lines, stop with TERM then KILL, handed over with detach), detached
// start with a log file, and stopping by pid.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isTricolorError } from '../errors.ts';
import { waitFor } from '../async.ts';
import { exec, execOk, pidAlive, spawnDetached, startChild, stopPids } from './exec.ts';

void describe('exec', () => {
  void it('collects stdout, stderr and the status; feeds stdin; passes env', async () => {
    const r = await exec(['sh', '-c', 'cat; echo "$X" >&2; exit 3'], { input: 'in', env: { X: 'ex', PATH: process.env['PATH'] } });
    assert.deepEqual(r, { status: 3, stdout: 'in', stderr: 'ex\n' });
    assert.equal(await execOk(['printf', 'ok']), 'ok');
  });

  void it('a failing command is ERR_IO naming it and quoting stderr', async () => {
    await assert.rejects(execOk(['sh', '-c', 'echo bad thing >&2; exit 2']), (e: unknown) => isTricolorError(e, 'ERR_IO') && /sh -c .* failed \(exit 2\): bad thing/.test(e.message));
  });

  void it('a program that does not exist is ERR_IO', async () => {
    await assert.rejects(exec(['/nonexistent/tricolor-no-such-program']), (e: unknown) => isTricolorError(e, 'ERR_IO') && /cannot run/.test(e.message));
  });

  void it('a child past its timeout is killed (status 137)', async () => {
    const r = await exec(['sleep', '30'], { timeoutMs: 20 });
    assert.equal(r.status, 137);
  });

  void it('starts a detached program with its output in a log, and stops it by pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tricolor-exec-'));
    try {
      const log = join(dir, 'out.log');
      const pid = await spawnDetached(['sh', '-c', 'echo started; exec sleep 30'], { logPath: log });
      assert.ok(pidAlive(pid));
      assert.equal(await waitFor(() => (readFileSync(log, 'utf8').includes('started') ? true : undefined), 5000, 10), true);
      await stopPids([pid], 2000);
      assert.equal(await waitFor(() => (pidAlive(pid) ? undefined : true), 5000, 10), true);
      await assert.rejects(spawnDetached(['/nonexistent/x'], { logPath: log }), (e: unknown) => isTricolorError(e, 'ERR_IO'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('a supervised child: its output line by line, its exit, a stop that escalates to SIGKILL', async () => {
    const lines: string[] = [];
    const c = await startChild(['sh', '-c', 'echo one; echo two >&2; printf three'], { onLine: (l, s) => lines.push(`${s}:${l}`) });
    assert.deepEqual(await c.exited, { code: 0, signal: null });
    assert.equal(c.running, false);
    assert.deepEqual(lines.sort(), ['stderr:two', 'stdout:one', 'stdout:three']);
    // ignores SIGTERM: stop() must kill it after the grace period
    let ready = false;
    const stubborn = await startChild(['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { onLine: (l) => (ready ||= l === 'ready') });
    assert.equal(await waitFor(() => (ready ? true : undefined), 5000, 10), true);
    assert.ok(stubborn.running && pidAlive(stubborn.pid));
    await stubborn.stop(100);
    assert.equal((await stubborn.exited).signal, 'SIGKILL');
    await stubborn.dispose(); // idempotent
    await assert.rejects(startChild(['/nonexistent/tricolor-no-such-program']), (e: unknown) => isTricolorError(e, 'ERR_IO') && /cannot start/.test(e.message));
  });

  void it('a detached child outlives its owner (the exit hook leaves it alone) and does not keep it running', async () => {
    // the owner: a node process that starts `sleep`, detaches it and ends on its own
    const owner = `import { startChild } from ${JSON.stringify(join(import.meta.dirname, 'exec.ts'))};
const c = await startChild(['sleep', '30'], { onLine: () => undefined });
process.stdout.write(String(c.pid));
c.detach();`;
    const r = await exec([process.execPath, '--input-type=module', '-e', owner], { timeoutMs: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(r.stdout);
    assert.ok(pid > 1 && pidAlive(pid), 'the detached child still runs after its owner exited');
    await stopPids([pid], 1000);
    assert.equal(pidAlive(pid), false);
  });
});
