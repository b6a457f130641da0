// Canonical printing, identity, prefix rewriting (§5.5) and parse error positions/reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTricolorError } from '../base/index.ts';
import { normaliseSelector, parseSelector, withLabelPrefix, labelsOf } from './index.ts';

void test('§5.5 canonicalisation examples', async (t) => {
  const cases: [string, string][] = [
    ['', 'all()'],
    [' all() ', 'all()'],
    [' (all() )', 'all()'],
    ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
    ['! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'],
    [`a == "'"`, `a == "'"`],
    [`a == '"'`, `a == '"'`],
    [`a startswith '"'`, `a starts with '"'`],
    [`a endswith "'"`, `a ends with "'"`],
    [`a!='"'`, `a != '"'`],
    ['a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'],
    ['a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'],
    ["a == 'b'", 'a == "b"'],
    ['a == "b" || c == "d" && e == "f"', '(a == "b" || (c == "d" && e == "f"))'],
    ['((a == "b"))', 'a == "b"'],
    ['!!has(a)', 'has(a)'],
    ["!(k == 'v')", '!k == "v"'],
    ['app notin {"a"}', 'app not in {"a"}'],
    ['app in {"a",}', 'app in {"a"}'],
    // beyond the contract's table
    ['a in {}', 'a in {}'],
    ['a not  in {"x"}', 'a not in {"x"}'],
    ['a starts\t \twith "x"', 'a starts with "x"'],
    ['a contains"x"', 'a contains "x"'],
    ['a in{"x"}', 'a in {"x"}'],
    ['a notin{"x"}', 'a not in {"x"}'],
    ['in in{"in"}', 'in in {"in"}'],
    ['contains contains "contains"', 'contains contains "contains"'],
    ['a == "x\ny"', 'a == "x\ny"'],
    ['all( )', 'all()'],
    ['global( )', 'global()'],
    ['has(\ta\t)', 'has(a)'],
    ['a == "b" && c == "d" && e == "f"', '(a == "b" && c == "d" && e == "f")'],
    ['(a == "b" || c == "d") || e == "f"', '((a == "b" || c == "d") || e == "f")'],
    ['!(!has(a))', 'has(a)'],
    ['a in {"é", "z", "\u{1F600}", "\uFFFD"}', 'a in {"z", "é", "\uFFFD", "\u{1F600}"}'],
  ];
  for (const [input, canonical] of cases) {
    await t.test(JSON.stringify(input), () => {
      const sel = parseSelector(input);
      assert.equal(sel.canonical, canonical);
      assert.equal(parseSelector(canonical).canonical, canonical);
      assert.equal(parseSelector(canonical).uniqueId, sel.uniqueId);
    });
  }
});

