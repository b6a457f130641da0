// The resource verbs (create, apply, replace, delete, get, patch, label) with calicoctl's
// flags and semantics (API contract §6.3–6.5). Loaded lazily by the thin command modules in
// commands/, so `tricolor version` never pays for YAML parsing or validation.
//
// Deliberate difference from calicoctl: create/apply/replace of a file are all or nothing —
// every document is validated (also against the store and each other) before any is written,
// and one bad document means nothing is written. Errors name the document, field and value.

import { kindInfoFor, resolveResourceType, type AnyResource, type KindInfo } from '../api/index.ts';
import { isTricolorError, TricolorError, quote } from '../base/index.ts';
import { batchFailures, type ResourceClient } from '../datastore/index.ts';
import {
  CONFIG_FLAG,
  NAMESPACE_FLAG,
  flagBool,
  flagString,
  parseArgs,
  usage,
  type FlagSpec,
  type ParsedArgs,
} from './args.ts';
import type { CliContext } from './command.ts';
import { withClient } from './connection.ts';
import { describeDocument, readDocuments, type SourceDocument } from './documents.ts';
import { parseOutputFormat, renderJson, renderName, renderTable, renderYaml } from './output.ts';

const FILE_FLAGS: readonly FlagSpec[] = [
  { name: 'filename', short: 'f', value: true },
  { name: 'recursive', short: 'R' },
  { name: 'skip-empty' },
  CONFIG_FLAG,
  NAMESPACE_FLAG,
];

function out(ctx: CliContext, s: string): void {
  ctx.stdout.write(s);
}
function err(ctx: CliContext, s: string): void {
  ctx.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
}

/** The first line of an error, with the object description the caller already prints removed. */
function reason(e: TricolorError, doc: unknown): string {
  let msg = e.message;
  const d = describeDocument(doc);
  if (msg.startsWith(`${d}: `)) msg = msg.slice(d.length + 2);
  return msg;
}

function docLabel(sd: SourceDocument, total: number, multiSource: boolean): string {
  const where = multiSource ? ` in ${sd.source}` : '';
  return total > 1 || multiSource ? `document ${sd.index}${where} (${describeDocument(sd.doc)})` : describeDocument(sd.doc);
}

function kindOf(doc: unknown): string {
  const k = doc !== null && typeof doc === 'object' ? (doc as { kind?: unknown }).kind : undefined;
  return typeof k === 'string' ? k : '';
}

function kindSummary(kinds: readonly string[]): string {
  const distinct = new Set(kinds);
  return distinct.size === 1 ? ` '${[...distinct][0] ?? ''}'` : '';
}

// ---- namespace resolution (contract §6.4 table) -------------------------------------------

interface NsFlags {
  readonly namespace: string | undefined;
  readonly allNamespaces: boolean;
}

function nsFlags(p: ParsedArgs): NsFlags {
  const namespace = flagString(p, 'namespace');
  const allNamespaces = flagBool(p, 'all-namespaces');
  if (namespace !== undefined && allNamespaces) {
    throw usage('cannot use both --namespace and --all-namespaces flags at the same time');
  }
  return { namespace: namespace === '' ? undefined : namespace, allNamespaces };
}

/** Apply -n/-A to a document from a file; returns a copy with the namespace decided. */
function resolveDocNamespace(doc: unknown, f: NsFlags, forList: boolean): unknown {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  const d = doc as Record<string, unknown>;
  const info = typeof d['apiVersion'] === 'string' && typeof d['kind'] === 'string' ? kindInfoFor(d['apiVersion'], d['kind']) : undefined;
  if (info === undefined) return doc;
  const md = d['metadata'];
  if (md === null || typeof md !== 'object' || Array.isArray(md)) return doc;
  const m = md as Record<string, unknown>;
  const docNs = typeof m['namespace'] === 'string' && m['namespace'] !== '' ? m['namespace'] : undefined;
  if (!info.namespaced) {
    if (docNs !== undefined) {
      throw new TricolorError(
        'ERR_VALIDATION',
        `namespace should not be specified for a non-namespaced resource. ${info.kind} is not a namespaced resource`,
        { field: 'metadata.namespace', value: docNs },
      );
    }
    if (f.namespace !== undefined || f.allNamespaces) throw usage(`${info.kind} is not namespaced`);
    return doc;
  }
  let ns: string | undefined;
  if (f.namespace !== undefined) {
    if (docNs !== undefined && docNs !== f.namespace) {
      throw new TricolorError('ERR_VALIDATION', `resource namespace does not match client namespace. ${docNs} != ${f.namespace}`, {
        field: 'metadata.namespace',
        value: docNs,
      });
    }
    ns = f.namespace;
  } else if (f.allNamespaces && forList) {
    ns = undefined;
  } else {
    ns = docNs ?? 'default';
  }
  const copy = { ...d, metadata: { ...m } } as Record<string, unknown>;
  const cm = copy['metadata'] as Record<string, unknown>;
  if (ns === undefined) delete cm['namespace'];
  else cm['namespace'] = ns;
  return copy;
}

