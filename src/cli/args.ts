// A small command-line flag parser with calicoctl/cobra spellings: `--name value`,
// `--name=value`, `-x value`, `-xVALUE`, boolean flags, repeatable flags, and `--` ending flags.
// Unknown flags are usage errors worded as cobra words them (calicoctl contract §6.1).

import { TricolorError } from '../base/index.ts';

export interface FlagSpec {
  /** Long name without dashes, e.g. `filename`. */
  readonly name: string;
  /** One-letter alias without the dash, e.g. `f`. */
  readonly short?: string;
  /** Extra long aliases (e.g. a hidden `-a` for `--all-namespaces` goes in `short`). */
  readonly aliases?: readonly string[];
  /** True when the flag takes a value. */
  readonly value?: boolean;
  /** Value flags given several times keep every value. */
  readonly repeatable?: boolean;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** Boolean flags: `true`; value flags: the last value (or every value when repeatable). */
  readonly flags: ReadonlyMap<string, string | true | readonly string[]>;
}

export const HELP_FLAG: FlagSpec = { name: 'help', short: 'h' };
export const CONFIG_FLAG: FlagSpec = { name: 'config', short: 'c', value: true };
export const NAMESPACE_FLAG: FlagSpec = { name: 'namespace', short: 'n', value: true };
export const LOG_LEVEL_FLAG: FlagSpec = { name: 'log-level', short: 'l', value: true };
export const ALLOW_VERSION_MISMATCH_FLAG: FlagSpec = { name: 'allow-version-mismatch' };
export const CONTEXT_FLAG: FlagSpec = { name: 'context', value: true };

/** Flags every command accepts (calicoctl's persistent flags). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [HELP_FLAG, LOG_LEVEL_FLAG, ALLOW_VERSION_MISMATCH_FLAG, CONTEXT_FLAG];

const BOOL_TRUE = new Set(['true', '1', 't', 'T', 'TRUE', 'True']);
const BOOL_FALSE = new Set(['false', '0', 'f', 'F', 'FALSE', 'False']);

export function parseArgs(args: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const all = [...GLOBAL_FLAGS, ...specs];
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of all) {
    byLong.set(s.name, s);
    for (const a of s.aliases ?? []) byLong.set(a, s);
    if (s.short !== undefined) byShort.set(s.short, s);
  }
  const positionals: string[] = [];
  const flags = new Map<string, string | true | string[]>();
  const set = (spec: FlagSpec, v: string | true): void => {
    if (spec.repeatable === true && typeof v === 'string') {
      const prev = flags.get(spec.name);
      flags.set(spec.name, Array.isArray(prev) ? [...prev, v] : [v]);
    } else {
      flags.set(spec.name, v);
    }
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (spec === undefined) throw usage(`unknown flag: --${name}`);
      if (spec.value === true) {
        let v: string | undefined;
        if (eq !== -1) v = arg.slice(eq + 1);
        else v = args[++i];
        if (v === undefined) throw usage(`flag needs an argument: --${name}`);
        set(spec, v);
      } else if (eq !== -1) {
        const v = arg.slice(eq + 1);
        if (BOOL_TRUE.has(v)) set(spec, true);
        else if (BOOL_FALSE.has(v)) flags.delete(spec.name);
        else throw usage(`invalid argument ${JSON.stringify(v)} for "--${name}" flag: expected true or false`);
      } else {
        set(spec, true);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // a cluster of short flags: -As, or -fFILE / -f FILE for a value flag
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j] ?? '';
        const spec = byShort.get(c);
        if (spec === undefined) throw usage(`unknown shorthand flag: '${c}' in ${arg}`);
        if (spec.value === true) {
          let v = arg.slice(j + 1);
          if (v.startsWith('=')) v = v.slice(1);
          if (v === '') {
            const next = args[++i];
            if (next === undefined) throw usage(`flag needs an argument: '${c}' in -${c}`);
            v = next;
          }
          set(spec, v);
          break;
        }
        set(spec, true);
      }
      continue;
    }
    positionals.push(arg);
  }
  return { positionals, flags };
}

export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v[v.length - 1] as string | undefined;
  return undefined;
}

export function flagStrings(p: ParsedArgs, name: string): readonly string[] {
  const v = p.flags.get(name);
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v as readonly string[];
  return [];
}

export function flagBool(p: ParsedArgs, name: string): boolean {
  return p.flags.get(name) === true;
}

export function usage(message: string): TricolorError {
  return new TricolorError('ERR_USAGE', message);
}
