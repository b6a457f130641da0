// The wire format between the installed `tricolor-cni` wrapper (a POSIX sh script driving
// socat) and the node agent's CNI socket. Chosen so that dash can write and read it with
// builtins only (no length counting, no escaping):
//
//   request  = "TRICOLOR-CNI/1\n" *( NAME "=" VALUE "\n" ) "\n" STDIN      (client half-closes)
//   reply    = "TRICOLOR-CNI/1\n"                   written at once on accept
//              STATUS "\n" STDOUT                    after the plugin ran; then the agent closes
//
// The early greeting line lets the wrapper tell "no agent" (nothing at all came back: safe to
// run the plugin itself) from "the agent took the request and then died" (greeting without a
// status: must not run it a second time). Values holding a newline cannot be framed; the
// wrapper sends such calls down the stand-alone path instead. Pure: no I/O.

import { DATASTORE_ENV_KEYS, TricolorError, quote } from '../base/index.ts';

export const AGENT_PROTOCOL_MAGIC = 'TRICOLOR-CNI/1';
/** Requests larger than this are refused (a netconf with prevResult is a few KiB). */
export const MAX_AGENT_REQUEST_BYTES = 1 << 20;

/**
 * The variables the wrapper forwards: the CNI_* parameters, what the plugin reads from its
 * environment (datastore settings, interface prefix) and PATH for delegated IPAM plugins.
 */
export const FORWARDED_ENV = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
  ...DATASTORE_ENV_KEYS,
  'FELIX_INTERFACEPREFIX',
  'PATH',
] as const;

const FORWARDED = new Set<string>(FORWARDED_ENV);

export interface AgentRequest {
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

function framing(problem: string, value?: string): TricolorError {
  return new TricolorError('ERR_PARSE', `CNI agent request: ${problem}`, { field: 'request', ...(value === undefined ? {} : { value }) });
}

/** Build a request (what the wrapper script writes; used by tests and benchmarks). */
export function encodeAgentRequest(req: AgentRequest): string {
  const lines = [AGENT_PROTOCOL_MAGIC];
  for (const [k, v] of Object.entries(req.env)) {
    if (v.includes('\n')) throw framing(`variable ${k}: value must not contain a newline`, v);
    lines.push(`${k}=${v}`);
  }
  return lines.join('\n') + '\n\n' + req.stdin;
}

/** Parse a whole request; ERR_PARSE naming the problem when it is not well framed. */
export function parseAgentRequest(data: Buffer): AgentRequest {
  if (data.length > MAX_AGENT_REQUEST_BYTES) throw framing(`${data.length} bytes is more than the ${MAX_AGENT_REQUEST_BYTES} allowed`);
  const text = data.toString('utf8');
  const first = text.indexOf('\n');
  const magic = first < 0 ? text : text.slice(0, first);
  if (magic !== AGENT_PROTOCOL_MAGIC) throw framing(`first line ${quote(magic.slice(0, 64))} is not ${quote(AGENT_PROTOCOL_MAGIC)}`, magic.slice(0, 64));
  const env: Record<string, string> = {};
  let pos = first + 1;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) throw framing('the variable list is not ended by an empty line');
    const line = text.slice(pos, nl);
    pos = nl + 1;
    if (line === '') break;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    if (eq <= 0 || !FORWARDED.has(name)) throw framing(`line ${quote(line.slice(0, 64))} is not NAME=VALUE with NAME one of ${FORWARDED_ENV.join(', ')}`, line.slice(0, 64));
    if (Object.hasOwn(env, name)) throw framing(`variable ${name} is given twice`, name);
    env[name] = line.slice(eq + 1);
  }
  return { env, stdin: text.slice(pos) };
}

/** The part of the reply written after the plugin ran. */
export function encodeAgentReply(status: number, stdout: string): string {
  return `${status}\n${stdout}`;
}

/** Parse a whole reply (greeting included), as the wrapper does. */
export function parseAgentReply(text: string): { status: number; stdout: string } | undefined {
  const head = `${AGENT_PROTOCOL_MAGIC}\n`;
  if (!text.startsWith(head)) return undefined;
  const rest = text.slice(head.length);
  const nl = rest.indexOf('\n');
  const statusText = nl < 0 ? rest : rest.slice(0, nl);
  if (!/^\d+$/.test(statusText)) return undefined;
  return { status: Number(statusText), stdout: nl < 0 ? '' : rest.slice(nl + 1) };
}
