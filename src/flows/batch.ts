// The batch an agent pushes to the aggregator every flush interval (15 s by default), and its
// strict decoder: the aggregator is a network service, so a record with an unknown field, a wrong
// type or an absurd value is rejected with the field path and value, and nothing of that batch
// is stored.

import { TricolorError, quote } from '../base/index.ts';
import { ENDPOINT_TYPES, FLOW_ACTIONS, HIT_KINDS, MAX_IPS, REPORTERS } from './flow.ts';
import type { FlowEndpoint, FlowRecord, FlowService, FlowStats, PolicyHit, PolicyRef } from './flow.ts';

export interface FlowBatch {
  readonly node: string;
  readonly flows: readonly FlowRecord[];
}

export const MAX_BATCH_FLOWS = 20000;
const MAX_TRACE = 64;
const MAX_LABELS = 64;

type Obj = Record<string, unknown>;

function bad(path: string, value: unknown, problem: string): TricolorError {
  const shown = typeof value === 'string' && value.length > 60 ? value.slice(0, 60) + '…' : value;
  return new TricolorError('ERR_VALIDATION', `${path}: ${quote(typeof shown === 'object' && shown !== null ? '(object)' : shown)} ${problem}`, { field: path, value: shown });
}

function obj(path: string, v: unknown, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, v, 'is not an object');
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw bad(`${path}.${k}`, (v as Obj)[k], `is not a known field (${allowed.join(', ')})`);
  return v as Obj;
}

function str(path: string, v: unknown, max = 253): string {
  if (typeof v !== 'string') throw bad(path, v, 'is not a string');
  if (v.length > max) throw bad(path, v, `is longer than ${max} characters`);
  return v;
}

function int(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(path, v, `is not an integer in ${min}..${max}`);
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw bad(path, v, `is not one of ${allowed.join(', ')}`);
  return v as T;
}

function strList(path: string, v: unknown, max: number): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(path, v, 'is not a list');
  if (v.length > max) throw bad(path, `${v.length} items`, `is too many (at most ${max})`);
  return v.map((x, i) => str(`${path}[${i}]`, x));
}

function endpoint(path: string, v: unknown): FlowEndpoint {
  const o = obj(path, v, ['type', 'namespace', 'name', 'labels', 'ips']);
  return {
    type: oneOf(`${path}.type`, o['type'], ENDPOINT_TYPES),
    namespace: str(`${path}.namespace`, o['namespace'] ?? ''),
    name: str(`${path}.name`, o['name']),
    labels: strList(`${path}.labels`, o['labels'], MAX_LABELS),
    ips: strList(`${path}.ips`, o['ips'], MAX_IPS),
  };
}

function ref(path: string, v: unknown): PolicyRef {
  const o = obj(path, v, ['kind', 'namespace', 'name']);
  return { kind: oneOf(`${path}.kind`, o['kind'], HIT_KINDS), namespace: str(`${path}.namespace`, o['namespace'] ?? ''), name: str(`${path}.name`, o['name']) };
}

function hit(path: string, v: unknown): PolicyHit {
  const o = obj(path, v, ['kind', 'namespace', 'name', 'tier', 'action', 'policyIndex', 'ruleIndex', 'trigger']);
  return {
    kind: oneOf(`${path}.kind`, o['kind'], HIT_KINDS),
    namespace: str(`${path}.namespace`, o['namespace'] ?? ''),
    name: str(`${path}.name`, o['name']),
    tier: str(`${path}.tier`, o['tier']),
    action: oneOf(`${path}.action`, o['action'], FLOW_ACTIONS),
    policyIndex: int(`${path}.policyIndex`, o['policyIndex'], 0, 100000),
    ruleIndex: int(`${path}.ruleIndex`, o['ruleIndex'], -1, 100000),
    ...(o['trigger'] === undefined || o['trigger'] === null ? {} : { trigger: ref(`${path}.trigger`, o['trigger']) }),
  };
}

