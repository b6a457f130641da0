// `tricolor ipam show|check|release|configure` with calicoctl's flags and output shapes (API
// contract §6.6, node contract §2.14). `check` reads workload endpoints from the datastore
// instead of a Kubernetes API; everything else works as a Calico user expects.

import { writeFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext, Command } from '../command.ts';
import type { DatastoreBackend } from '../../datastore/index.ts';
import type { IPAMCheckReport, IPAMClient } from '../../ipam/index.ts';
import { EXIT_OK, EXIT_USAGE, TricolorError, quote } from '../../base/index.ts';

const HELP = `Usage:
  tricolor ipam show [--ip=<IP> | --show-blocks | --show-borrowed | --show-configuration] [options]
  tricolor ipam check [--show-all-ips] [--show-problem-ips] [-o <file>] [options]
  tricolor ipam release [--ip=<IP>] [--from-report=<file> ...] [--force] [options]
  tricolor ipam configure --strictaffinity=<true/false> [--max-blocks-per-host=<n>]
                          [--kubevirt-ip-persistence=Enabled|Disabled] [--ip-cooldown-seconds=<n>] [options]

IP address management: show usage, check consistency, release leaked addresses, configure.

Options:
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export interface IPAMCommandOptions {
  /** Open the datastore; defaults to --config / the environment, as every command does. */
  readonly openBackend?: (configFlag: string | undefined, ctx: CliContext) => Promise<DatastoreBackend>;
  /** Whether the command closes the backend when done (not when the caller passed one in). */
  readonly closeBackend?: boolean;
}

async function defaultOpen(configFlag: string | undefined, ctx: CliContext): Promise<DatastoreBackend> {
  const { loadDatastoreConfig } = await import('../connection.ts');
  const { openBackend } = await import('../../datastore/index.ts');
  return openBackend(await loadDatastoreConfig(configFlag, ctx));
}

// ---- formatting ------------------------------------------------------------------------------

/** Go's `%.5g`. */
export function goG5(n: number): string {
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 5) {
    const [m = '', e = '0'] = n.toExponential(4).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const en = Number(e);
    return `${mant}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const s = n.toPrecision(5);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

function pct(n: number, total: number): string {
  return `${goG5(n)} (${total === 0 ? 0 : Math.round((n / total) * 100)}%)`;
}

