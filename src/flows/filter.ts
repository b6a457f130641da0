// The flow filter, with Goldmane's semantics (observability contract §1.6): OR within a field,
// AND across fields; strings match exactly or fuzzily (substring); a policy match passes when any
// enforced *or* pending hit matches all its given parts. One grammar for the API, the CLI and the
// UI (the UI keeps it in the URL). Parsing is strict: an unknown field, a wrong type or a value
// out of range is an error naming the field and the value, never silently ignored.

import { TricolorError, quote } from '../base/index.ts';
import { FLOW_ACTIONS, HIT_KINDS, REPORTERS, pendingAction } from './flow.ts';
import type { FlowAction, FlowRecord, HitKind, PolicyHit, Reporter } from './flow.ts';

export interface StringMatch {
  readonly value: string;
  readonly type: 'exact' | 'fuzzy';
}

export interface PolicyMatch {
  readonly kind?: HitKind;
  readonly tier?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly action?: FlowAction;
}

export interface FlowFilter {
  readonly source_names?: readonly StringMatch[];
  readonly source_namespaces?: readonly StringMatch[];
  readonly dest_names?: readonly StringMatch[];
  readonly dest_namespaces?: readonly StringMatch[];
  readonly dest_ports?: readonly number[];
  readonly protocols?: readonly string[];
  readonly actions?: readonly FlowAction[];
  readonly pending_actions?: readonly FlowAction[];
  readonly reporters?: readonly Reporter[];
  readonly policies?: readonly PolicyMatch[];
  /** Tricolor: an address on either side (exact). */
  readonly ips?: readonly string[];
  /** Tricolor: the reporting node (exact). */
  readonly nodes?: readonly string[];
}

export const STRING_FIELDS = ['source_names', 'source_namespaces', 'dest_names', 'dest_namespaces'] as const;
export type StringField = (typeof STRING_FIELDS)[number];
const FILTER_FIELDS = [...STRING_FIELDS, 'dest_ports', 'protocols', 'actions', 'pending_actions', 'reporters', 'policies', 'ips', 'nodes'] as const;
const MAX_VALUES = 100;
const MAX_STRING = 253;

function bad(field: string, value: unknown, problem: string): TricolorError {
  return new TricolorError('ERR_VALIDATION', `filter.${field}: ${quote(value)} ${problem}`, { field: `filter.${field}`, value });
}

function list(field: string, v: unknown): unknown[] {
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length > MAX_VALUES) throw bad(field, `${arr.length} values`, `is too many (at most ${MAX_VALUES})`);
  return arr;
}

function str(field: string, v: unknown): string {
  if (typeof v !== 'string') throw bad(field, v, 'is not a string');
  if (v.length > MAX_STRING) throw bad(field, v.slice(0, 40) + '…', `is longer than ${MAX_STRING} characters`);
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  const s = typeof v === 'string' ? v.toLowerCase() : v;
  if (typeof s !== 'string' || !(allowed as readonly string[]).includes(s)) throw bad(field, v, `is not one of ${allowed.join(', ')}`);
  return s as T;
}

function stringMatch(field: string, v: unknown): StringMatch {
  if (typeof v === 'string') return { value: str(field, v), type: 'exact' };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, v, 'is neither a string nor {"value": …, "type": "exact"|"fuzzy"}');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'value' && k !== 'type') throw bad(`${field}.${k}`, o[k], 'is not a field of a string match (value, type)');
  const type = o['type'] === undefined ? 'exact' : oneOf(`${field}.type`, o['type'], ['exact', 'fuzzy'] as const);
  return { value: str(`${field}.value`, o['value']), type };
}

function policyMatch(field: string, v: unknown): PolicyMatch {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, v, 'is not a policy match object');
  const o = v as Record<string, unknown>;
  const out: { -readonly [K in keyof PolicyMatch]: PolicyMatch[K] } = {};
  for (const [k, x] of Object.entries(o)) {
    switch (k) {
      case 'kind': {
        const kind = HIT_KINDS.find((h) => h.toLowerCase() === String(x).toLowerCase());
        if (kind === undefined) throw bad(`${field}.kind`, x, `is not one of ${HIT_KINDS.join(', ')}`);
        out.kind = kind;
        break;
      }
      case 'tier':
      case 'namespace':
      case 'name':
        out[k] = str(`${field}.${k}`, x);
        break;
      case 'action':
        out.action = oneOf(`${field}.action`, x, FLOW_ACTIONS);
        break;
      default:
        throw bad(`${field}.${k}`, x, 'is not a field of a policy match (kind, tier, namespace, name, action)');
    }
  }
  return out;
}

