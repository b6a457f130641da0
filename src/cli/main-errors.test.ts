// The CLI edge of the error table: an expected failure is one `error:` line and its code's exit
// status, no stack; a bug (BugError, any other thrown value, an ERR_INTERNAL TricolorError) prints
// its stack and exits with the table's ERR_INTERNAL status; usage mistakes exit with ERR_USAGE's.

import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BugError, ERROR_TABLE, TricolorError, type ErrorCode } from '../base/index.ts';
import type { CliContext, Command } from './command.ts';
import { runCli } from './main.ts';

function ctx(): { c: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (t: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        f(chunk.toString());
        cb();
      },
    });
  const c: CliContext = { stdout: sink((t) => (out += t)), stderr: sink((t) => (err += t)), stdin: Readable.from([]), env: {}, cwd: '/' };
  return { c, out: () => out, err: () => err };
}

const throwing = (thrown: unknown): Command[] => [
  {
    name: 'boom',
    summary: 'throws',
    // a bug may throw anything, not only an Error: that is the case under test
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    run: () => Promise.reject(thrown),
  },
];

void describe('CLI error edge', () => {
  for (const code of Object.keys(ERROR_TABLE) as ErrorCode[]) {
    if (code === 'ERR_INTERNAL') continue;
    void it(`${code}: one error line, exit ${ERROR_TABLE[code].exit}, no stack`, async () => {
      const { c, err } = ctx();
      const status = await runCli(['boom'], c, throwing(new TricolorError(code, 'spec.x: "y" is wrong')));
      assert.equal(status, ERROR_TABLE[code].exit);
      assert.equal(err(), 'error: spec.x: "y" is wrong\n');
    });
  }

  for (const [what, thrown] of [
    ['a BugError', new BugError('kind "x" is not registered')],
    ['a TypeError', new TypeError('cannot read properties of undefined')],
    ['an ERR_INTERNAL TricolorError', new TricolorError('ERR_INTERNAL', 'invariant')],
  ] as const) {
    void it(`${what} is a bug: stack printed, exit ${ERROR_TABLE.ERR_INTERNAL.exit}`, async () => {
      const { c, err } = ctx();
      const status = await runCli(['boom'], c, throwing(thrown));
      assert.equal(status, ERROR_TABLE.ERR_INTERNAL.exit);
      assert.match(err(), /^internal error \(a bug in tricolor, please report it\): /);
      assert.match(err(), /\n\s+at /, 'the stack is printed');
    });
  }

  void it('no command and an unknown command exit with the usage status', async () => {
    const a = ctx();
    assert.equal(await runCli([], a.c, []), ERROR_TABLE.ERR_USAGE.exit);
    const b = ctx();
    assert.equal(await runCli(['nope'], b.c, throwing(undefined)), ERROR_TABLE.ERR_USAGE.exit);
    assert.match(b.err(), /unknown command "nope"/);
  });
});
