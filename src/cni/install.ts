// `tricolor install-cni`: puts the plugin executables into the CNI bin dir and writes the
// network configuration list `10-tricolor.conflist`. `tricolor-ipam` is a small shell wrapper
// that execs this checkout's Node with the TypeScript entry point; `tricolor-cni` is a POSIX
// sh script that hands the call to the node agent over its unix socket (socat) — the fast
// path, no Node start-up — and runs the entry point itself only when no agent answers. Files
// are written to a temp name and renamed, so a runtime never reads half a file.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_CODE_BUG, DATASTORE_ENV_KEYS, TricolorError, quote } from '../base/index.ts';
import { writeFileAtomic, writeJsonAtomic } from '../base/io/index.ts';
import { AGENT_PROTOCOL_MAGIC, FORWARDED_ENV } from './agent-protocol.ts';
import { DEFAULT_NODENAME_FILE } from './netconf.ts';

export const CONFLIST_NAME = '10-tricolor.conflist';
export const NETWORK_NAME = 'k8s-pod-network';
/** Where the node agent serves CNI calls unless told otherwise (its default run dir + cni.sock). */
export const DEFAULT_AGENT_SOCKET = '/var/run/tricolor/cni.sock';
/** Overrides the socket path baked into the installed `tricolor-cni`. */
export const AGENT_SOCKET_ENV = 'TRICOLOR_CNI_SOCKET';
export const PLUGIN_BINARIES = { 'tricolor-cni': 'tricolor-cni.ts', 'tricolor-ipam': 'tricolor-ipam.ts' } as const;

export interface InstallOptions {
  readonly binDir: string;
  readonly confDir: string;
  /** Node executable the wrappers run (default: the one running this). */
  readonly nodePath: string;
  /** Directory holding bin/tricolor-cni.ts and bin/tricolor-ipam.ts. */
  readonly repoRoot: string;
  /** Datastore settings baked into the wrappers (DATASTORE_TYPE, ETCD_*, TRICOLOR_DATASTORE_PATH). */
  readonly env: Readonly<Record<string, string>>;
  readonly nodename?: string;
  readonly mtuBytes?: number;
  /** The node agent's CNI socket baked into `tricolor-cni` (default DEFAULT_AGENT_SOCKET). */
  readonly agentSocket?: string;
  /** Where the agent writes the node name; written as `nodename_file` when not Calico's default. */
  readonly nodenameFile?: string;
}

const ENV_KEYS = [...DATASTORE_ENV_KEYS, 'FELIX_INTERFACEPREFIX'] as const;

/** The datastore-related variables of an environment, to bake into the wrappers. */
export function datastoreEnvOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ENV_KEYS) {
    const v = env[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function envDefaults(env: Readonly<Record<string, string>>): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new TricolorError('ERR_VALIDATION', `environment name ${quote(k)} is not valid`);
    lines.push(`: "\${${k}:=${v.replace(/["\\$`]/g, '\\$&')}}"`, `export ${k}`);
  }
  return lines;
}

/** A POSIX sh wrapper: exports the baked settings (unless already set) and execs the plugin. */
export function wrapperScript(nodePath: string, entry: string, env: Readonly<Record<string, string>>): string {
  const lines = ['#!/bin/sh', '# Installed by `tricolor install-cni`; regenerate rather than edit.', ...envDefaults(env)];
  lines.push(`exec ${shQuote(nodePath)} ${shQuote(entry)} "$@"`, '');
  return lines.join('\n');
}

/**
 * The installed `tricolor-cni`: POSIX sh (runs under dash; builtins only apart from socat).
 * Reads the netconf from stdin, frames it with the forwarded variables (agent-protocol.ts) and
 * sends it to the agent's socket with socat; `-t` is the time socat waits for the reply after
 * its own half-close, so it must exceed any plugin run. No greeting back (no socket, refused,
 * socat missing) → the call runs stand-alone in Node with the same stdin. A greeting without a
 * status (the agent died mid-call) is reported as a CNI error, never retried here: the agent
 * may have done part of the work, and the runtime's retry or DEL is what cleans up.
 */