/** Namespace for `KIND NAME...` arguments. undefined = all namespaces (namespaced kinds only). */
function argNamespace(info: KindInfo, f: NsFlags, single: boolean): string | undefined {
  if (!info.namespaced) {
    if (f.namespace !== undefined || f.allNamespaces) throw usage(`${info.kind} is not namespaced`);
    return undefined;
  }
  if (f.allNamespaces) {
    if (single) throw usage('cannot use --all-namespace flag for getting a single resource');
    return undefined;
  }
  return f.namespace ?? 'default';
}

async function readFileArg(p: ParsedArgs, ctx: CliContext): Promise<SourceDocument[]> {
  const filename = flagString(p, 'filename');
  if (filename === undefined || filename === '') throw usage('-f FILE is required (a file, a directory, or - for stdin)');
  return readDocuments(filename, {
    cwd: ctx.cwd,
    stdin: ctx.stdin,
    recursive: flagBool(p, 'recursive'),
    skipEmpty: flagBool(p, 'skip-empty'),
  });
}

async function initialiseQuietly(client: ResourceClient): Promise<void> {
  // calicoctl tries to initialise the datastore before every write and ignores failures
  try {
    await client.initialise();
  } catch {
    /* a read-only or unreachable store reports itself on the write */
  }
}

// ---- create / apply / replace -------------------------------------------------------------

export type WriteVerb = 'create' | 'apply' | 'replace';

const PAST: Record<WriteVerb, string> = { create: 'created', apply: 'applied', replace: 'replaced' };