void test('§5.5 unique ids', () => {
  assert.equal(parseSelector('all()').uniqueId, 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug');
  assert.equal(parseSelector('').uniqueId, 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug');
  assert.equal(parseSelector('!(has(b) || !has(a))').uniqueId, 's:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q');
  assert.equal(parseSelector('! (has( b)||! has(a ))').uniqueId, 's:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q');
  assert.notEqual(parseSelector('has(a)').uniqueId, parseSelector('has(b)').uniqueId);
});

void test('§5.5 prefix rewriting', async (t) => {
  const cases: [string, string, string][] = [
    ["k == 'v' && x == 'y'", 'visited/', '(visited/k == "v" && visited/x == "y")'],
    ["!(k == 'v')", 'visited/', '!visited/k == "v"'],
    ['has(env) || team in {"a"}', 'pcns.', '(has(pcns.env) || pcns.team in {"a"})'],
    ['all()', 'pcns.', 'all()'],
  ];
  for (const [input, prefix, want] of cases) {
    await t.test(`${input} / ${prefix}`, () => {
      const sel = withLabelPrefix(parseSelector(input), prefix);
      assert.equal(sel.canonical, want);
    });
  }
  const ns = withLabelPrefix(parseSelector('env == "prod"'), 'pcns.');
  assert.equal(ns.evaluate(labelsOf({ 'pcns.env': 'prod' })), true);
  assert.equal(ns.evaluate(labelsOf({ env: 'prod' })), false);
});

void test('normaliseSelector', () => {
  assert.equal(normaliseSelector('  a=="b"  '), 'a == "b"');
  assert.equal(normaliseSelector('\n a == "b"\n'), 'a == "b"');
  assert.equal(normaliseSelector('  a = "b" '), 'a = "b"');
  assert.equal(normaliseSelector(''), 'all()');
});

void test('parse errors name the byte position and the reason', async (t) => {
  const cases: [string, number, string][] = [
    ["a = 'b'", 2, 'expected "=="'],
    ['a === "b"', 4, 'expected "=="'],
    ['b == b', 5, 'expected string'],
    ["'b1' == b", 0, 'expected a label before the operator, found a string'],
    ['a ', 2, 'expected operator after label'],
    ['a b', 2, 'expected operator after label'],
    ['a && b', 2, 'expected operator after label'],
    ['!', 1, 'unexpected end of selector'],
    ['has(a) &&', 9, 'unexpected end of selector'],
    ['foo == "bar" &', 13, 'expected "&&"'],
    ['foo == "bar" |', 13, 'expected "||"'],
    ['"FOO', 0, 'unterminated string'],
    ['a == "x\\"y"', 10, 'unterminated string'],
    ['(a == "foo"', 11, 'expected ")"'],
    ['(a == "b"))', 10, 'unexpected content at end of selector'],
    ['has(a) has(b)', 7, 'unexpected content at end of selector'],
    ['()', 1, 'expected a label, has(), all(), global(), "!" or "("'],
    ['%', 0, 'unexpected character "%"'],
    ['has()', 4, 'expected a label inside has()'],
    ['has(foo', 7, 'expected ")" to close has('],
    ['all(', 4, 'expected ")" to close all('],
    ['label inf "v"', 6, 'expected operator after label'],
    ['a containsx "y"', 2, 'expected operator after label'],
    ['a startswithx "y"', 2, 'expected operator after label'],
    ['a has(b)', 2, 'expected operator after label'],
    ['a == "b"\n&& c == "d"', 8, 'unexpected character "\\n"'],
    ['a == "é" && é == "x"', 13, 'unexpected character "é"'],
    [`${'x'.repeat(513)} == "a"`, 0, 'label too long (513 characters, at most 512)'],
    ['has(' + 'x'.repeat(513) + ')', 4, 'label too long (513 characters, at most 512)'],
    ['app in {,}', 8, 'expected string'],
    ['app in {"a" "b"}', 12, 'expected "," or "}"'],
    ['foo in ""', 7, 'expected "{"'],
    ['foo in {"", ||', 12, 'expected string'],
  ];
  for (const [text, position, reason] of cases) {
    await t.test(JSON.stringify(text.length > 40 ? `${text.slice(0, 20)}…` : text), () => {
      assert.throws(
        () => parseSelector(text),
        (e: unknown) => {
          assert.ok(isTricolorError(e, 'ERR_VALIDATION'));
          assert.equal(e.message, `selector ${JSON.stringify(text)}: at position ${position}: ${reason}`);
          assert.deepEqual(e.detail, { position, reason });
          assert.equal(e.value, text);
          return true;
        },
      );
    });
  }
  assert.equal(parseSelector('x'.repeat(512) + ' == "a"').evaluate(labelsOf({ ['x'.repeat(512)]: 'a' })), true);
});

void test('parse cache returns the same compiled selector; uncached parses are equal', () => {
  const a = parseSelector('role == "db"');
  assert.equal(parseSelector('role == "db"'), a);
  const b = parseSelector('role == "db"', { cache: false });
  assert.notEqual(b, a);
  assert.equal(b.canonical, a.canonical);
  // 10k distinct selectors: the cache stays bounded and still answers correctly.
  for (let i = 0; i < 10000; i++) assert.equal(parseSelector(`k == "${i}"`).canonical, `k == "${i}"`);
  assert.equal(parseSelector('role == "db"').canonical, 'role == "db"');
});

void test('labelsOf ignores inherited properties', () => {
  const sel = parseSelector('has(constructor) || has(__proto__) || toString == "x"');
  assert.equal(sel.evaluate(labelsOf({})), false);
  assert.equal(sel.evaluate(labelsOf({ constructor: '' })), true);
  assert.equal(sel.evaluate(new Map()), false);
});
