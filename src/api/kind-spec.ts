// The shape of one kind's validation: its spec and status schemas, its name rule and a final
// step that sees the whole object (for rules and defaults that involve metadata as well).

import type { Ctx, Obj, Schema } from './schema.ts';

export interface Whole {
  metadata: Obj & { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Obj;
  status?: unknown;
}

export interface KindSpec {
  /** Absent: the kind has no spec field at all. */
  readonly spec?: Schema<Obj>;
  /** Calico kinds validate an absent spec as `{}` so its defaults are filled. */
  readonly specDefaultsWhenAbsent?: boolean;
  readonly status?: Schema;
  /** Problem text for a bad name; default is the DNS-subdomain rule. */
  readonly name?: (name: string, ctx: Ctx) => string | undefined;
  readonly finish?: (res: Whole, ctx: Ctx) => void;
}
