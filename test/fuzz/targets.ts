// Fuzz targets (issue 16 item 3): every input a user or another program hands Tricolor —
// resource documents of every kind, YAML text, selectors, CLI flags, CNI stdin + environment,
// the agent's CNI socket framing, and datastore values written by someone else. Each target
// checks one property: the input ends in a result or in a coded TricolorError that names what
// was wrong (field or value), never in another exception, a stack trace for a user error, or
// (for the CLI) the bug exit status 70. Shared by test/fuzz/fuzz.test.ts (bounded, fixed seeds)
// and bench/fuzz.ts (longer runs, inputs per second).

import { Writable, Readable } from 'node:stream';
import fc from 'fast-check';
import { isTricolorError, type TricolorError } from '../../src/base/index.ts';
import { CALICO_SPEC_FIELDS } from '../../src/api/calico-fields.ts';
import { KIND_INFOS, validateResource, resourceKey } from '../../src/api/index.ts';
import { parseSelector } from '../../src/selector/index.ts';
import { parseDocuments } from '../../src/cli/documents.ts';
import { runCli } from '../../src/cli/main.ts';
import { runCni, type CniPlugin } from '../../src/cni/skeleton.ts';
import { parseNetConf } from '../../src/cni/netconf.ts';
import { parseAgentRequest, AGENT_PROTOCOL_MAGIC, FORWARDED_ENV } from '../../src/cni/agent-protocol.ts';
import { decodeResource } from '../../src/datastore/resource-codec.ts';

export interface FuzzTarget {
  readonly name: string;
  /** A property over one generated input; throws (or rejects) when the property fails. */
  readonly property: fc.IAsyncPropertyWithHooks<[unknown]> | fc.IPropertyWithHooks<[unknown]>;
}

