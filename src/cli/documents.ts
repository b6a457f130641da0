// Reading resource documents for `-f FILE|DIR|-`: a stream of YAML documents (`---`) or JSON,
// each a single resource, a `<Kind>List` or a top-level sequence of resources (calicoctl
// contract §6.3). Every document keeps where it came from so an error can name it.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { LineCounter, parseAllDocuments } from 'yaml';
import { TricolorError } from '../base/index.ts';

export interface SourceDocument {
  /** 1-based position among all documents read by this command. */
  readonly index: number;
  /** File the document came from (`-` for stdin). */
  readonly source: string;
  readonly doc: unknown;
}

export interface ReadOptions {
  readonly recursive?: boolean;
  readonly skipEmpty?: boolean;
  readonly cwd: string;
  readonly stdin: Readable;
}

const RESOURCE_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export async function readDocuments(filename: string, opts: ReadOptions): Promise<SourceDocument[]> {
  const docs: unknown[] = [];
  const sources: string[] = [];
  const add = (file: string, text: string): void => {
    for (const d of parseDocuments(text, file)) {
      docs.push(d);
      sources.push(file);
    }
  };
  if (filename === '-') {
    add('-', await readAll(opts.stdin));
    if (docs.length === 0 && opts.skipEmpty !== true) throw new TricolorError('ERR_PARSE', 'no resources specified in file -');
  } else {
    const path = resolve(opts.cwd, filename);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      throw new TricolorError('ERR_IO', `cannot read ${JSON.stringify(filename)}: ${(e as Error).message}`, { cause: e });
    }
    if (isDir) {
      for (const f of walk(path, opts.recursive === true)) add(f, readText(f));
      if (docs.length === 0 && opts.skipEmpty !== true) {
        throw new TricolorError('ERR_PARSE', `no resources specified in directory ${filename}`);
      }
    } else {
      add(filename, readText(path));
      if (docs.length === 0 && opts.skipEmpty !== true) {
        throw new TricolorError('ERR_PARSE', `no resources specified in file ${filename}`);
      }
    }
  }
  return docs.map((doc, i) => ({ index: i + 1, source: sources[i] ?? '-', doc }));
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TricolorError('ERR_IO', `cannot read ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
}

function walk(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...walk(p, true));
    } else if (RESOURCE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      out.push(p);
    }
  }
  return out;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parse a YAML stream (JSON is a subset) into resource documents, expanding `<Kind>List`
 * documents and top-level sequences. Empty documents are dropped. Throws ERR_PARSE naming the
 * file, line and column of the first syntax error.
 */
export function parseDocuments(text: string, source: string): unknown[] {
  // YAML 1.2 core schema: unquoted port ranges like 8080:8090 stay strings (1.1 would read
  // them as base-60 numbers), and duplicate keys are errors, as in Go's strict decoder.
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, strict: true, lineCounter });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const out: unknown[] = [];
  list.forEach((d, i) => {
    const err = d.errors[0];
    if (err !== undefined) {
      const pos = lineCounter.linePos(err.pos[0]);
      const where = `:${pos.line}:${pos.col}`;
      const msg = err.message.split('\n')[0] ?? err.message;
      throw new TricolorError('ERR_PARSE', `${source}${where}: document ${i + 1}: invalid YAML/JSON: ${msg}`, { cause: err });
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // an alias to an anchor defined later or nowhere, or an alias bomb past maxAliasCount: the
      // yaml library throws a plain ReferenceError here (found by the fuzz suite)
      const msg = e instanceof Error ? e.message : String(e);
      throw new TricolorError('ERR_PARSE', `${source}: document ${i + 1}: invalid YAML: ${msg}`, { cause: e });
    }
    expand(value, out);
  });
  return out;
}

function expand(value: unknown, out: unknown[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) expand(v, out);
    return;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const items = o['items'];
    if (typeof o['kind'] === 'string' && o['kind'].endsWith('List') && Array.isArray(items)) {
      for (const it of items) expand(it, out);
      return;
    }
  }
  out.push(value);
}

/** `GlobalNetworkPolicy "deny-all"` (or `namespace/name`), for error lines about a document. */
export function describeDocument(doc: unknown): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return `(not an object: ${JSON.stringify(doc)})`;
  const o = doc as Record<string, unknown>;
  const kind = typeof o['kind'] === 'string' ? o['kind'] : '<no kind>';
  const md = o['metadata'];
  let name = '';
  if (md !== null && typeof md === 'object') {
    const m = md as Record<string, unknown>;
    const n = typeof m['name'] === 'string' ? m['name'] : '';
    const ns = typeof m['namespace'] === 'string' ? m['namespace'] : '';
    name = ns === '' ? n : `${ns}/${n}`;
  }
  return name === '' ? kind : `${kind} ${JSON.stringify(name)}`;
}