/** Parse a filter given as an object (already JSON-decoded). */
export function parseFilter(v: unknown): FlowFilter {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TricolorError('ERR_VALIDATION', `filter: ${quote(v)} is not a JSON object`, { field: 'filter', value: v });
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if (!(FILTER_FIELDS as readonly string[]).includes(k)) throw bad(k, x, `is not a filter field (one of ${FILTER_FIELDS.join(', ')})`);
    if (x === null) continue;
    const items = list(k, x);
    switch (k) {
      case 'dest_ports':
        out[k] = items.map((p, i) => {
          const n = typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw bad(`${k}[${i}]`, p, 'is not a port number (0-65535)');
          return n;
        });
        break;
      case 'protocols':
        out[k] = items.map((p, i) => str(`${k}[${i}]`, typeof p === 'number' ? String(p) : p).toLowerCase());
        break;
      case 'actions':
      case 'pending_actions':
        out[k] = items.map((a, i) => oneOf(`${k}[${i}]`, a, FLOW_ACTIONS));
        break;
      case 'reporters':
        out[k] = items.map((a, i) => oneOf(`${k}[${i}]`, a, REPORTERS));
        break;
      case 'policies':
        out[k] = items.map((p, i) => policyMatch(`${k}[${i}]`, p));
        break;
      case 'ips':
      case 'nodes':
        out[k] = items.map((s, i) => str(`${k}[${i}]`, s));
        break;
      default:
        out[k] = items.map((s, i) => stringMatch(`${k}[${i}]`, s));
    }
  }
  return out;
}

/** Parse a filter given as JSON text (a query parameter); malformed JSON is a 400, not a 500. */
export function parseFilterText(text: string | null | undefined): FlowFilter {
  if (text === null || text === undefined || text.trim() === '') return {};
  if (text.length > 16384) throw new TricolorError('ERR_VALIDATION', `filter: ${text.length} characters is too long (at most 16384)`, { field: 'filter' });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TricolorError('ERR_PARSE', `filter: ${quote(text.slice(0, 60))} is not valid JSON: ${(e as Error).message}`, { field: 'filter', value: text });
  }
  return parseFilter(v);
}

function strMatches(ms: readonly StringMatch[] | undefined, v: string): boolean {
  if (ms === undefined || ms.length === 0) return true;
  for (const m of ms) if (m.type === 'exact' ? v === m.value : v.includes(m.value)) return true;
  return false;
}

function inList<T>(xs: readonly T[] | undefined, v: T): boolean {
  return xs === undefined || xs.length === 0 || xs.includes(v);
}

export function hitMatches(m: PolicyMatch, h: PolicyHit): boolean {
  const eot = h.kind === 'EndOfTier' && h.trigger !== undefined;
  // An end-of-tier hit is about the policy that triggered it: match its name and namespace too.
  const name = m.name === undefined || h.name === m.name || (eot && h.trigger?.name === m.name);
  const ns = m.namespace === undefined || h.namespace === m.namespace || (eot && h.trigger?.namespace === m.namespace);
  return (m.kind === undefined || h.kind === m.kind) && (m.tier === undefined || h.tier === m.tier) && name && ns && (m.action === undefined || h.action === m.action);
}

/** Does a flow pass the filter? The in-memory twin of the SQL the store runs (same semantics). */
export function matchFlow(f: FlowFilter, r: FlowRecord): boolean {
  if (!strMatches(f.source_names, r.src.name)) return false;
  if (!strMatches(f.source_namespaces, r.src.namespace)) return false;
  if (!strMatches(f.dest_names, r.dst.name)) return false;
  if (!strMatches(f.dest_namespaces, r.dst.namespace)) return false;
  if (!inList(f.dest_ports, r.destPort)) return false;
  if (!inList(f.protocols, r.proto)) return false;
  if (!inList(f.actions, r.action)) return false;
  if (!inList(f.pending_actions, pendingAction(r))) return false;
  if (!inList(f.reporters, r.reporter)) return false;
  if (!inList(f.nodes, r.node)) return false;
  if (f.ips !== undefined && f.ips.length > 0 && !f.ips.some((ip) => r.src.ips.includes(ip) || r.dst.ips.includes(ip))) return false;
  if (f.policies !== undefined && f.policies.length > 0) {
    const hits = [...r.policies.enforced, ...r.policies.pending];
    if (!f.policies.some((m) => hits.some((h) => hitMatches(m, h)))) return false;
  }
  return true;
}

export function isEmptyFilter(f: FlowFilter): boolean {
  return Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}
