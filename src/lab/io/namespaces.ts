// Kubernetes namespaces of the lab (objects in its datastore, not network namespaces): created on
// demand by `pod add` and `svc add` as a cluster's admission would, each with its `default`
// ServiceAccount and the `kubernetes.io/metadata.name` label Kubernetes sets.

import { TricolorError, isTricolorError, quote } from '../../base/index.ts';
import type { ResourceClient } from '../../datastore/index.ts';
import type { LabState } from '../lab-model.ts';
import { getOrUndefined, kind, withLabClient } from './datastore.ts';

/** Create namespace `name` unless it exists; true when this call created it. */
export async function ensureNamespace(c: ResourceClient, name: string, labels: Record<string, string>): Promise<boolean> {
  const info = await kind('v1', 'Namespace');
  const existing = await getOrUndefined(c.get(info, name));
  if (existing !== undefined) return false;
  try {
    await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } });
  } catch (e) {
    // a concurrent `pod add` created it first
    if (isTricolorError(e, 'ERR_ALREADY_EXISTS')) return false;
    throw e;
  }
  await ensureServiceAccount(c, name, 'default');
  return true;
}

export async function ensureServiceAccount(c: ResourceClient, ns: string, name: string): Promise<void> {
  const info = await kind('v1', 'ServiceAccount');
  if ((await getOrUndefined(c.get(info, name, ns))) !== undefined) return;
  try {
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  } catch (e) {
    if (!isTricolorError(e, 'ERR_ALREADY_EXISTS')) throw e;
  }
}

export async function nsAdd(s: LabState, name: string, labels: Record<string, string>): Promise<void> {
  await withLabClient(s, async (c) => {
    if (!(await ensureNamespace(c, name, labels))) {
      throw new TricolorError('ERR_ALREADY_EXISTS', `namespace ${quote(name)} already exists`, { value: name });
    }
  });
}

export async function nsLabel(s: LabState, name: string, edit: (l: Readonly<Record<string, string>>) => Record<string, string>): Promise<void> {
  await withLabClient(s, async (c) => {
    const ns = await c.get(await kind('v1', 'Namespace'), name);
    const labels = { ...edit(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
    await c.update({ ...ns, metadata: { ...ns.metadata, labels } });
  });
}
