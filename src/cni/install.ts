// `tricolor install-cni`: puts the plugin executables into the CNI bin dir (small shell
// wrappers that exec this checkout's Node with the TypeScript entry points) and writes the
// network configuration list `10-tricolor.conflist`. Files are written to a temp name and
// renamed, so a runtime never reads half a file.

import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TricolorError, quote } from '../base/index.ts';

export const CONFLIST_NAME = '10-tricolor.conflist';
export const NETWORK_NAME = 'k8s-pod-network';
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
}

const ENV_KEYS = ['DATASTORE_TYPE', 'TRICOLOR_DATASTORE_PATH', 'ETCD_ENDPOINTS', 'ETCD_CA_CERT_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'FELIX_INTERFACEPREFIX'] as const;

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

/** A POSIX sh wrapper: exports the baked settings (unless already set) and execs the plugin. */
export function wrapperScript(nodePath: string, entry: string, env: Readonly<Record<string, string>>): string {
  const lines = ['#!/bin/sh', '# Installed by `tricolor install-cni`; regenerate rather than edit.'];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new TricolorError('ERR_VALIDATION', `environment name ${quote(k)} is not valid`);
    lines.push(`: "\${${k}:=${v.replace(/["\\$`]/g, '\\$&')}}"`, `export ${k}`);
  }
  lines.push(`exec ${shQuote(nodePath)} ${shQuote(entry)} "$@"`, '');
  return lines.join('\n');
}

export function renderConflist(o: Pick<InstallOptions, 'nodename' | 'mtuBytes'>): Record<string, unknown> {
  return {
    name: NETWORK_NAME,
    cniVersion: '1.0.0',
    plugins: [
      {
        type: 'tricolor-cni',
        log_level: 'info',
        ...(o.nodename === undefined ? {} : { nodename: o.nodename }),
        mtu: o.mtuBytes ?? 0,
        ipam: { type: 'tricolor-ipam' },
        policy: { type: 'k8s' },
      },
    ],
  };
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Install wrappers and the conflist; returns the paths written. */
export async function installCni(o: InstallOptions): Promise<string[]> {
  await mkdir(o.binDir, { recursive: true });
  await mkdir(o.confDir, { recursive: true });
  const written: string[] = [];
  for (const [name, file] of Object.entries(PLUGIN_BINARIES)) {
    const path = join(o.binDir, name);
    await writeAtomic(path, wrapperScript(o.nodePath, join(o.repoRoot, 'bin', file), o.env), 0o755);
    written.push(path);
  }
  const conf = join(o.confDir, CONFLIST_NAME);
  await writeAtomic(conf, JSON.stringify(renderConflist(o), null, 2) + '\n', 0o644);
  written.push(conf);
  return written;
}
