// The error table, row by row (after undici's test/errors.js): every code's CLI exit status,
// CNI error code and HTTP status written out here, so a change to the table is a deliberate
// change to this test too; the ranges each column must stay in; and how a bug differs from an
// expected failure at every edge conversion.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BugError,
  CNI_CODE_BUG,
  ERROR_TABLE,
  EXIT_BUG,
  EXIT_USAGE,
  TricolorError,
  cniCodeOf,
  exitStatusOf,
  httpStatusOf,
  isBug,
  isTricolorError,
  type ErrorCode,
} from './errors.ts';

/** code → [exit, cni, http]. */
const EXPECTED: Readonly<Record<ErrorCode, readonly [number, number, number]>> = {
  ERR_VALIDATION: [3, 7, 400],
  ERR_PARSE: [3, 6, 400],
  ERR_USAGE: [2, 7, 400],
  ERR_UNKNOWN_KIND: [3, 7, 400],
  ERR_NOT_FOUND: [4, 100, 404],
  ERR_ALREADY_EXISTS: [5, 101, 409],
  ERR_UPDATE_CONFLICT: [6, 11, 409],
  ERR_DATASTORE_UNAVAILABLE: [7, 11, 503],
  ERR_COMPACTED: [7, 11, 410],
  ERR_FORBIDDEN: [8, 102, 403],
  ERR_UNAUTHORIZED: [8, 102, 401],
  ERR_TOO_LARGE: [3, 7, 413],
  ERR_RATE_LIMITED: [7, 11, 429],
  ERR_BUSY: [7, 11, 503],
  ERR_METHOD_NOT_ALLOWED: [3, 7, 405],
  ERR_UNSUPPORTED_MEDIA_TYPE: [3, 7, 415],
  ERR_IPAM_EXHAUSTED: [9, 103, 507],
  ERR_IPAM_INVALID_REQUEST: [3, 7, 400],
  ERR_IPAM_IN_USE: [5, 104, 409],
  ERR_CNI_VERSION: [3, 1, 400],
  ERR_CNI_ENV: [3, 4, 400],
  ERR_NETNS_MISSING: [10, 3, 404],
  ERR_IO: [10, 5, 500],
  ERR_TIMEOUT: [11, 11, 504],
  ERR_BPF_MAP_FULL: [12, 105, 507],
  ERR_BPF_LOAD: [10, 5, 500],
  ERR_INTERNAL: [70, 999, 500],
};

/** CNI SPEC "Error": the well-known codes 1-99 a plugin may use, by meaning. */
const CNI_SPEC_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 11]);

void describe('error table', () => {
  void it('lists exactly the codes this test knows', () => {
    assert.deepEqual(Object.keys(ERROR_TABLE).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [code, [exit, cni, http]] of Object.entries(EXPECTED) as [ErrorCode, readonly [number, number, number]][]) {
    void it(`${code} → exit ${exit}, CNI ${cni}, HTTP ${http}`, () => {
      assert.deepEqual(ERROR_TABLE[code], { exit, cni, http });
      const e = new TricolorError(code, 'm');
      assert.equal(e.exitCode, exit);
      assert.equal(e.cniCode, cni);
      assert.equal(e.httpStatus, http);
      assert.equal(exitStatusOf(e), exit);
      assert.equal(cniCodeOf(e), cni);
      assert.equal(httpStatusOf(e), http);
      assert.ok(isTricolorError(e, code));
      assert.equal(isBug(e), code === 'ERR_INTERNAL');
    });
  }

  void it('every column stays in its range', () => {
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      // 1..125: 0 is success, 126+ are the shell's (cannot execute, not found, killed by a signal)
      assert.ok(Number.isInteger(row.exit) && row.exit >= 1 && row.exit <= 125, `${code} exit ${row.exit}`);
      // CNI SPEC: 1-99 reserved for the spec's own meanings, 100+ for the plugin
      assert.ok(CNI_SPEC_CODES.has(row.cni) || row.cni >= 100, `${code} CNI ${row.cni}`);
      assert.ok(row.http >= 400 && row.http <= 599, `${code} HTTP ${row.http}`);
    }
  });

  void it('only a bug exits 70 (EX_SOFTWARE) and reports CNI 999; only bad usage exits 2', () => {
    assert.equal(EXIT_BUG, 70);
    assert.equal(CNI_CODE_BUG, 999);
    assert.equal(EXIT_USAGE, 2);
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      if (code !== 'ERR_INTERNAL') {
        assert.notEqual(row.exit, EXIT_BUG, code);
        assert.notEqual(row.cni, CNI_CODE_BUG, code);
      }
      if (code !== 'ERR_USAGE') assert.notEqual(row.exit, EXIT_USAGE, code);
    }
  });

  void it('codes follow the ERR_ naming', () => {
    for (const code of Object.keys(ERROR_TABLE)) assert.match(code, /^ERR_[A-Z0-9_]+$/);
  });
});

void describe('bugs versus expected failures', () => {
  void it('a BugError is not a TricolorError, keeps its cause, and converts to the ERR_INTERNAL row', () => {
    const cause = new Error('root');
    const b = new BugError('invariant broken', { cause });
    assert.ok(!isTricolorError(b));
    assert.ok(isBug(b));
    assert.equal(b.code, 'ERR_INTERNAL');
    assert.equal(b.name, 'BugError');
    assert.equal(b.cause, cause);
    assert.match(b.stack ?? '', /BugError: invariant broken/);
    assert.equal(exitStatusOf(b), 70);
    assert.equal(cniCodeOf(b), 999);
    assert.equal(httpStatusOf(b), 500);
  });

  void it('anything thrown that is not a TricolorError is a bug', () => {
    for (const thrown of [new Error('x'), new TypeError('y'), 'a string', undefined, 42]) {
      assert.ok(isBug(thrown));
      assert.equal(exitStatusOf(thrown), 70);
      assert.equal(cniCodeOf(thrown), 999);
      assert.equal(httpStatusOf(thrown), 500);
    }
  });

  void it('a TricolorError keeps field, value, detail and cause', () => {
    const cause = new Error('io');
    const e = new TricolorError('ERR_VALIDATION', 'spec.cidr: "x" is not a valid CIDR', { field: 'spec.cidr', value: 'x', detail: { n: 1 }, cause });
    assert.equal(e.field, 'spec.cidr');
    assert.equal(e.value, 'x');
    assert.deepEqual(e.detail, { n: 1 });
    assert.equal(e.cause, cause);
    assert.equal(e.name, 'TricolorError');
  });
});