export async function runWrite(verb: WriteVerb, args: readonly string[], ctx: CliContext): Promise<number> {
  const specs = verb === 'create' ? [...FILE_FLAGS, { name: 'skip-exists' }] : FILE_FLAGS;
  const p = parseArgs(args, specs);
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}; ${verb} reads resources from -f FILE`);
  const f = nsFlags(p);
  const docs = await readFileArg(p, ctx);
  if (docs.length === 0) {
    out(ctx, 'No resources specified\n');
    return 0;
  }
  const multiSource = new Set(docs.map((d) => d.source)).size > 1;
  // namespace rules and read-only kinds, per document
  const prepared: unknown[] = [];
  const failures: { sd: SourceDocument; error: TricolorError }[] = [];
  for (const sd of docs) {
    try {
      const d = resolveDocNamespace(sd.doc, f, false);
      const o = d as { apiVersion?: unknown; kind?: unknown };
      if (o !== null && typeof o === 'object' && o.apiVersion === 'projectcalico.org/v3' && o.kind === 'ClusterInformation') {
        throw new TricolorError('ERR_FORBIDDEN', `ClusterInformation resource is readonly`);
      }
      prepared.push(d);
    } catch (e) {
      if (!isTricolorError(e)) throw e;
      failures.push({ sd, error: e });
    }
  }
  if (failures.length > 0) return report(failures, docs.length, multiSource, ctx, verb);

  return withClient(flagString(p, 'config'), ctx, async (client) => {
    await initialiseQuietly(client);
    try {
      if (verb === 'create') await client.createMany(prepared, { skipExists: flagBool(p, 'skip-exists') });
      else if (verb === 'apply') await client.applyMany(prepared);
      else await client.replaceMany(prepared);
    } catch (e) {
      if (!isTricolorError(e)) throw e;
      const items = batchFailures(e);
      const list =
        items.length > 0
          ? items.map((it) => ({ sd: docs[it.index] ?? docs[0]!, error: it.error }))
          : [{ sd: docs[0]!, error: e }];
      return report(list, docs.length, multiSource, ctx, verb);
    }
    const kinds = docs.map((d) => kindOf(d.doc));
    out(ctx, `Successfully ${PAST[verb]} ${docs.length}${kindSummary(kinds)} resource(s)\n`);
    return 0;
  });
}

function report(
  failures: readonly { sd: SourceDocument; error: TricolorError }[],
  total: number,
  multiSource: boolean,
  ctx: CliContext,
  verb: string,
): number {
  for (const { sd, error } of failures) {
    err(ctx, `error: ${docLabel(sd, total, multiSource)}: ${reason(error, sd.doc)}`);
  }
  if (total > 1) err(ctx, `error: nothing was ${verb === 'create' ? 'created' : verb === 'apply' ? 'applied' : 'replaced'}: ${failures.length} of ${total} documents refused`);
  return failures[0]?.error.exitCode ?? 1;
}

// ---- delete ---------------------------------------------------------------------------------

export async function runDelete(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [...FILE_FLAGS, { name: 'skip-not-exists', short: 's' }]);
  const f = nsFlags(p);
  const targets: { info: KindInfo; name: string; namespace: string | undefined; rv: string | undefined; label: string }[] = [];
  if (flagString(p, 'filename') !== undefined) {
    if (p.positionals.length > 0) throw usage('give either KIND NAME... or -f FILE, not both');
    const docs = await readFileArg(p, ctx);
    for (const sd of docs) {
      const d = resolveDocNamespace(sd.doc, f, false) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown } };
      const info = typeof d?.apiVersion === 'string' && typeof d.kind === 'string' ? kindInfoFor(d.apiVersion, d.kind) : undefined;
      if (info === undefined) {
        throw new TricolorError('ERR_UNKNOWN_KIND', `document ${sd.index}: unknown resource type (${String(d?.kind)}) and/or version (${String(d?.apiVersion)})`);
      }
      const name = d.metadata?.name;
      if (typeof name !== 'string' || name === '') throw new TricolorError('ERR_VALIDATION', `document ${sd.index} (${info.kind}): metadata.name: resource name may not be empty`, { field: 'metadata.name' });
      const ns = typeof d.metadata?.namespace === 'string' ? d.metadata.namespace : undefined;
      const rv = d.metadata?.resourceVersion;
      targets.push({ info, name, namespace: ns, rv: typeof rv === 'string' || typeof rv === 'number' ? String(rv) : undefined, label: info.kind });
    }
  } else {
    const [kindArg, ...names] = p.positionals;
    if (kindArg === undefined) throw usage('delete needs KIND NAME... or -f FILE');
    const info = resolveResourceType(kindArg);
    if (names.length === 0) throw usage(`delete ${kindArg}: give at least one NAME`);
    const ns = argNamespace(info, f, true);
    for (const name of names) {
      if (name === '') throw usage('resource name may not be empty');
      targets.push({ info, name, namespace: ns, rv: undefined, label: info.kind });
    }
  }
  if (targets.length === 0) {
    out(ctx, 'No resources specified\n');
    return 0;
  }
  const skipNotExists = flagBool(p, 'skip-not-exists');
  return withClient(flagString(p, 'config'), ctx, async (client) => {
    let ok = 0;
    let firstCode: number | undefined;
    for (const t of targets) {
      try {
        await client.delete(t.info, t.name, t.namespace, t.rv);
        ok++;
      } catch (e) {
        if (!isTricolorError(e)) throw e;
        if (skipNotExists && e.code === 'ERR_NOT_FOUND') {
          ok++;
          continue;
        }
        err(ctx, `Failed to delete '${t.label}' resource: ${e.message}`);
        firstCode ??= e.exitCode;
      }
    }
    if (ok > 0) out(ctx, `Successfully deleted ${ok}${kindSummary(targets.map((t) => t.label))} resource(s)\n`);
    return firstCode ?? 0;
  });
}

// ---- get ------------------------------------------------------------------------------------

const EXPORT_DROPPED = ['namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;

export async function runGet(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [
    ...FILE_FLAGS,
    { name: 'output', short: 'o', value: true },
    { name: 'all-namespaces', short: 'A' },
    // calicoctl's hidden `-a` alias for -A
    { name: 'all-namespaces', short: 'a' },
    { name: 'export' },
  ]);
  const format = parseOutputFormat(flagString(p, 'output'));
  const f = nsFlags(p);
  const exportMode = flagBool(p, 'export');

  interface Query {
    info: KindInfo;
    names: string[];
    namespace: string | undefined;
  }
  const queries: Query[] = [];
  if (flagString(p, 'filename') !== undefined) {
    const docs = await readFileArg(p, ctx);
    for (const sd of docs) {
      const d = resolveDocNamespace(sd.doc, f, false) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
      const info = typeof d?.apiVersion === 'string' && typeof d.kind === 'string' ? kindInfoFor(d.apiVersion, d.kind) : undefined;
      if (info === undefined) throw new TricolorError('ERR_UNKNOWN_KIND', `failed to get resources: unknown resource type (${String(d?.kind)}) and/or version (${String(d?.apiVersion)})`);
      const name = typeof d.metadata?.name === 'string' ? d.metadata.name : '';
      queries.push({ info, names: name === '' ? [] : [name], namespace: typeof d.metadata?.namespace === 'string' ? d.metadata.namespace : undefined });
    }
  } else {
    const [kindArg, ...names] = p.positionals;
    if (kindArg === undefined) throw usage('get needs a resource type (e.g. `tricolor get ippools`) or -f FILE');
    let info: KindInfo;
    try {
      info = resolveResourceType(kindArg);
    } catch (e) {
      if (isTricolorError(e)) throw new TricolorError(e.code, `failed to get resources: ${e.message}`, { value: kindArg });
      throw e;
    }
    if (names.some((n) => n === '')) throw usage('resource name may not be empty');
    queries.push({ info, names, namespace: argNamespace(info, f, names.length === 1) });
  }

  return withClient(flagString(p, 'config'), ctx, async (client) => {
    const results: { info: KindInfo; objects: AnyResource[]; list?: { revision: number } }[] = [];
    const errors: string[] = [];
    let code = 0;
    for (const q of queries) {
      if (q.names.length === 0) {
        const listed = await client.list(q.info, q.namespace);
        for (const s of listed.skipped) err(ctx, `warning: skipped stored ${q.info.kind} at ${s.key}: ${s.error.message}`);
        results.push({ info: q.info, objects: listed.items, list: { revision: listed.revision } });
      } else {
        const objects: AnyResource[] = [];
        for (const n of q.names) {
          try {
            objects.push(await client.get(q.info, n, q.namespace));
          } catch (e) {
            if (!isTricolorError(e)) throw e;
            errors.push(e.message);
            if (code === 0) code = e.exitCode;
          }
        }
        results.push({ info: q.info, objects });
      }
    }
    if (exportMode) {
      for (const r of results) {
        for (const o of r.objects) {
          const md = o.metadata as unknown as Record<string, unknown>;
          for (const k of EXPORT_DROPPED) delete md[k];
        }
      }
    }
    const showNs = f.allNamespaces || f.namespace !== undefined;
    if (format.type === 'yaml' || format.type === 'json') {
      const values: unknown[] = [];
      for (const r of results) {
        if (r.list !== undefined) {
          values.push({
            apiVersion: r.info.apiVersion,
            kind: `${r.info.kind}List`,
            metadata: { resourceVersion: String(r.list.revision) },
            items: r.objects,
          });
        } else {
          values.push(...r.objects);
        }
      }
      if (values.length > 0) {
        const v = values.length === 1 ? values[0] : values;
        out(ctx, format.type === 'yaml' ? renderYaml(v) : renderJson(v));
      }
    } else if (format.type === 'name') {
      for (const r of results) for (const o of r.objects) out(ctx, renderName(o));
    } else {
      for (const r of results) {
        if (r.list === undefined && r.objects.length === 0) continue;
        if (r.list === undefined && q1(queries) && r.objects.length > 1) {
          // calicoctl renders one table per result object when several names are given
          for (const o of r.objects) out(ctx, renderTable([o], r.info.kind, r.info.apiVersion, format, showNs));
        } else {
          out(ctx, renderTable(r.objects, r.info.kind, r.info.apiVersion, format, showNs));
        }
      }
    }
    for (const m of errors) err(ctx, m);
    return code;
  });
}

function q1(queries: readonly unknown[]): boolean {
  return queries.length === 1;
}

// ---- patch ------------------------------------------------------------------------------------

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

export async function runPatch(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [CONFIG_FLAG, NAMESPACE_FLAG, { name: 'patch', short: 'p', value: true }, { name: 'type', short: 't', value: true }]);
  if (p.positionals.length !== 2) throw usage('patch needs exactly KIND NAME and -p PATCH');
  const [kindArg = '', name = ''] = p.positionals;
  const info = resolveResourceType(kindArg);
  if (name === '') throw usage('resource name may not be empty');
  const patchText = flagString(p, 'patch');
  if (patchText === undefined || patchText === '') throw usage('patch needs -p PATCH (a JSON or YAML merge patch)');
  const type = flagString(p, 'type') ?? 'strategic';
  if (!['strategic', 'merge', 'json'].includes(type)) throw usage(`--type: ${quote(type)} is not one of strategic, merge, json`);
  const { parse } = await import('yaml');
  let patch: unknown;
  try {
    patch = parse(patchText);
  } catch (e) {
    throw new TricolorError('ERR_PARSE', `-p: the patch is not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new TricolorError('ERR_VALIDATION', `-p: ${quote(patchText)} is not a merge patch (a JSON object)`, { field: 'patch', value: patchText });
  }
  const f = nsFlags(p);
  const ns = argNamespace(info, f, true);
  return withClient(flagString(p, 'config'), ctx, async (client) => {
    for (let attempt = 1; ; attempt++) {
      const current = await client.get(info, name, ns);
      const patched = mergePatch(current, patch) as Record<string, unknown>;
      // the patch may not move the object
      const md = (patched['metadata'] ?? {}) as Record<string, unknown>;
      md['name'] = current.metadata.name;
      if (current.metadata.namespace !== undefined) md['namespace'] = current.metadata.namespace;
      md['resourceVersion'] = current.metadata.resourceVersion;
      patched['metadata'] = md;
      patched['apiVersion'] = current.apiVersion;
      patched['kind'] = current.kind;
      try {
        await client.update(patched);
      } catch (e) {
        if (isTricolorError(e, 'ERR_UPDATE_CONFLICT') && attempt < 5) continue;
        throw e;
      }
      out(ctx, `Successfully patched 1 '${info.kind}' resource\n`);
      return 0;
    }
  });
}