function hits(path: string, v: unknown): PolicyHit[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(path, v, 'is not a list');
  if (v.length > MAX_TRACE) throw bad(path, `${v.length} hits`, `is too many (at most ${MAX_TRACE})`);
  return v.map((h, i) => hit(`${path}[${i}]`, h));
}

const COUNT_MAX = Number.MAX_SAFE_INTEGER;

function stats(path: string, v: unknown): FlowStats {
  const o = obj(path, v, ['packetsIn', 'packetsOut', 'bytesIn', 'bytesOut', 'started', 'completed', 'live']);
  const n = (k: string): number => int(`${path}.${k}`, o[k] ?? 0, 0, COUNT_MAX);
  return { packetsIn: n('packetsIn'), packetsOut: n('packetsOut'), bytesIn: n('bytesIn'), bytesOut: n('bytesOut'), started: n('started'), completed: n('completed'), live: n('live') };
}

function service(path: string, v: unknown): FlowService {
  const o = obj(path, v, ['namespace', 'name', 'portName', 'port']);
  return { namespace: str(`${path}.namespace`, o['namespace'] ?? ''), name: str(`${path}.name`, o['name']), portName: str(`${path}.portName`, o['portName'] ?? ''), port: int(`${path}.port`, o['port'] ?? 0, 0, 65535) };
}

const TIME_MIN = 1_000_000_000; // 2001: anything earlier is a unit mistake (ms vs s) or garbage
const TIME_MAX = 10_000_000_000;

export function parseFlowRecord(path: string, v: unknown, node: string): FlowRecord {
  const o = obj(path, v, ['start', 'end', 'reporter', 'node', 'src', 'dst', 'destPort', 'proto', 'service', 'action', 'policies', 'stats']);
  const start = int(`${path}.start`, o['start'], TIME_MIN, TIME_MAX);
  const end = int(`${path}.end`, o['end'], TIME_MIN, TIME_MAX);
  if (end < start) throw bad(`${path}.end`, end, `is before start ${start}`);
  if (o['node'] !== undefined && o['node'] !== node) throw bad(`${path}.node`, o['node'], `differs from the batch's node ${quote(node)}`);
  const pol = obj(`${path}.policies`, o['policies'] ?? {}, ['enforced', 'pending']);
  const proto = str(`${path}.proto`, o['proto'], 16).toLowerCase();
  return {
    start,
    end,
    reporter: oneOf(`${path}.reporter`, o['reporter'], REPORTERS),
    node,
    src: endpoint(`${path}.src`, o['src']),
    dst: endpoint(`${path}.dst`, o['dst']),
    destPort: int(`${path}.destPort`, o['destPort'] ?? 0, 0, 65535),
    proto,
    ...(o['service'] === undefined || o['service'] === null ? {} : { service: service(`${path}.service`, o['service']) }),
    action: oneOf(`${path}.action`, o['action'], FLOW_ACTIONS),
    policies: { enforced: hits(`${path}.policies.enforced`, pol['enforced']), pending: hits(`${path}.policies.pending`, pol['pending']) },
    stats: stats(`${path}.stats`, o['stats'] ?? {}),
  };
}

/** Decode a pushed batch (JSON already parsed); throws on the first bad field. */
export function parseFlowBatch(v: unknown): FlowBatch {
  const o = obj('batch', v, ['node', 'flows']);
  const node = str('batch.node', o['node']);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node)) throw bad('batch.node', node, 'is not a valid node name');
  const flows = o['flows'];
  if (!Array.isArray(flows)) throw bad('batch.flows', flows, 'is not a list');
  if (flows.length > MAX_BATCH_FLOWS) throw new TricolorError('ERR_VALIDATION', `batch.flows: ${flows.length} flows is more than ${MAX_BATCH_FLOWS} in one batch`, { field: 'batch.flows', value: flows.length });
  return { node, flows: flows.map((f, i) => parseFlowRecord(`batch.flows[${i}]`, f, node)) };
}
