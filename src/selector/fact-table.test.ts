// Every row of the selector fact table, API contract §5.7, one case per selector text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTricolorError } from '../base/index.ts';
import { labelsOf, parseSelector, tryParseSelector } from './index.ts';

type Row = readonly [row: number, selectors: readonly string[], labels: Record<string, string>, expected: boolean];

const L513 = 'a'.repeat(513);

const evaluates: readonly Row[] = [
  [1, [''], {}, true],
  [2, [' '], { a: 'b' }, true],
  [3, ['all()'], { a: 'b' }, true],
  [4, ['all( )'], {}, true],
  [5, ['a == "b"'], { a: 'b', c: 'd' }, true],
  [6, ['a == "b"'], { a: 'c' }, false],
  [7, ['a == "b"'], {}, false],
  [8, ['app == "web"'], { app: 'Web' }, false],
  [9, ['a != "a"'], {}, true],
  [10, ['a != "a"'], { a: 'a' }, false],
  [11, ['a == ""'], { a: '' }, true],
  [12, ['a == ""'], {}, false],
  [13, ['has(a)'], { a: '' }, true],
  [14, ['!has(a)'], { b: 'b' }, true],
  [15, ['! has(a)', '!!! has(a)', '!! ! has(a)'], { a: 'b' }, false],
  [16, ['!!has(b)'], { a: 'b' }, false],
  [17, ['a in {"a", "b"}'], { a: 'b' }, true],
  [18, ['a in {"a", "b"}'], { a: 'c' }, false],
  [19, ['a in {}'], { a: 'x' }, false],
  [20, ['a not in {"d", "e"}'], { a: 'a' }, true],
  [21, ['a not in {"a"}'], {}, true],
  [22, ['a not in {}'], {}, true],
  [23, ['!a in {"a"}'], { a: 'b' }, true],
  [24, [`a in {"'", '"', "c"}`], { a: '"' }, true],
  [25, ['a contains "a"'], { a: 'bab' }, true],
  [26, ['a contains "a"'], { b: 'aaa' }, false],
  [27, ['a starts with "a"'], { a: 'baa' }, false],
  [28, ['a ends with "a"'], { a: 'bba' }, true],
  [29, ['tier startswith"front"'], { tier: 'frontend' }, true],
  [30, ['tier ends with ""'], { tier: 'x' }, true],
  [31, ['tier ends with ""'], {}, false],
  [32, ['a == "b" || c == "d" && e == "f"'], { a: 'b' }, true],
  [33, ['(a == "b" || c == "d") && e == "f"'], { a: 'b' }, false],
  [34, ['!(has(b) || !has(a))'], { a: 'a' }, true],
  [35, ["a != 'a1' || b != 'b1'"], { a: 'a1', b: 'b1' }, false],
  [36, ["! a == 'a1' || ! b == 'b1'"], { a: 'a1', b: 'b1' }, false],
  [37, [`a == "it's"`], { a: "it's" }, true],
  [38, [`a == 'say "hi"'`], { a: 'say "hi"' }, true],
  [39, ['a=="b"&&c=="d"'], { a: 'b', c: 'd' }, true],
  [40, ['a == "b"\t&&\tc == "d"'], { a: 'b', c: 'd' }, true],
  [41, ['projectcalico.org/namespace == "default"'], { 'projectcalico.org/namespace': 'default' }, true],
  [42, ['has(calico/k8s_NS-.1/role)'], { 'calico/k8s_NS-.1/role': 'x' }, true],
  [43, ['1abc == "x"'], { '1abc': 'x' }, true],
  [44, ['has == "x"'], { has: 'x' }, true],
  [45, ['in in {"in"}'], { in: 'in' }, true],
  [46, ['not in {"a"}'], {}, false],
  [47, ['a == "é"'], { a: 'é' }, true],
  [48, ['global()'], {}, true],
  [49, ['app in {"a",}'], { app: 'a' }, true],
  [50, ['app notin {"a"}'], { app: 'b' }, true],
];

const rejected: readonly (readonly [row: number, selectors: readonly string[]])[] = [
  [51, ['b == b']],
  [52, ["'b1' == b"]],
  [53, ['b', 'a ', 'all']],
  [54, ['a b']],
  [55, ['!']],
  [56, ['foo == "bar" &', 'foo == "bar" |']],
  [57, ['foo in ""']],
  [58, ['foo in {"", ||']],
  [59, ['"FOO', "'FOO", `"FOO'`]],
  [60, ['a == "x\\"y"']],
  [61, ['(', '(a == "foo"', ')', '()', '(a == "b"))']],
  [62, ['%', 'a == "b" && %']],
  [63, ['has(foo) &&', '&& a == "b"']],
  [64, ['has()', 'has(foo', 'has( foo ', 'all(', 'global(']],
  [65, ['has (app)']],
  [66, ['a = "b"', 'a === "b"']],
  [67, ['label starts foo "v"', 'label inf "v"', 'label ends withs "v"', 'label squiggles "v"']],
  [68, ['a == "b"\n&& c == "d"']],
  [69, ['a:b == "x"']],
  [70, ['été == "x"']],
  [71, [`${L513} == "a"`]],
  [72, ['app in {,}', 'app in {"a" "b"}']],
  [73, ['a && b']],
  [74, ['has(a) has(b)', 'a == "b" c == "d"']],
];

void test('§5.7 rows 1-50: evaluation', async (t) => {
  for (const [row, selectors, labels, expected] of evaluates) {
    for (const text of selectors) {
      await t.test(`row ${row}: ${JSON.stringify(text)} on ${JSON.stringify(labels)}`, () => {
        const sel = parseSelector(text);
        assert.equal(sel.evaluate(labelsOf(labels)), expected);
        assert.equal(sel.evaluate(new Map(Object.entries(labels))), expected);
        // The canonical form is itself a valid selector meaning the same thing.
        const again = parseSelector(sel.canonical);
        assert.equal(again.canonical, sel.canonical);
        assert.equal(again.evaluate(labelsOf(labels)), expected);
      });
    }
  }
});

void test('§5.7 rows 51-74: rejected with a position and a reason', async (t) => {
  for (const [row, selectors] of rejected) {
    for (const text of selectors) {
      await t.test(`row ${row}: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 20)}…` : text)}`, () => {
        assert.equal(tryParseSelector(text), undefined);
        assert.throws(
          () => parseSelector(text),
          (e: unknown) =>
            isTricolorError(e, 'ERR_VALIDATION') &&
            e.message.startsWith(`selector ${JSON.stringify(text)}: at position `) &&
            typeof (e.detail as { position: unknown }).position === 'number',
        );
      });
    }
  }
});

void test('§5.7 row 75: global() && all() parses and evaluates true, but is flagged', () => {
  const sel = parseSelector('global() && all()');
  assert.equal(sel.evaluate(labelsOf({})), true);
  assert.equal(sel.usesGlobal, true);
  assert.equal(sel.canonical, '(global() && all())');
  assert.equal(parseSelector('global()').usesGlobal, true);
  assert.equal(parseSelector('all()').usesGlobal, false);
});
