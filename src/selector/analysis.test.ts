import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelKeys, parseSelector, requiredEqualities, requiredLabels } from './index.ts';

function show(text: string): Record<string, string[] | null> {
  const out: Record<string, string[] | null> = {};
  for (const [k, vs] of requiredLabels(parseSelector(text))) out[k] = vs === undefined ? null : [...vs].sort();
  return out;
}

void test('requiredLabels / requiredEqualities', async (t) => {
  const cases: [string, Record<string, string[] | null>, Record<string, string>][] = [
    ['all()', {}, {}],
    ['app == "web"', { app: ['web'] }, { app: 'web' }],
    ['app == "web" && tier in {"fe", "be"}', { app: ['web'], tier: ['be', 'fe'] }, { app: 'web' }],
    ['has(role) && !has(debug)', { role: null }, {}],
    ['a != "x"', {}, {}],
    ['!a != "x"', { a: ['x'] }, { a: 'x' }],
    ['!a not in {"x", "y"}', { a: ['x', 'y'] }, {}],
    ['a not in {"x"}', {}, {}],
    ['a contains "x" && a starts with "y"', { a: null }, {}],
    ['a == "x" || a == "y"', { a: ['x', 'y'] }, {}],
    ['a == "x" || b == "y"', {}, {}],
    ['(a == "x" && b == "z") || (a == "x" && has(c))', { a: ['x'] }, { a: 'x' }],
    ['a == "x" || has(a)', { a: null }, {}],
    ['a in {"x", "y"} && a in {"y", "z"}', { a: ['y'] }, { a: 'y' }],
    ['a == "x" && a == "y"', { a: [] }, {}],
    ['!(a == "x" && b == "y")', {}, {}],
  ];
  for (const [text, req, eq] of cases) {
    await t.test(text, () => {
      assert.deepEqual(show(text), req);
      assert.deepEqual(Object.fromEntries(requiredEqualities(parseSelector(text))), eq);
    });
  }
});

void test('labelKeys lists every label read', () => {
  assert.deepEqual([...labelKeys(parseSelector('a == "x" || !(has(b) && c in {"d"}) || all()'))].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...labelKeys(parseSelector('global()'))], []);
});
