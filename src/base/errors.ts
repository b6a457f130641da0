// Errors with stable codes. Every expected failure in Tricolor is a TricolorError carrying one
// of the codes below; the table maps each code once to a CLI exit status, a CNI error code
// (CNI SPEC, "Error" section: 1-99 reserved by the spec, 100+ plugin-specific) and an HTTP status.
// Only the edges (bin/, the CNI result writer, HTTP handlers) convert them.

export const ERROR_TABLE = {
  // user input that does not parse or validate
  ERR_VALIDATION: { exit: 3, cni: 7, http: 400 },
  ERR_PARSE: { exit: 3, cni: 6, http: 400 },
  ERR_USAGE: { exit: 2, cni: 7, http: 400 },
  ERR_UNKNOWN_KIND: { exit: 3, cni: 7, http: 400 },
  // datastore outcomes
  ERR_NOT_FOUND: { exit: 4, cni: 100, http: 404 },
  ERR_ALREADY_EXISTS: { exit: 5, cni: 101, http: 409 },
  ERR_UPDATE_CONFLICT: { exit: 6, cni: 11, http: 409 },
  ERR_DATASTORE_UNAVAILABLE: { exit: 7, cni: 11, http: 503 },
  ERR_COMPACTED: { exit: 7, cni: 11, http: 410 },
  ERR_FORBIDDEN: { exit: 8, cni: 102, http: 403 },
  // HTTP services (the flow aggregator): who may call, how much, how often, how
  ERR_UNAUTHORIZED: { exit: 8, cni: 102, http: 401 },
  ERR_TOO_LARGE: { exit: 3, cni: 7, http: 413 },
  ERR_RATE_LIMITED: { exit: 7, cni: 11, http: 429 },
  ERR_BUSY: { exit: 7, cni: 11, http: 503 },
  ERR_METHOD_NOT_ALLOWED: { exit: 3, cni: 7, http: 405 },
  ERR_UNSUPPORTED_MEDIA_TYPE: { exit: 3, cni: 7, http: 415 },
  // IPAM
  ERR_IPAM_EXHAUSTED: { exit: 9, cni: 103, http: 507 },
  ERR_IPAM_INVALID_REQUEST: { exit: 3, cni: 7, http: 400 },
  ERR_IPAM_IN_USE: { exit: 5, cni: 104, http: 409 },
  // environment / OS
  ERR_CNI_VERSION: { exit: 3, cni: 1, http: 400 },
  ERR_CNI_ENV: { exit: 3, cni: 4, http: 400 },
  ERR_NETNS_MISSING: { exit: 10, cni: 3, http: 404 },
  ERR_IO: { exit: 10, cni: 5, http: 500 },
  ERR_TIMEOUT: { exit: 11, cni: 11, http: 504 },
  // eBPF dataplane: a map has no room left (fail closed), the kernel refused a program
  ERR_BPF_MAP_FULL: { exit: 12, cni: 105, http: 507 },
  ERR_BPF_LOAD: { exit: 10, cni: 5, http: 500 },
  // a bug: never expected, never swallowed
  ERR_INTERNAL: { exit: 70, cni: 999, http: 500 },
} as const satisfies Record<string, { exit: number; cni: number; http: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface TricolorErrorOptions {
  /** Field path the error is about, e.g. `spec.ingress[0].source.nets[1]`. */
  readonly field?: string;
  /** The offending value, quoted in messages. */
  readonly value?: unknown;
  /** Extra structured detail (the current KV on a conflict, per-item results, …). */
  readonly detail?: unknown;
  readonly cause?: unknown;
}

export class TricolorError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly value: unknown;
  readonly detail: unknown;

  constructor(code: ErrorCode, message: string, options: TricolorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TricolorError';
    this.code = code;
    this.field = options.field;
    this.value = options.value;
    this.detail = options.detail;
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }
  get cniCode(): number {
    return ERROR_TABLE[this.code].cni;
  }
  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }
}

/**
 * A bug: a state Tricolor's own code must never reach (an invariant broken, a kind not
 * registered). Deliberately not a TricolorError, so no `isTricolorError` handler mistakes it for
 * an expected failure; the edges report it with its stack and the ERR_INTERNAL row of the table.
 */
export class BugError extends Error {
  readonly code = 'ERR_INTERNAL' as const;

  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BugError';
  }
}

/** True for anything that is not an expected failure: a BugError, any non-Tricolor error, or an ERR_INTERNAL TricolorError. */
export function isBug(e: unknown): boolean {
  return !(e instanceof TricolorError) || e.code === 'ERR_INTERNAL';
}

/** The table row for any thrown value: its code's, or ERR_INTERNAL's for a bug. */
function rowOf(e: unknown): (typeof ERROR_TABLE)[ErrorCode] {
  return e instanceof TricolorError ? ERROR_TABLE[e.code] : ERROR_TABLE.ERR_INTERNAL;
}

/** CLI exit status for a thrown value (the only conversion bin/ and the CLI use). */
export function exitStatusOf(e: unknown): number {
  return rowOf(e).exit;
}

/** CNI error code for a thrown value. */
export function cniCodeOf(e: unknown): number {
  return rowOf(e).cni;
}

/** HTTP status for a thrown value. */
export function httpStatusOf(e: unknown): number {
  return rowOf(e).http;
}

/** Exit statuses that are not an error code's: success, and bad usage of the command line itself. */
export const EXIT_OK = 0;
export const EXIT_USAGE = ERROR_TABLE.ERR_USAGE.exit;
/** What a bug exits with (EX_SOFTWARE of sysexits.h) and the CNI code it reports. */
export const EXIT_BUG = ERROR_TABLE.ERR_INTERNAL.exit;
export const CNI_CODE_BUG = ERROR_TABLE.ERR_INTERNAL.cni;

export function isTricolorError(e: unknown, code?: ErrorCode): e is TricolorError {
  return e instanceof TricolorError && (code === undefined || e.code === code);
}

/** Quote a value for an error message: strings in double quotes, others as JSON. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value);
  } catch {
    // BigInt or a cycle: JSON cannot print it; say what it is rather than "[object Object]".
    return typeof value === 'bigint' ? `${value}n` : Object.prototype.toString.call(value);
  }
}

/** A validation error naming the field and the value: `spec.cidr: "10.0.0.0/33" is not a valid CIDR`. */
export function validationError(field: string, value: unknown, problem: string): TricolorError {
  return new TricolorError('ERR_VALIDATION', `${field}: ${quote(value)} ${problem}`, { field, value });
}
