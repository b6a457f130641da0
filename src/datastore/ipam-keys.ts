// Calico's IPAM key layout in the datastore (node contract §1.2.2), so that a Calico reader
// and Tricolor read each other's blocks, affinities, handles and config. Owned by the datastore
// layer because the one codec of stored data (resource-codec.ts) decodes block affinities.

import { type CIDR, type IPFamily, formatCIDR, parseCIDR } from '../net/index.ts';

export const IPAM_PREFIX = '/calico/ipam/v2/';
export const IPAM_CONFIG_KEY = '/calico/ipam/v2/config';
export const HANDLE_PREFIX = '/calico/ipam/v2/handle/';
export const HOST_PREFIX = '/calico/ipam/v2/host/';

function fam(f: IPFamily): string {
  return f === 4 ? 'ipv4' : 'ipv6';
}

/** `10.65.0.0/26` → `10.65.0.0-26` (the single `/` becomes `-`; IPv6 colons stay). */
export function cidrKeyPart(c: CIDR): string {
  return formatCIDR(c).replace('/', '-');
}

export function blockPrefix(f: IPFamily): string {
  return `/calico/ipam/v2/assignment/${fam(f)}/block/`;
}

export function blockKey(c: CIDR): string {
  return blockPrefix(c.family) + cidrKeyPart(c);
}

export function hostAffinityPrefix(host: string, f: IPFamily): string {
  return `${HOST_PREFIX}${host}/${fam(f)}/block/`;
}

export function affinityKey(host: string, c: CIDR): string {
  return hostAffinityPrefix(host, c.family) + cidrKeyPart(c);
}

export function handleKey(handleId: string): string {
  return HANDLE_PREFIX + handleId;
}

/** The CIDR named by the last segment of a block or affinity key. */
export function cidrFromKey(key: string): CIDR {
  const last = key.slice(key.lastIndexOf('/') + 1);
  const dash = last.lastIndexOf('-');
  return parseCIDR(`${last.slice(0, dash)}/${last.slice(dash + 1)}`);
}

export interface ParsedAffinityKey {
  readonly host: string;
  readonly cidr: CIDR;
}

/** `/calico/ipam/v2/host/<host>/ipv4/block/<cidr>` → host + CIDR; undefined for other keys. */
export function parseAffinityKey(key: string): ParsedAffinityKey | undefined {
  const m = /^\/calico\/ipam\/v2\/host\/([^/]+)\/ipv[46]\/block\/([^/]+)$/.exec(key);
  if (m === null || m[1] === undefined) return undefined;
  return { host: m[1], cidr: cidrFromKey(key) };
}
