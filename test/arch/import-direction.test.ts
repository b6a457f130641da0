// The import-direction guard of ARCHITECTURE.md: a folder under src/ imports only from folders
// in lower layers (or its own), and only through their public surface (index.ts, or io/index.ts
// for a folder's OS drivers). Tests and benches may reach into any folder's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/**
 * Layer of each src/ folder; lower numbers are lower layers. ARCHITECTURE.md gives the groups
 * (base, net → api, selector → datastore, ipam → calc, dataplane, bgp, cni → agent, … → cli);
 * inside a group the real dependencies fix an order too (api validates selectors, IPAM stores
 * through the datastore, the dataplane renders the calc graph's IR, the CNI plugin uses the
 * dataplane's link drivers), so each folder gets its own rank.
 */
const LAYERS: Readonly<Record<string, number>> = {
  base: 0,
  net: 1,
  selector: 2,
  api: 3,
  datastore: 4,
  ipam: 5,
  calc: 6,
  dataplane: 7,
  // flows sits between calc and the dataplanes: renderers encode its rule identities.
  flows: 6.5,
  bgp: 7,
  proxy: 7,
  cni: 8,
  agent: 9,
  controllers: 9,
  typha: 9.5,
  lab: 10,
  cli: 11,
  web: 11,
};

/** Files outside src/ that src/ may read (the package's own version). */
const ALLOWED_OUTSIDE = new Set([join(ROOT, 'package.json')]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !p.includes(`${sep}test-support${sep}`) && !name.startsWith('test-')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

void test('src/ folders import only downward, and only through index.ts', () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split(sep)[0] ?? '';
    const fromLayer = LAYERS[from];
    if (fromLayer === undefined) {
      problems.push(`${relative(ROOT, file)}: folder src/${from} has no layer in the import guard`);
      continue;
    }
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (ALLOWED_OUTSIDE.has(target)) continue;
      if (!target.startsWith(SRC + sep)) {
        problems.push(`${relative(ROOT, file)} imports ${spec}, outside src/`);
        continue;
      }
      const parts = relative(SRC, target).split(sep);
      const to = parts[0] ?? '';
      if (to === from) continue;
      const toLayer = LAYERS[to];
      if (toLayer === undefined || toLayer >= fromLayer) {
        problems.push(`${relative(ROOT, file)} (layer ${fromLayer}) imports src/${to} (layer ${toLayer ?? '?'})`);
      }
      const inner = parts.slice(1).join('/');
      if (inner !== 'index.ts' && inner !== 'io/index.ts') {
        problems.push(`${relative(ROOT, file)} imports src/${to}/${inner}, not src/${to}/index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

// ---- the io rule ---------------------------------------------------------------------------------

/** Node modules that reach the OS: processes, files, sockets, the embedded database. */
const OS_MODULES = /^node:(child_process|fs|fs\/promises|net|dgram|http|https|http2|tls|sqlite|worker_threads|cluster)$/;

/** Where OS access is the point: io/ folders, the datastore backends (a backend is a driver), the CLI (the command-line edge, like bin/). */
function mayTouchOs(rel: string): boolean {
  return rel.split('/').includes('io') || /^datastore\/[a-z0-9-]+-backend\.ts$/.test(rel) || rel.startsWith('cli/');
}

/**
 * Files outside io/ that touch the OS or import an io module today, each with the reason it is
 * allowed. A new file cannot join this list silently: the test fails on anything not here, and
 * on an entry that no longer needs to be here.
 */
const IO_EXCEPTIONS: Readonly<Record<string, string>> = {
  'datastore/backend-conformance.ts': 'the shared backend conformance suite run by the tests (spawns CAS workers, makes temp dirs); not loaded by any product code',
  'cni/identity.ts': 'reads the Kubernetes service-account token file the CNI netconf names; the CNI plugin is a process composition root',
  'cni/ipam-core.ts': 'runs a delegated IPAM plugin found on CNI_PATH (CNI SPEC delegation), through base/io exec',
  'cni/install.ts': 'writes the plugin wrappers and the conflist into the CNI bin/conf dirs (install-cni), through base/io atomic writes',
  'cni/plugin.ts': "the CNI plugin's composition root: it wires the dataplane's link and route drivers",
};

void test('only io/ code (and the datastore backends, the CLI, bin/) touches the OS; pure code imports no driver', () => {
  const problems: string[] = [];
  const excepted = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    const rel = relative(SRC, file).split(sep).join('/');
    if (mayTouchOs(rel)) continue;
    const text = readFileSync(file, 'utf8');
    const found: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? '';
      if (OS_MODULES.test(spec)) found.push(`imports ${spec}`);
      // index.ts is a folder's public surface and may re-export its io half
      else if (spec.startsWith('.') && spec.split('/').includes('io') && !rel.endsWith('/index.ts') && rel !== 'index.ts') found.push(`imports the driver module ${spec}`);
    }
    if (found.length === 0) continue;
    if (IO_EXCEPTIONS[rel] !== undefined) excepted.add(rel);
    else problems.push(`src/${rel} ${found.join(', ')}: move it under an io/ folder, or take the OS part as a port`);
  }
  for (const rel of Object.keys(IO_EXCEPTIONS)) if (!excepted.has(rel)) problems.push(`src/${rel} is listed in IO_EXCEPTIONS but no longer needs to be: remove the entry`);
  assert.deepEqual(problems, []);
});

void test('src/ never imports test/ or bench/', () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      for (const dir of ['test', 'bench']) if (target.startsWith(join(ROOT, dir) + sep)) problems.push(`${relative(ROOT, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});
