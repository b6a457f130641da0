// Table-driven tests of the CLI's pure parts: flag parsing, document reading, Go float
// formatting, table layout and the merge patch.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTricolorError } from '../base/index.ts';
import { parseArgs } from './args.ts';
import { configFileToEnv } from './connection.ts';
import { describeDocument, parseDocuments } from './documents.ts';
import { goFloat, parseOutputFormat, renderTable } from './output.ts';
import { mergePatch } from './resource-commands.ts';

const SPECS = [
  { name: 'filename', short: 'f', value: true },
  { name: 'all-namespaces', short: 'A' },
  { name: 'skip-not-exists', short: 's' },
] as const;

for (const [args, positionals, flags] of [
  [['get', '-f', 'x.yaml'], ['get'], { filename: 'x.yaml' }],
  [['-fx.yaml'], [], { filename: 'x.yaml' }],
  [['--filename=x.yaml', 'a'], ['a'], { filename: 'x.yaml' }],
  [['-As', 'n'], ['n'], { 'all-namespaces': true, 'skip-not-exists': true }],
  [['--all-namespaces=false', '--', '-x'], ['-x'], {}],
] as const) {
  void test(`parseArgs ${JSON.stringify(args)}`, () => {
    const p = parseArgs(args, SPECS);
    assert.deepEqual(p.positionals, positionals);
    assert.deepEqual(Object.fromEntries(p.flags), flags);
  });
}

for (const [args, message] of [
  [['--nope'], 'unknown flag: --nope'],
  [['-m'], "unknown shorthand flag: 'm' in -m"],
  [['-f'], "flag needs an argument: 'f' in -f"],
] as const) {
  void test(`parseArgs refuses ${JSON.stringify(args)}`, () => {
    assert.throws(
      () => parseArgs(args, SPECS),
      (e) => isTricolorError(e, 'ERR_USAGE') && e.message === message,
    );
  });
}

for (const [n, s] of [
  [1000000, '1e+06'],
  [10000000, '1e+07'],
  [1000, '1000'],
  [100.5, '100.5'],
  [100000, '100000'],
  [1234567, '1.234567e+06'],
  [0.0001, '0.0001'],
  [0.00001, '1e-05'],
  [0, '0'],
  [-2e6, '-2e+06'],
] as const) {
  void test(`goFloat(${n}) = ${s}`, () => assert.equal(goFloat(n), s));
}

void test('parseDocuments: streams, Lists, sequences, empty documents, port ranges stay strings', () => {
  const docs = parseDocuments(
    `kind: A\nmetadata: {name: a}\nspec: {ports: [8080:8090]}\n---\n---\nkind: BList\nitems: [{kind: B, metadata: {name: b1}}, {kind: B, metadata: {name: b2}}]\n---\n- {kind: C}\n- {kind: D}\n`,
    'f.yaml',
  );
  assert.deepEqual(
    docs.map((d) => (d as { kind: string }).kind),
    ['A', 'B', 'B', 'C', 'D'],
  );
  assert.deepEqual((docs[0] as { spec: { ports: unknown[] } }).spec.ports, ['8080:8090']);
  assert.deepEqual(parseDocuments('{"kind": "J"}', 'j.json'), [{ kind: 'J' }]);
});

for (const [text, pattern] of [
  ['a: 1\na: 2\n', /f\.yaml:2:1: document 1: invalid YAML\/JSON/],
  ['---\nok: 1\n---\nbad: [\n', /f\.yaml:\d+:\d+: document 2: /],
  ['{"a": 1', /f\.yaml:1:\d+: document 1/],
] as const) {
  void test(`parseDocuments refuses ${JSON.stringify(text)}`, () => {
    assert.throws(
      () => parseDocuments(text, 'f.yaml'),
      (e) => isTricolorError(e, 'ERR_PARSE') && pattern.test(e.message),
    );
  });
}

void test('describeDocument', () => {
  assert.equal(describeDocument({ kind: 'IPPool', metadata: { name: 'p' } }), 'IPPool "p"');
  assert.equal(describeDocument({ kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'n' } }), 'NetworkPolicy "n/p"');
  assert.equal(describeDocument('x'), '(not an object: "x")');
});

void test('renderTable pads to widest + 3 (min 5), last column too, and ends with a blank line', () => {
  const items = [{ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'a' }, spec: { order: 1e6 } }] as const;
  assert.equal(renderTable(items as never, 'Tier', 'projectcalico.org/v3', { type: 'ps' }, false), 'NAME   ORDER   \na      1e+06   \n\n');
  assert.equal(renderTable([], 'Tier', 'projectcalico.org/v3', { type: 'ps' }, false), 'NAME   ORDER   \n\n');
});

void test('parseOutputFormat', () => {
  assert.deepEqual(parseOutputFormat(undefined), { type: 'ps' });
  assert.deepEqual(parseOutputFormat('yml'), { type: 'yaml' });
  assert.deepEqual(parseOutputFormat('custom-columns=NAME,CIDR'), { type: 'custom', columns: ['NAME', 'CIDR'] });
  assert.throws(() => parseOutputFormat('custom-columns='), /need to specify at least one column/);
  assert.throws(() => parseOutputFormat('xml'), /unrecognized output format 'xml'/);
});

for (const [target, patch, want] of [
  [{ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 } }, { a: 1, b: { d: 3, e: 4 } }],
  [{ a: [1, 2] }, { a: [3] }, { a: [3] }],
  [{ a: 1 }, { a: { x: 1 } }, { a: { x: 1 } }],
] as const) {
  void test(`mergePatch ${JSON.stringify(patch)}`, () => {
    const before = structuredClone(target);
    assert.deepEqual(mergePatch(target, patch), want);
    assert.deepEqual(target, before, 'target not mutated');
  });
}

void test('configFileToEnv maps CalicoAPIConfig and refuses unknown keys', () => {
  const env = configFileToEnv(
    { apiVersion: 'projectcalico.org/v3', kind: 'CalicoAPIConfig', spec: { etcdEndpoints: 'http://127.0.0.1:2379', etcdCACertFile: '/ca' } },
    'c.cfg',
    { PATH: '/bin', DATASTORE_TYPE: 'embedded', CALICO_ETCD_ENDPOINTS: 'x' },
  );
  assert.deepEqual(env, { PATH: '/bin', DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://127.0.0.1:2379', ETCD_CA_CERT_FILE: '/ca' });
  assert.throws(
    () => configFileToEnv({ apiVersion: 'projectcalico.org/v3', kind: 'CalicoAPIConfig', spec: { etcdEndpoint: 'x' } }, 'c.cfg', {}),
    /field in document is not recognized or is in the wrong location: spec\.etcdEndpoint/,
  );
  assert.throws(() => configFileToEnv({ apiVersion: 'v1', kind: 'CalicoAPIConfig' }, 'c.cfg', {}), /unknown APIVersion 'v1'/);
});