/** What an expected failure must look like: coded, a message, no stack trace inside it. */
export function assertUserError(e: unknown, input: unknown): asserts e is TricolorError {
  if (!isTricolorError(e)) {
    throw new Error(`not a TricolorError for input ${JSON.stringify(input)?.slice(0, 300)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  if (!/^ERR_[A-Z_]+$/.test(e.code)) throw new Error(`error code ${JSON.stringify(e.code)} is not ERR_*`);
  if (e.message.trim() === '') throw new Error(`empty message for ${JSON.stringify(input)?.slice(0, 300)}`);
  if (/\n\s+at .+:\d+:\d+/.test(e.message)) throw new Error(`stack trace in a user error: ${e.message}`);
  if (e.code === 'ERR_VALIDATION' && e.field === undefined && !/: /.test(e.message)) {
    throw new Error(`validation error names no field: ${e.message}`);
  }
}

// ---- generators ---------------------------------------------------------------------------

/** Strings a hostile or careless writer produces: empty, huge, control and non-BMP characters. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '-', '*', 'all()', '0', '-1', '1e309', 'null', '10.0.0.0/33', '::/129', '999999999999', '\u0000', 'a\nb', '😀'),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.nat({ max: 70_000 }).map((n) => 'x'.repeat(n)),
);

const nastyJSON: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const CALICO = 'projectcalico.org/v3';
const kinds = KIND_INFOS.map((k) => ({ apiVersion: k.apiVersion, kind: k.kind, namespaced: k.namespaced }));

/** A document of some kind with one to three spec fields (Calico's names or random) set to anything. */
const resourceDoc = fc
  .record({
    k: fc.constantFrom(...kinds),
    name: fc.oneof(fc.constantFrom('default', 'p1', 'node.n1', 'kube-admin', 'knp.default.x'), nastyString),
    ns: fc.option(fc.oneof(fc.constant('ns1'), nastyString), { nil: undefined }),
    fields: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...Object.values(CALICO_SPEC_FIELDS).flat()), nastyString), nastyJSON), { minLength: 0, maxLength: 3 }),
    extra: fc.option(fc.dictionary(nastyString, nastyJSON, { maxKeys: 2 }), { nil: undefined }),
    status: fc.option(nastyJSON, { nil: undefined }),
  })
  .map(({ k, name, ns, fields, extra, status }) => {
    const doc: Record<string, unknown> = {
      apiVersion: k.apiVersion,
      kind: k.kind,
      metadata: { name, ...(k.namespaced && ns !== undefined ? { namespace: ns } : {}) },
      spec: Object.fromEntries(fields),
      ...extra,
    };
    if (status !== undefined) doc['status'] = status;
    return doc;
  });

// ---- targets ------------------------------------------------------------------------------

const resources: FuzzTarget = {
  name: 'resources',
  property: fc.property(fc.oneof(resourceDoc, nastyJSON), (doc) => {
    let out;
    try {
      out = validateResource(structuredClone(doc));
    } catch (e) {
      assertUserError(e, doc);
      return;
    }
    // defaults are a fixed point: a stored object validates to itself
    const again = validateResource(structuredClone(out));
    if (JSON.stringify(again) !== JSON.stringify(out)) throw new Error(`validation is not idempotent for ${JSON.stringify(doc).slice(0, 400)}`);
  }),
};

const yamlText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(fc.constantFrom('apiVersion: projectcalico.org/v3\n', 'kind: IPPool\n', 'metadata:\n', '  name: x\n', 'spec:\n', '  cidr: 10.0.0.0/8\n', '---\n', '- a\n', '{', '}', '[', ': :', '&a *a\n', '!!binary x\n', '\t', 'kind: List\nitems:\n'), { maxLength: 12 }).map((a) => a.join('')),
);

const yaml: FuzzTarget = {
  name: 'yaml',
  property: fc.property(yamlText, (text) => {
    try {
      const docs = parseDocuments(text, 'fuzz.yaml');
      for (const d of docs) {
        try {
          validateResource(d);
        } catch (e) {
          assertUserError(e, d);
        }
      }
    } catch (e) {
      assertUserError(e, text);
    }
  }),
};

const selectorText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc
    .array(fc.constantFrom('a', 'b.c/d', '==', '!=', ' in ', ' not in ', '{', '}', "'x'", '"y"', ',', '&&', '||', '!', '(', ')', 'has(', 'all()', 'global()', 'contains', 'starts with', 'ends with', ' ', "'"), { maxLength: 14 })
    .map((a) => a.join('')),
);

const selectors: FuzzTarget = {
  name: 'selectors',
  property: fc.property(selectorText, (text) => {
    let s;
    try {
      s = parseSelector(text, { cache: false });
    } catch (e) {
      assertUserError(e, text);
      return;
    }
    // the canonical form parses back to itself
    const again = parseSelector(s.canonical, { cache: false });
    if (again.canonical !== s.canonical) throw new Error(`canonical form not stable: ${JSON.stringify(text)} → ${s.canonical} → ${again.canonical}`);
  }),
};

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** CLI verbs that only read or write the datastore the test points them at (no namespaces, no daemons). */
const SAFE_VERBS = ['get', 'create', 'apply', 'replace', 'delete', 'patch', 'label', 'ipam', 'policy', 'version', 'node'] as const;
const flagWord = fc.oneof(
  fc.constantFrom('-o', 'yaml', 'json', 'wide', '-f', '-', '-n', '-A', '--all-namespaces', '--config', '-p', '{"spec":{}}', '--overwrite', '--remove', 'status', 'show', 'check', 'release', 'explain', '--from', '--to', '--port', 'ippool', 'gnp', 'networkpolicy', 'wep', 'felixconfig', 'x=y', '--ip', '10.0.0.1', '--help', '--', '--skip-not-exists', '--show-blocks', 'split', 'configure', '--run-dir'),
  nastyString.filter((s) => !s.includes('\u0000')),
);

export function cliTarget(datastorePath: string, cwd: string): FuzzTarget {
  return {
    name: 'cli-flags',
    property: fc.asyncProperty(fc.tuple(fc.constantFrom(...SAFE_VERBS), fc.array(flagWord, { maxLength: 6 })), async ([verb, words]) => {
      // `node` only with `status` (never `run`), `--run-dir` only into the scratch dir
      if (verb === 'node' && words[0] !== 'status') words = ['status', ...words];
      if (words.includes('run')) return;
      const stdout = new Sink();
      const stderr = new Sink();
      const ctx = {
        stdout,
        stderr,
        stdin: Readable.from([]),
        env: { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: datastorePath, PATH: process.env['PATH'] ?? '' },
        cwd,
      };
      const code = await runCli([verb, ...words], ctx);
      if (code === 70) throw new Error(`bug exit 70 for tricolor ${[verb, ...words].join(' ')}:\n${stderr.text}`);
      if (/\n\s+at .+:\d+:\d+/.test(stderr.text)) throw new Error(`stack trace for tricolor ${[verb, ...words].join(' ')}:\n${stderr.text}`);
      if (code !== 0 && stderr.text.trim() === '' && stdout.text.trim() === '' && verb !== 'node') throw new Error(`exit ${code} with nothing said for tricolor ${[verb, ...words].join(' ')}`);
    }),
  };
}

const cniEnvKeys = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;
const cniEnv = fc.record(
  Object.fromEntries(
    cniEnvKeys.map((k) => [
      k,
      fc.option(
        k === 'CNI_COMMAND' ? fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', 'add', ''), nastyString) : k === 'CNI_ARGS' ? fc.oneof(fc.constantFrom('K8S_POD_NAMESPACE=a;K8S_POD_NAME=b', 'IgnoreUnknown=1;X=', '=;=', 'a'), nastyString) : nastyString,
        { nil: undefined },
      ),
    ]),
  ) as Record<(typeof cniEnvKeys)[number], fc.Arbitrary<string | undefined>>,
);
const netconfJSON = fc.oneof(
  nastyString,
  nastyJSON.map((v) => JSON.stringify(v)),
  fc
    .record({
      cniVersion: fc.oneof(fc.constantFrom('1.0.0', '0.4.0', '0.3.1', '1.1.0', '2.0.0', ''), nastyString),
      name: fc.oneof(fc.constant('k8s-pod-network'), nastyString),
      type: fc.constant('tricolor-cni'),
      mtu: fc.oneof(fc.integer(), nastyString),
      ipam: fc.oneof(fc.constant({ type: 'tricolor-ipam' }), nastyJSON),
      nodename_file_optional: fc.oneof(fc.boolean(), nastyString),
      datastore_type: fc.oneof(fc.constantFrom('embedded', 'etcdv3', 'kubernetes'), nastyString),
      policy: nastyJSON,
      prevResult: nastyJSON,
      ipv4_pools: nastyJSON,
    }, { requiredKeys: ['cniVersion'] })
    .map((o) => JSON.stringify(o)),
);

/**
 * CNI stdin + environment through the real skeleton and the real network-configuration parser.
 * The plugin it loads stops after parsing: if a call gets past the parser the plugin records it,
 * so the property can also say no bad input reached the point where addresses or veths are made.
 */
const cni: FuzzTarget = {
  name: 'cni-stdin-env',
  property: fc.asyncProperty(fc.tuple(cniEnv, netconfJSON), async ([env, stdin]) => {
    let out = '';
    const reached: string[] = [];
    const plugin: CniPlugin = {
      add: (req) => {
        parseNetConf(req.conf);
        reached.push('ADD');
        return Promise.resolve({ cniVersion: req.version, interfaces: [], ips: [], routes: [], dns: {} });
      },
      del: (req) => (parseNetConf(req.conf), reached.push('DEL'), Promise.resolve()),
      check: (req) => (parseNetConf(req.conf), reached.push('CHECK'), Promise.resolve()),
      gc: (req) => (parseNetConf(req.conf), reached.push('GC'), Promise.resolve()),
      status: (req) => (parseNetConf(req.conf), reached.push('STATUS'), Promise.resolve()),
    };
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) e[k] = v;
    const code = await runCni(() => Promise.resolve(plugin), { env: e, stdin, stdout: (s) => (out += s), stderr: () => undefined });
    let reply: Record<string, unknown>;
    try {
      reply = out.trim() === '' ? {} : (JSON.parse(out) as Record<string, unknown>);
    } catch {
      throw new Error(`CNI output is not JSON: ${out}`);
    }
    if (code !== 0) {
      if (typeof reply['code'] !== 'number' || typeof reply['msg'] !== 'string') throw new Error(`CNI error without code/msg: ${out}`);
      if (reply['code'] === 999) throw new Error(`internal error (999) for env ${JSON.stringify(e)} stdin ${stdin.slice(0, 200)}: ${out}`);
      if (reached.length > 0) throw new Error(`a failed call reached the plugin body: ${out}`);
    }
  }),
};

const frameLine = fc.oneof(
  fc.tuple(fc.constantFrom(...FORWARDED_ENV), nastyString).map(([k, v]) => `${k}=${v}`),
  nastyString,
);
const agentFrame = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.oneof(fc.constant(AGENT_PROTOCOL_MAGIC), nastyString), fc.array(frameLine, { maxLength: 6 }), fc.boolean(), nastyString).map(([magic, lines, ended, body]) =>
    Buffer.from(`${magic}\n${lines.join('\n')}${ended ? '\n\n' : ''}${body}`),
  ),
);

const agentSocket: FuzzTarget = {
  name: 'agent-socket-framing',
  property: fc.property(agentFrame, (buf) => {
    try {
      const req = parseAgentRequest(buf);
      for (const k of Object.keys(req.env)) if (!(FORWARDED_ENV as readonly string[]).includes(k)) throw new Error(`unforwarded variable ${k} accepted`);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('unforwarded')) throw e;
      assertUserError(e, buf.toString('utf8').slice(0, 200));
    }
  }),
};

/** Values under our etcd prefixes as another writer might leave them. */
const storedValue = fc.oneof(
  nastyString,
  nastyJSON.map((v) => JSON.stringify(v)),
  resourceDoc.map((d) => JSON.stringify(d)),
  fc.nat({ max: 300_000 }).map((n) => JSON.stringify({ apiVersion: CALICO, kind: 'GlobalNetworkSet', metadata: { name: 'huge' }, spec: { nets: Array.from({ length: Math.min(n, 2_000) }, (_, i) => `10.${i >> 8}.${i & 255}.1/32`) }, pad: 'x'.repeat(n) })),
);
const storedKey = fc.oneof(
  fc.tuple(fc.constantFrom(...KIND_INFOS), fc.oneof(fc.constantFrom('default', 'a'), nastyString)).map(([info, name]) => {
    try {
      return resourceKey(info, name.replace(/\//g, '_') || 'x', info.namespaced ? 'ns1' : undefined);
    } catch {
      return `${info.keyPrefix}${name}`;
    }
  }),
  nastyString.map((s) => `/calico/resources/v3/projectcalico.org/${s}`),
);

const datastoreContent: FuzzTarget = {
  name: 'datastore-content',
  property: fc.property(fc.tuple(storedKey, fc.option(storedValue, { nil: undefined })), ([key, value]) => {
    if (value === undefined) return;
    const d = decodeResource({ key, value, modRevision: 1 });
    if (d === undefined) return;
    if (!d.ok) {
      assertUserError(d.problem, value.slice(0, 200));
      if (!d.problem.message.includes(key)) throw new Error(`problem does not name the key ${key}: ${d.problem.message}`);
      return;
    }
    if (d.resource.kind !== d.info.kind) throw new Error(`${d.resource.kind} accepted under a ${d.info.kind} key`);
  }),
};

export const PURE_TARGETS: readonly FuzzTarget[] = [resources, yaml, selectors, cni, agentSocket, datastoreContent];
export { resourceDoc, storedValue };
