import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from './atomic-file.ts';

void describe('atomic file writer', () => {
  void it('replaces the file whole, with the mode asked for, leaving no temporary behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tricolor-atomic-'));
    try {
      const p = join(dir, 'f');
      writeFileAtomic(p, 'one');
      writeFileAtomic(p, 'two', { mode: 0o755 });
      assert.equal(readFileSync(p, 'utf8'), 'two');
      assert.equal(statSync(p).mode & 0o777, 0o755);
      writeJsonAtomic(join(dir, 'j.json'), { a: 1 });
      assert.equal(readFileSync(join(dir, 'j.json'), 'utf8'), '{\n  "a": 1\n}\n');
      writeJsonAtomic(join(dir, 'j.json'), { a: 2 }, { compact: true });
      assert.equal(readFileSync(join(dir, 'j.json'), 'utf8'), '{"a":2}\n');
      assert.deepEqual(readdirSync(dir).sort(), ['f', 'j.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('a failed rename leaves the target as it was and no temporary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tricolor-atomic-'));
    try {
      // rename(2) of a file over a non-empty directory fails (EISDIR): the temporary must go
      const target = join(dir, 'target');
      mkdirSync(join(target, 'child'), { recursive: true });
      assert.throws(() => writeFileAtomic(target, 'new'));
      assert.ok(statSync(target).isDirectory());
      assert.deepEqual(readdirSync(dir), ['target']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