/** A boxed ASCII table (`+`, `-`, `|`), headers centred, `right` columns right-aligned. */
export function boxTable(headers: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const sep = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+\n`;
  const centre = (s: string, n: number): string => {
    const left = Math.floor((n - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(n - s.length - left);
  };
  const line = (cells: readonly string[], head: boolean): string =>
    `|${cells.map((c, i) => ` ${head ? centre(c, w[i] ?? 0) : right.has(i) ? c.padStart(w[i] ?? 0) : c.padEnd(w[i] ?? 0)} `).join('|')}|\n`;
  return sep + line(headers, true) + sep + rows.map((r) => line(r, false)).join('') + sep;
}

// ---- subcommands -----------------------------------------------------------------------------

async function show(client: IPAMClient, p: import('../args.ts').ParsedArgs, ctx: CliContext): Promise<number> {
  const { flagBool, flagString } = await import('../args.ts');
  const net = await import('../../net/index.ts');
  const ipam = await import('../../ipam/index.ts');
  const ipFlag = flagString(p, 'ip');
  if (ipFlag !== undefined) {
    const ip = net.tryParseIP(ipFlag);
    if (ip === undefined) throw new TricolorError('ERR_USAGE', `invalid IP address specified: ${quote(ipFlag)}`, { field: 'ip', value: ipFlag });
    const text = net.formatIP(ip);
    const a = await client.getAssignmentAttributes(text);
    if (a === undefined || a.releasedAt !== undefined) {
      ctx.stdout.write(`${text} is not assigned\n`);
      return 0;
    }
    let out = `IP ${text} is in use\nHandle ID: ${a.handleId ?? '<none>'}\n`;
    const keys = Object.keys(a.attrs).sort();
    if (keys.length === 0) out += 'No Active Owner attributes defined\n';
    else out += `Active Owner Attributes:\n${keys.map((k) => `  ${k}: ${a.attrs[k]}\n`).join('')}`;
    if (a.alternateOwnerAttrs !== undefined && Object.keys(a.alternateOwnerAttrs).length > 0) {
      const alt = a.alternateOwnerAttrs;
      out += `Alternate Owner Attributes:\n${Object.keys(alt).sort().map((k) => `  ${k}: ${alt[k]}\n`).join('')}`;
    }
    ctx.stdout.write(out);
    return 0;
  }
  if (flagBool(p, 'show-configuration')) {
    const c = await client.getConfig();
    ctx.stdout.write(
      boxTable(['PROPERTY', 'VALUE'], [
        ['StrictAffinity', String(c.strictAffinity)],
        ['AutoAllocateBlocks', String(c.autoAllocateBlocks)],
        ['MaxBlocksPerHost', String(c.maxBlocksPerHost)],
        ['KubeVirtVMAddressPersistence', c.kubeVirtVMAddressPersistence],
        ['IPCooldownSeconds', String(c.ipCooldownSeconds)],
      ]),
    );
    return 0;
  }
  const blocks = await client.listBlocks();
  if (flagBool(p, 'show-borrowed')) {
    const rows: string[][] = [];
    let unattributed = 0;
    for (const b of blocks) {
      const owner = ipam.affinityHost(b.block.affinity);
      for (const a of ipam.allocationsOf(b)) {
        if (a.inCooldown) continue;
        const node = a.attrs['node'];
        if (node === undefined) {
          if (owner === undefined) unattributed++;
          continue;
        }
        if (node === owner) continue;
        const type = a.attrs['type'] ?? (a.attrs['pod'] !== undefined ? 'pod' : a.attrs['service'] !== undefined ? 'service' : '');
        const to = a.attrs['pod'] !== undefined ? `${a.attrs['namespace'] ?? ''}/${a.attrs['pod']}` : (a.handleId ?? '');
        rows.push([a.ip, node, a.block, owner ?? '', type, to]);
      }
    }
    ctx.stdout.write(boxTable(['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'], rows));
    if (unattributed > 0) ctx.stdout.write(`\n${unattributed} allocations in non-affine blocks have no node attribute and cannot be attributed to a borrowing node.\n`);
    return 0;
  }
  const showBlocks = flagBool(p, 'show-blocks');
  const pools = (await client.resources.listPools()).slice().sort((a, b) => net.cidrCompare(a.cidr, b.cidr));
  const reserved = await client.resources.listReservations();
  const reservedIn = (c: import('../../net/index.ts').CIDR): number => {
    let n = 0n;
    const seen: import('../../net/index.ts').CIDR[] = [];
    for (const r of reserved) {
      if (!net.cidrsOverlap(r, c) || seen.some((s) => net.cidrContainsCIDR(s, r))) continue;
      seen.push(r);
      n += net.cidrContainsCIDR(c, r) ? net.cidrSize(r) : net.cidrSize(c);
    }
    return Number(n);
  };
  const rows: string[][] = [];
  const used = (b: (typeof blocks)[number]): number => ipam.allocatedCount(b.block);
  const grouped = new Set<string>();
  for (const pool of pools) {
    const inPool = blocks.filter((b) => net.cidrContainsCIDR(pool.cidr, b.block.cidr)).sort((a, b) => net.cidrCompare(a.block.cidr, b.block.cidr));
    const total = Number(net.cidrSize(pool.cidr));
    const inUse = inPool.reduce((s, b) => s + used(b), 0);
    const res = reservedIn(pool.cidr);
    rows.push(['IP Pool', net.formatCIDR(pool.cidr), goG5(total), pct(inUse, total), pct(res, total), pct(Math.max(0, total - inUse - res), total)]);
    for (const b of inPool) {
      grouped.add(b.kv.key);
      if (!showBlocks) continue;
      const bt = ipam.blockSizeOf(b.block.cidr);
      const u = used(b);
      const r = reservedIn(b.block.cidr);
      rows.push(['Block', net.formatCIDR(b.block.cidr), goG5(bt), pct(u, bt), pct(r, bt), pct(Math.max(0, bt - u - r), bt)]);
    }
  }
  if (showBlocks) {
    // blocks of no current pool: the "orphaned allocation blocks" pseudo-pool has no row of its own
    for (const b of blocks.filter((x) => !grouped.has(x.kv.key))) {
      const bt = ipam.blockSizeOf(b.block.cidr);
      const u = used(b);
      rows.push(['Block', net.formatCIDR(b.block.cidr), goG5(bt), pct(u, bt), pct(0, bt), pct(bt - u, bt)]);
    }
  }
  ctx.stdout.write(boxTable(['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS RESERVED', 'IPS FREE'], rows, new Set([2, 3, 4, 5])));
  return 0;
}

async function check(client: IPAMClient, p: import('../args.ts').ParsedArgs, ctx: CliContext): Promise<number> {
  const { flagBool, flagString } = await import('../args.ts');
  const ipam = await import('../../ipam/index.ts');
  const { CLIENT_VERSION } = await import('./version.ts');
  const showAll = flagBool(p, 'show-all-ips');
  const showProblems = showAll || flagBool(p, 'show-problem-ips');
  const w = (s: string): void => void ctx.stdout.write(s);
  w('Checking IPAM for inconsistencies...\n\n');
  w('Loading all IPAM blocks...\n');
  const inputs = await ipam.loadCheckInputs(client, CLIENT_VERSION);
  const r = ipam.checkIPAM(inputs);
  w(`Found ${r.summary.blocks} IPAM blocks.\n`);
  w(` IPAM block count by node:\n`);
  for (const t of r.topNodes) w(`   ${t.node}: ${t.allocations} allocations\n`);
  const counts = r.topNodes.map((t) => t.allocations).sort((a, b) => a - b);
  const median = counts.length === 0 ? 0 : (counts[Math.floor((counts.length - 1) / 2)] ?? 0);
  w(`Median allocations per node: ${median}\n`);
  w(`Found ${r.summary.allocations} active IP allocations in IPAM.\n\n`);
  w(`Loading all IP pools...\n  Found ${r.summary.pools} active IP pools.\n\n`);
  w(`Loading all nodes.\n  Found ${r.summary.nodeTunnelIPs} node tunnel IPs.\n\n`);
  w(`Loading all workload endpoints.\n  Found ${r.summary.workloadIPs} workload IPs.\n\n`);
  w(`Loading all handles.\n  Found ${r.summary.handles} handles.\n\n`);
  if (showAll) {
    for (const b of inputs.blocks) for (const a of ipam.allocationsOf(b)) w(`  ${a.ip} allocated to handle ${a.handleId ?? '<none>'} (block ${a.block})\n`);
  }
  const section = (title: string, items: readonly string[]): void => {
    w(`${title}: ${items.length}\n`);
    if (showProblems) for (const i of items) w(`  ${i}\n`);
  };
  section('Found IPs that are allocated in IPAM but not actively in use', r.leakedIPs.map((l) => `${l.ip} leaked (${l.reason}); handle ${l.handle ?? '<none>'}`));
  section('Found IPs that are in use by multiple owners', r.multipleOwners.map((m) => `${m.ip}: ${m.owners.join(', ')}`));
  section('Found active IPs that are not in any active IP pool (not a problem)', r.outsidePools);
  section('Found in-use IPs that are not in active IP pools, or have no IPAM allocation', r.inUseWithoutAllocation.map((m) => `${m.ip}: ${m.owners.join(', ')}`));
  section('Found IPs allocated in more than one block', r.duplicateAllocations.map((d) => `${d.ip}: ${d.blocks.join(', ')}`));
  section('Found handles with no IP allocations (leaked handles)', r.leakedHandles.map((h) => h.id));
  section('Found handles referenced by blocks but missing', r.missingHandles.map((h) => `${h.id} (blocks ${h.blocks.join(', ')})`));
  section('Found handles whose counts disagree with their blocks', r.handleMismatches.map((h) => `${h.id} in ${h.block}: handle says ${h.handleCount}, block holds ${h.blockCount}`));
  section('Found affinity inconsistencies', r.affinityMismatches.map((a) => `${a.host} ${a.block}: ${a.problem}`));
  section('Found invalid blocks', r.invalidBlocks.map((b) => `${b.block}: ${b.problem}`));
  w(`Check complete; found ${r.problems} problems.\n`);
  const out = flagString(p, 'o') ?? flagString(p, 'output');
  if (out !== undefined) {
    writeFileSync(resolve(ctx.cwd, out), JSON.stringify(r, null, 2) + '\n');
    w(`Report written to ${out}\n`);
  }
  return 0;
}

async function release(client: IPAMClient, p: import('../args.ts').ParsedArgs, ctx: CliContext): Promise<number> {
  const { flagBool, flagString, flagStrings } = await import('../args.ts');
  const net = await import('../../net/index.ts');
  const { CLIENT_VERSION } = await import('./version.ts');
  const ipFlag = flagString(p, 'ip');
  const reports = flagStrings(p, 'from-report');
  if ((ipFlag === undefined) === (reports.length === 0)) throw new TricolorError('ERR_USAGE', 'specify exactly one of --ip or --from-report');
  if (ipFlag !== undefined) {
    const ip = net.tryParseIP(ipFlag);
    if (ip === undefined) throw new TricolorError('ERR_USAGE', `invalid IP address specified: ${quote(ipFlag)}`, { field: 'ip', value: ipFlag });
    const text = net.formatIP(ip);
    const [res] = await client.releaseIPs([{ ip: text }]);
    if (res?.status === 'released') {
      ctx.stdout.write(`Successfully released IP address ${text}\n`);
      return 0;
    }
    if (res?.status === 'unallocated') {
      ctx.stdout.write(`IP address ${text} is not assigned\n`);
      return 0;
    }
    throw new TricolorError('ERR_UPDATE_CONFLICT', `error releasing IP address ${text}: ${res?.message ?? 'unknown error'}`);
  }
  const force = flagBool(p, 'force');
  const loaded: IPAMCheckReport[] = reports.map((f) => {
    try {
      return JSON.parse(readFileSync(resolve(ctx.cwd, f), 'utf8')) as IPAMCheckReport;
    } catch (e) {
      throw new TricolorError('ERR_PARSE', `cannot read report ${quote(f)}: ${(e as Error).message}`, { cause: e });
    }
  });
  const ci = await client.resources.getClusterInfo();
  for (const [i, r] of loaded.entries()) {
    if (ci !== undefined && r.clusterGUID !== '' && r.clusterGUID !== ci.clusterGUID) {
      throw new TricolorError('ERR_VALIDATION', `report ${quote(reports[i])} is from cluster ${quote(r.clusterGUID)}, not this cluster (${quote(ci.clusterGUID)})`);
    }
    if (r.version !== CLIENT_VERSION) {
      if (!force) throw new TricolorError('ERR_VALIDATION', `report ${quote(reports[i])} was produced by version ${quote(r.version)}, this is ${CLIENT_VERSION}; use --force to release anyway`);
      ctx.stderr.write(`Warning: report ${reports[i]} was produced by version ${r.version}\n`);
    }
  }
  const currentRev = ci?.revision ?? '';
  if (!loaded.some((r) => r.clusterInformationRevision === currentRev)) {
    throw new TricolorError('ERR_VALIDATION', 'the reports are all stale: the datastore changed since they were produced; run `tricolor ipam check -o` again');
  }
  if (!force && ci !== undefined && ci.datastoreReady) {
    throw new TricolorError('ERR_VALIDATION', 'datastore is not locked. Run the `tricolor datastore migrate lock` command in order to release IPs from a report, or use --force');
  }
  // only what every report agrees is leaked, at the same sequence number
  const key = (l: { ip: string; sequenceNumber: string; handle?: string | undefined }): string => `${l.ip}|${l.sequenceNumber}|${l.handle ?? ''}`;
  const [first, ...rest] = loaded;
  const ips = (first?.leakedIPs ?? []).filter((l) => rest.every((r) => r.leakedIPs.some((x) => key(x) === key(l))));
  const handles = (first?.leakedHandles ?? []).filter((h) => rest.every((r) => r.leakedHandles.some((x) => x.id === h.id && x.revision === h.revision)));
  ctx.stdout.write(`Releasing ${ips.length} old IPs...\n`);
  const results = await client.releaseIPs(ips.map((l) => ({ ip: l.ip, sequenceNumber: l.sequenceNumber, ...(l.handle !== undefined ? { handleId: l.handle } : {}) })));
  const ok = results.filter((r) => r.status === 'released').length;
  for (const r of results) if (r.status === 'error') ctx.stderr.write(`Skipped ${r.ip}: ${r.message ?? ''}\n`);
  ctx.stdout.write(`Released ${ok} IPs successfully\n`);
  if (handles.length > 0) {
    ctx.stdout.write(`Deleting ${handles.length} leaked handles `);
    let skipped = 0;
    for (const h of handles) {
      const done = await client.deleteHandle(h.id, h.revision);
      if (!done) skipped++;
      ctx.stdout.write(done ? '.' : 'x');
    }
    ctx.stdout.write(`\nDeleted ${handles.length - skipped} handles, skipped ${skipped}\n`);
  }
  ctx.stdout.write('You may now unlock the data store.\n');
  return 0;
}

async function configure(client: IPAMClient, p: import('../args.ts').ParsedArgs, ctx: CliContext): Promise<number> {
  const { flagString } = await import('../args.ts');
  const patch: { strictAffinity?: boolean; maxBlocksPerHost?: number; kubeVirtVMAddressPersistence?: 'Enabled' | 'Disabled'; ipCooldownSeconds?: number } = {};
  const printed: [string, string][] = [];
  const sa = flagString(p, 'strictaffinity');
  if (sa !== undefined) {
    const v = ({ true: true, false: false, '1': true, '0': false, t: true, f: false, TRUE: true, FALSE: false, True: true, False: false } as Record<string, boolean>)[sa];
    if (v === undefined) throw new TricolorError('ERR_USAGE', `invalid value for --strictaffinity: ${quote(sa)} is not a boolean`, { field: 'strictaffinity', value: sa });
    patch.strictAffinity = v;
    printed.push(['StrictAffinity', String(v)]);
  }
  const mb = flagString(p, 'max-blocks-per-host');
  if (mb !== undefined) {
    if (!/^\d+$/.test(mb)) throw new TricolorError('ERR_USAGE', `invalid value for --max-blocks-per-host: ${quote(mb)} is not an integer`, { field: 'max-blocks-per-host', value: mb });
    patch.maxBlocksPerHost = Number(mb);
    printed.push(['MaxBlocksPerHost', mb]);
  }
  const kv = flagString(p, 'kubevirt-ip-persistence');
  if (kv !== undefined) {
    if (kv !== 'Enabled' && kv !== 'Disabled') throw new TricolorError('ERR_USAGE', `invalid value for --kubevirt-ip-persistence: ${quote(kv)} (expected Enabled or Disabled)`, { field: 'kubevirt-ip-persistence', value: kv });
    patch.kubeVirtVMAddressPersistence = kv;
    printed.push(['KubeVirtVMAddressPersistence', kv]);
  }
  const cd = flagString(p, 'ip-cooldown-seconds');
  if (cd !== undefined && cd !== '-1') {
    if (!/^\d+$/.test(cd)) throw new TricolorError('ERR_USAGE', `invalid value for --ip-cooldown-seconds: ${quote(cd)} must be an integer >= 0`, { field: 'ip-cooldown-seconds', value: cd });
    patch.ipCooldownSeconds = Number(cd);
    printed.push(['IPCooldownSeconds', cd]);
  }
  if (printed.length === 0) throw new TricolorError('ERR_USAGE', 'at least one configuration option must be specified');
  await client.setConfig(patch);
  for (const [f, v] of printed) ctx.stdout.write(`Successfully set ${f} to: ${v}\n`);
  return 0;
}

export function makeIPAMCommand(opts: IPAMCommandOptions = {}): Command {
  return {
    name: 'ipam',
    summary: 'IP address management: show, check, release, configure',
    async run(args, ctx) {
      const { parseArgs, flagBool, flagString, CONFIG_FLAG } = await import('../args.ts');
      const [sub, ...rest] = args;
      if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
        ctx.stdout.write(HELP);
        return sub === undefined ? EXIT_USAGE : EXIT_OK;
      }
      const specs: Record<string, import('../args.ts').FlagSpec[]> = {
        show: [CONFIG_FLAG, { name: 'ip', value: true }, { name: 'show-blocks' }, { name: 'show-borrowed' }, { name: 'show-configuration' }],
        check: [CONFIG_FLAG, { name: 'show-all-ips' }, { name: 'show-problem-ips' }, { name: 'output', short: 'o', value: true }, { name: 'kubeconfig', value: true }],
        release: [CONFIG_FLAG, { name: 'ip', value: true }, { name: 'from-report', value: true, repeatable: true }, { name: 'force' }],
        configure: [CONFIG_FLAG, { name: 'strictaffinity', value: true }, { name: 'max-blocks-per-host', value: true }, { name: 'kubevirt-ip-persistence', value: true }, { name: 'ip-cooldown-seconds', value: true }],
      };
      const spec = specs[sub];
      if (spec === undefined) throw new TricolorError('ERR_USAGE', `unknown ipam subcommand ${quote(sub)} (expected show, check, release or configure)`);
      const p = parseArgs(rest, spec);
      if (flagBool(p, 'help')) {
        ctx.stdout.write(HELP);
        return 0;
      }
      if (p.positionals.length > 0) throw new TricolorError('ERR_USAGE', `unexpected argument ${quote(p.positionals[0])}`);
      const backend = await (opts.openBackend ?? defaultOpen)(flagString(p, 'config'), ctx);
      const { IPAMClient } = await import('../../ipam/index.ts');
      const client = new IPAMClient({ backend });
      try {
        if (sub === 'show') return await show(client, p, ctx);
        if (sub === 'check') return await check(client, p, ctx);
        if (sub === 'release') return await release(client, p, ctx);
        return await configure(client, p, ctx);
      } finally {
        if (opts.closeBackend ?? opts.openBackend === undefined) await backend.close();
      }
    },
  };
}

export const command: Command = makeIPAMCommand();
