// A tiny schema language for validating parsed YAML/JSON documents. Each schema checks one
// value at a field path, records every problem it finds (so a user sees all of them at once)
// and returns a normalised deep copy, or undefined when the value is unusable. Objects reject
// unknown fields by path, as calicoctl's strict decoding does.

import { TricolorError, quote } from '../base/index.ts';

export interface Ctx {
  readonly errors: TricolorError[];
  /** Prefix naming the object, e.g. `IPPool "blue"`. */
  readonly subject: string;
  /** Set by validateResource options: internal writers may use names reserved by Calico. */
  readonly allowReservedNames: boolean;
}

export type Schema<T = unknown> = (value: unknown, path: string, ctx: Ctx) => T | undefined;

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `a.b` for identifier keys, `a["x/y"]` for others (label keys). */
export function join(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function at(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Record a problem with a value: `IPPool "x": spec.cidr: "10.0.0.0/33" is not a valid CIDR`. */
export function fail(ctx: Ctx, path: string, value: unknown, problem: string): undefined {
  ctx.errors.push(
    new TricolorError('ERR_VALIDATION', `${ctx.subject}: ${path}: ${quote(value)} ${problem}`, {
      field: path,
      value,
    }),
  );
  return undefined;
}

/** Record a problem about a field as a whole (missing, conflicting with another field). */
export function failField(ctx: Ctx, path: string, problem: string): undefined {
  ctx.errors.push(new TricolorError('ERR_VALIDATION', `${ctx.subject}: ${path}: ${problem}`, { field: path }));
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function wrongType(ctx: Ctx, path: string, value: unknown, want: string): undefined {
  return fail(ctx, path, value, `is ${typeName(value)}, expected ${want}`);
}

/** A string, optionally checked by `check` returning a problem text. */
export function str(check?: (s: string) => string | undefined, maxLen?: number): Schema<string> {
  return (v, path, ctx) => {
    if (typeof v !== 'string') return wrongType(ctx, path, v, 'a string');
    if (maxLen !== undefined && v.length > maxLen) return fail(ctx, path, v, `is longer than ${maxLen} characters`);
    if (check !== undefined) {
      const problem = check(v);
      if (problem !== undefined) return fail(ctx, path, v, problem);
    }
    return v;
  };
}

export const bool: Schema<boolean> = (v, path, ctx) =>
  typeof v === 'boolean' ? v : wrongType(ctx, path, v, 'true or false');

export interface NumOpts {
  readonly int?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export function num(opts: NumOpts = {}): Schema<number> {
  return (v, path, ctx) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return wrongType(ctx, path, v, 'a number');
    if (opts.int === true && !Number.isInteger(v)) return fail(ctx, path, v, 'is not an integer');
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      const range =
        opts.max === undefined ? `at least ${opts.min}` : opts.min === undefined ? `at most ${opts.max}` : `between ${opts.min} and ${opts.max}`;
      return fail(ctx, path, v, `is out of range: must be ${range}`);
    }
    return v;
  };
}

export function int(min?: number, max?: number): Schema<number> {
  const o: { int: true; min?: number; max?: number } = { int: true };
  if (min !== undefined) o.min = min;
  if (max !== undefined) o.max = max;
  return num(o);
}

/** One of a fixed set of strings; `caseInsensitive` keeps the user's spelling. */
export function oneOf<T extends string>(values: readonly T[], caseInsensitive = false): Schema<T> {
  const lower = values.map((x) => x.toLowerCase());
  return (v, path, ctx) => {
    if (typeof v !== 'string') return wrongType(ctx, path, v, `one of ${values.join(', ')}`);
    if (values.includes(v as T)) return v as T;
    if (caseInsensitive && lower.includes(v.toLowerCase())) return v as T;
    return fail(ctx, path, v, `is not one of ${values.join(', ')}`);
  };
}

export interface ArrOpts {
  readonly max?: number;
  readonly min?: number;
  /** Refuse duplicate entries (Kubernetes "set" lists). */
  readonly unique?: boolean;
}

export function arr<T>(item: Schema<T>, opts: ArrOpts = {}): Schema<T[]> {
  return (v, path, ctx) => {
    if (!Array.isArray(v)) return wrongType(ctx, path, v, 'a list');
    if (opts.max !== undefined && v.length > opts.max) {
      return failField(ctx, path, `has ${v.length} entries, at most ${opts.max} are allowed`);
    }
    if (opts.min !== undefined && v.length < opts.min) {
      return failField(ctx, path, `has ${v.length} entries, at least ${opts.min} required`);
    }
    const out: T[] = [];
    const seen = new Set<string>();
    let ok = true;
    v.forEach((x, i) => {
      const p = at(path, i);
      if (x === null || x === undefined) {
        ok = false;
        fail(ctx, p, x, 'is not allowed in this list');
        return;
      }
      const r = item(x, p, ctx);
      if (r === undefined) {
        ok = false;
        return;
      }
      if (opts.unique === true) {
        const k = JSON.stringify(r);
        if (seen.has(k)) {
          ok = false;
          fail(ctx, p, x, 'is specified more than once');
          return;
        }
        seen.add(k);
      }
      out.push(r);
    });
    return ok ? out : undefined;
  };
}

export function mapOf<T>(key: Schema<string>, value: Schema<T>): Schema<Record<string, T>> {
  return (v, path, ctx) => {
    if (!isObj(v)) return wrongType(ctx, path, v, 'a map');
    const out: Record<string, T> = {};
    let ok = true;
    for (const [k, x] of Object.entries(v)) {
      const p = join(path, k);
      if (key(k, p, ctx) === undefined) {
        ok = false;
        continue;
      }
      const r = value(x, p, ctx);
      if (r === undefined) ok = false;
      else out[k] = r;
    }
    return ok ? out : undefined;
  };
}

export type Fields = Readonly<Record<string, Schema>>;

const KEEP_EMPTY = new WeakSet<Schema>();

/**
 * Mark a field whose Calico type is a pointer (`*string`, `*metav1.Duration`, a pointer enum):
 * there an explicit "" is a value, validated like any other (and refused where the schema refuses
 * it), not the zero value that `omitempty` string fields read it as.
 */
export function keepEmpty<T>(s: Schema<T>): Schema<T> {
  const w: Schema<T> = (v, path, ctx) => s(v, path, ctx);
  KEEP_EMPTY.add(w);
  return w;
}

export interface ObjOpts<T> {
  readonly required?: readonly string[];
  /** Cross-field checks on the normalised object; may also fill defaults in place. */
  readonly check?: (out: T, path: string, ctx: Ctx, input: Obj) => void;
}

/**
 * An object with known fields. null and absent optional fields are dropped (Kubernetes decoding
 * treats null as the zero value); unknown fields are errors naming their path.
 */
export function obj<T = Obj>(fields: Fields, opts: ObjOpts<T> = {}): Schema<T> & { readonly fields: readonly string[] } {
  const schema: Schema<T> = (v, path, ctx) => {
    if (!isObj(v)) return wrongType(ctx, path, v, 'an object');
    const out: Obj = {};
    const before = ctx.errors.length;
    const unset = new Set<string>();
    for (const [k, x] of Object.entries(v)) {
      const p = join(path, k);
      const schema = fields[k];
      if (schema === undefined) {
        failField(ctx, p, 'field is not recognized or is in the wrong location');
        continue;
      }
      if (x === null || x === undefined) continue;
      if (x === '' && !KEEP_EMPTY.has(schema)) {
        // Go's `omitempty` decoding (calicoctl, the API server) reads an explicit "" as the zero
        // value, i.e. unset: keep "" where the field's own schema takes it, otherwise drop it.
        const trial: Ctx = { errors: [], subject: ctx.subject, allowReservedNames: ctx.allowReservedNames };
        const r = schema(x, p, trial);
        if (trial.errors.length === 0 && r !== undefined) out[k] = r;
        else unset.add(k);
        continue;
      }
      const r = schema(x, p, ctx);
      if (r !== undefined) out[k] = r;
    }
    for (const k of opts.required ?? []) {
      if (v[k] === undefined || v[k] === null || unset.has(k)) failField(ctx, join(path, k), 'is required');
    }
    // Cross-field checks only make sense on fields that were themselves valid.
    if (opts.check !== undefined && ctx.errors.length === before) opts.check(out as T, path, ctx, v);
    return ctx.errors.length === before ? (out as T) : undefined;
  };
  // The field names, for the parity test against Calico's field lists (calico-fields.ts).
  return Object.assign(schema, { fields: Object.freeze(Object.keys(fields)) });
}

/** Any JSON value, copied (status blocks written by other components). */
export const anyJSON: Schema = (v) => structuredClone(v);

/** A schema that runs `first` and then a further check on its result. */
export function refine<T>(first: Schema<T>, check: (v: T, path: string, ctx: Ctx) => T | undefined): Schema<T> {
  return (v, path, ctx) => {
    const r = first(v, path, ctx);
    return r === undefined ? undefined : check(r, path, ctx);
  };
}
