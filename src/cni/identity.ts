// Who a CNI call is for (node contract §3.3): the node name, Kubernetes pod identity from
// CNI_ARGS, and the MTU to use. Reads the nodename and MTU files; nothing else.

import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { TricolorError, quote } from '../base/index.ts';
import type { NetConf } from './netconf.ts';

export interface K8sIdentity {
  readonly namespace: string;
  readonly pod: string;
  readonly infraContainerId: string | undefined;
}

/** Kubernetes identity when CNI_ARGS has both K8S_POD_NAMESPACE and K8S_POD_NAME. */
export function k8sIdentity(args: ReadonlyMap<string, string>): K8sIdentity | undefined {
  const namespace = args.get('K8S_POD_NAMESPACE');
  const pod = args.get('K8S_POD_NAME');
  if (namespace === undefined || namespace === '' || pod === undefined || pod === '') return undefined;
  return { namespace, pod, infraContainerId: args.get('K8S_POD_INFRA_CONTAINER_ID') };
}

// Synchronous on purpose: these are tiny files, and inside the node agent (which serves many
// calls at once) an async read costs several event-loop round trips through the thread pool.
async function readTrimmed(path: string): Promise<string | undefined> {
  await Promise.resolve();
  try {
    const t = readFileSync(path, 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

/**
 * Node name precedence: `nodename` > nodename file > `hostname` > OS hostname (lower-cased).
 * The file must exist unless `nodename_file_optional` — it is how Calico knows its node agent ran.
 */
export async function resolveNodeName(conf: NetConf): Promise<string> {
  const fromFile = await readTrimmed(conf.nodenameFile);
  if (fromFile === undefined && !conf.nodenameFileOptional) {
    throw new TricolorError(
      'ERR_NOT_FOUND',
      `nodename_file: ${quote(conf.nodenameFile)} does not exist or is empty: check that the node agent is running and has written it (or set nodename_file_optional)`,
      { field: 'nodename_file', value: conf.nodenameFile },
    );
  }
  return (conf.nodename ?? fromFile ?? conf.hostname ?? osHostname()).toLowerCase();
}

/** Pod MTU: config, else the agent's MTU file, else undefined (kernel default). */
export async function resolveMtu(conf: NetConf, mtuFile = conf.mtuFile): Promise<number | undefined> {
  if (conf.mtu > 0) return conf.mtu;
  const text = await readTrimmed(mtuFile);
  if (text === undefined) {
    if (conf.requireMtuFile) {
      throw new TricolorError('ERR_NOT_FOUND', `require_mtu_file: MTU file ${quote(mtuFile)} is missing`, { field: 'require_mtu_file' });
    }
    return undefined;
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 68 || n > 65535) {
    throw new TricolorError('ERR_VALIDATION', `MTU file ${quote(mtuFile)}: ${quote(text)} is not a valid MTU`, { value: text });
  }
  return n;
}