// ---- label --------------------------------------------------------------------------------------

export async function runLabel(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [CONFIG_FLAG, NAMESPACE_FLAG, { name: 'overwrite' }, { name: 'remove' }]);
  if (p.positionals.length < 3) throw usage('label needs KIND NAME key=value (or KIND NAME key --remove)');
  const [kindArg = '', name = '', labelArg = ''] = p.positionals;
  if (p.positionals.length > 3) throw usage(`unexpected argument ${quote(p.positionals[3])}`);
  const info = resolveResourceType(kindArg);
  const remove = flagBool(p, 'remove');
  const overwrite = flagBool(p, 'overwrite');
  let key: string;
  let value: string | undefined;
  if (remove) {
    key = labelArg.includes('=') ? labelArg.slice(0, labelArg.indexOf('=')) : labelArg;
  } else {
    const eq = labelArg.indexOf('=');
    if (eq === -1) throw usage(`invalid label ${labelArg}`);
    key = labelArg.slice(0, eq);
    value = labelArg.slice(eq + 1);
  }
  const ns = argNamespace(info, nsFlags(p), true);
  return withClient(flagString(p, 'config'), ctx, async (client) => {
    for (let attempt = 1; ; attempt++) {
      let current: AnyResource;
      try {
        current = await client.get(info, name, ns);
      } catch (e) {
        if (isTricolorError(e, 'ERR_NOT_FOUND')) throw new TricolorError('ERR_NOT_FOUND', `${kindArg} ${name} not found`);
        throw e;
      }
      const labels = { ...current.metadata.labels };
      let message: string;
      if (remove) {
        if (!(key in labels)) throw new TricolorError('ERR_NOT_FOUND', `cannot remove label of ${kindArg} ${name}, key ${key} does not exist`);
        delete labels[key];
        message = `Successfully removed label ${key} from ${kindArg} ${name}`;
      } else if (key in labels) {
        if (labels[key] !== value && !overwrite) {
          throw new TricolorError(
            'ERR_ALREADY_EXISTS',
            `failed to update label of ${kindArg} ${name}, key ${key} is already present. please use '--overwrite' to set a new value`,
          );
        }
        labels[key] = value ?? '';
        message = `Successfully updated label ${key} on ${kindArg} ${name}`;
      } else {
        labels[key] = value ?? '';
        message = `Successfully set label ${key} on ${kindArg} ${name}`;
      }
      const next = structuredClone(current);
      if (Object.keys(labels).length === 0) delete next.metadata.labels;
      else next.metadata.labels = labels;
      try {
        await client.update(next);
      } catch (e) {
        if (isTricolorError(e, 'ERR_UPDATE_CONFLICT') && attempt < 5) continue;
        if (isTricolorError(e)) {
          throw new TricolorError(e.code, `failed to update ${kindArg} ${name}, label not changed: ${e.message}`, { cause: e });
        }
        throw e;
      }
      out(ctx, `${message}\n`);
      return 0;
    }
  });
}