export function agentWrapperScript(nodePath: string, entry: string, env: Readonly<Record<string, string>>, socketPath: string): string {
  const forward = FORWARDED_ENV.map((k) => `[ -z "\${${k}+x}" ] || fwd ${k} "$${k}"`);
  const lines = [
    '#!/bin/sh',
    '# Installed by `tricolor install-cni`; regenerate rather than edit.',
    ...envDefaults(env),
    `sock=\${${AGENT_SOCKET_ENV}:-${shQuote(socketPath)}}`,
    `nl='`,
    `'`,
    'conf=',
    'if [ "$CNI_COMMAND" != VERSION ] || [ ! -t 0 ]; then',
    '  while IFS= read -r line || [ -n "$line" ]; do conf=$conf$line$nl; done',
    'fi',
    'agent=1',
    '[ -S "$sock" ] || agent=',
    `req='${AGENT_PROTOCOL_MAGIC}'$nl`,
    // A value with a newline cannot be framed: such a call takes the stand-alone path.
    'fwd() { case $2 in *"$nl"*) agent= ;; esac; req=$req$1=$2$nl; }',
    ...forward,
    'if [ -n "$agent" ]; then',
    '  reply=$(socat -t 3600 - "UNIX-CONNECT:$sock" 2>/dev/null <<EOF',
    '$req',
    '$conf',
    'EOF',
    '  )',
    '  case $reply in',
    `    '${AGENT_PROTOCOL_MAGIC}'"$nl"*)`,
    '      rest=${reply#*"$nl"}',
    '      status=${rest%%"$nl"*}',
    '      case $rest in *"$nl"*) out=${rest#*"$nl"} ;; *) out= ;; esac',
    '      case $status in',
    `        ''|*[!0-9]*) ;;`,
    `        *) [ -z "$out" ] || printf '%s\\n' "$out"; exit "$status" ;;`,
    '      esac',
    '      ;;',
    '  esac',
    '  case $reply in',
    `    '${AGENT_PROTOCOL_MAGIC}'*)`,
    `      printf '{"cniVersion":"1.0.0","code":${CNI_CODE_BUG},"msg":"tricolor node agent at %s closed the connection before answering"}\\n' "$sock"`,
    '      exit 1 ;;',
    '  esac',
    'fi',
    `exec ${shQuote(nodePath)} ${shQuote(entry)} "$@" <<EOF`,
    '$conf',
    'EOF',
    '',
  ];
  return lines.join('\n');
}

export function renderConflist(o: Pick<InstallOptions, 'nodename' | 'mtuBytes' | 'nodenameFile'>): Record<string, unknown> {
  return {
    name: NETWORK_NAME,
    cniVersion: '1.0.0',
    plugins: [
      {
        type: 'tricolor-cni',
        log_level: 'info',
        ...(o.nodename === undefined ? {} : { nodename: o.nodename }),
        ...(o.nodenameFile === undefined || o.nodenameFile === DEFAULT_NODENAME_FILE ? {} : { nodename_file: o.nodenameFile }),
        mtu: o.mtuBytes ?? 0,
        ipam: { type: 'tricolor-ipam' },
        policy: { type: 'k8s' },
      },
    ],
  };
}

/** Install wrappers and the conflist; returns the paths written. */
export async function installCni(o: InstallOptions): Promise<string[]> {
  await mkdir(o.binDir, { recursive: true });
  await mkdir(o.confDir, { recursive: true });
  const written: string[] = [];
  for (const [name, file] of Object.entries(PLUGIN_BINARIES)) {
    const path = join(o.binDir, name);
    const entry = join(o.repoRoot, 'bin', file);
    const text =
      name === 'tricolor-cni' ? agentWrapperScript(o.nodePath, entry, o.env, o.agentSocket ?? DEFAULT_AGENT_SOCKET) : wrapperScript(o.nodePath, entry, o.env);
    writeFileAtomic(path, text, { mode: 0o755 });
    written.push(path);
  }
  const conf = join(o.confDir, CONFLIST_NAME);
  writeJsonAtomic(conf, renderConflist(o), { mode: 0o644 });
  written.push(conf);
  return written;
}
