// The lab's state on disk: state.json (plan and pids), one record per pod, the pointer file
// naming the newest lab, and the status files the node agents and proxies write. Every write
// goes to a temporary file renamed into place, so a reader never sees half a document.

import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError, quote } from '../../base/index.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../base/io/index.ts';
import {
  LAB_POINTER_FILE,
  LAB_ROOT,
  labRunDir,
  podFileName,
  podsDir,
  renderPointerConfig,
  statePath,
  type LabNode,
  type LabPod,
  type LabState,
  type ProxyStatusView,
} from '../lab-model.ts';

export function writeLabState(s: LabState): void {
  writeJsonAtomic(statePath(s.runDir), s);
}

export function readLabState(lab: string, root = LAB_ROOT): LabState | undefined {
  const p = statePath(labRunDir(lab, root));
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as LabState;
}

export function requireLab(lab: string): LabState {
  const s = readLabState(lab);
  if (s === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `lab ${quote(lab)} is not up (start it with \`tricolor lab up --name ${lab}\`)`, { value: lab });
  }
  return s;
}

/** The lab named by the pointer file (the most recent `lab up`), if any. */
export function currentLabName(): string | undefined {
  try {
    const m = /\n\s+name:\s*"?([a-z0-9]+)"?/.exec(readFileSync(LAB_POINTER_FILE, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Point plain `tricolor` commands on the host at this lab's datastore. */
export function writePointer(s: LabState): void {
  mkdirSync(LAB_ROOT, { recursive: true });
  writeFileAtomic(LAB_POINTER_FILE, renderPointerConfig(s));
}

/**
 * The run dir of a lab node's agent (`<labdir>/nodes/<node>`), for `tricolor node status --name
 * NODE` on the host: the lab is `lab` if given, else $TRICOLOR_LAB, else the pointer's. Undefined
 * when no such lab is up or it has no such node.
 */
export function labNodeRunDir(node: string, lab?: string): string | undefined {
  const name = lab ?? process.env['TRICOLOR_LAB'] ?? currentLabName();
  if (name === undefined || !/^[a-z0-9]{1,12}$/.test(name)) return undefined;
  try {
    return readLabState(name)?.nodes.find((n) => n.name === node)?.runDir;
  } catch {
    return undefined;
  }
}

export function listPods(s: LabState): LabPod[] {
  const dir = podsDir(s);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as LabPod)
    .sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}

export function findPod(s: LabState, ns: string, name: string): LabPod | undefined {
  const p = join(podsDir(s), podFileName(ns, name));
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as LabPod) : undefined;
}

export function writePodRecord(s: LabState, pod: LabPod): void {
  writeJsonAtomic(join(podsDir(s), podFileName(pod.namespace, pod.name)), pod);
}

/** A node's service proxy status (`<runDir>/proxy.json`), undefined before its first write. */
export function readProxyStatus(n: LabNode): ProxyStatusView | undefined {
  try {
    return JSON.parse(readFileSync(join(n.runDir, 'proxy.json'), 'utf8')) as ProxyStatusView;
  } catch {
    return undefined;
  }
}
