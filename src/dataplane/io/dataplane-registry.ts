// Which dataplanes this build can run, and how to make one: the agent asks for the kind
// FelixConfiguration selects (dataplaneKindOf) and gets a Dataplane or a coded error saying the
// kind is not available. A new dataplane registers its factory here (one line beside nft's).

import { TricolorError } from '../../base/index.ts';
import type { Dataplane, DataplaneKind, DataplaneOptions } from '../dataplane.ts';
import { NftDataplane } from '../nft/io/nft-dataplane.ts';
import { BpfDataplane } from '../bpf/io/bpf-dataplane.ts';

export type DataplaneFactory = (opts: DataplaneOptions) => Dataplane;

const factories = new Map<DataplaneKind, DataplaneFactory>([
  ['nft', (o) => new NftDataplane(o)],
  ['bpf', (o) => new BpfDataplane(o)],
]);

/** Make `kind` available (or replace its factory). */
export function registerDataplane(kind: DataplaneKind, factory: DataplaneFactory): void {
  factories.set(kind, factory);
}

export function availableDataplanes(): DataplaneKind[] {
  return [...factories.keys()].sort();
}

/** The FelixConfiguration field that selects each kind, for error messages. */
const SELECTED_BY: Readonly<Record<DataplaneKind, string>> = {
  nft: 'spec.bpfEnabled: false (or unset)',
  bpf: 'spec.bpfEnabled: true',
};

/**
 * Remove what the dataplanes other than `running` leave on a node (a node switched by
 * `bpfEnabled` and restarted). Call it once `running` is in force, so there is no window. eBPF
 * leaves programs on the workload interfaces, its nft table and pins; the nftables dataplane's
 * table is deleted by the eBPF dataplane itself on its first apply.
 */
export async function removeOtherDataplanes(running: DataplaneKind, opts: DataplaneOptions): Promise<void> {
  if (running !== 'bpf') await new BpfDataplane(opts).teardown();
}

/** A new dataplane of `kind`; ERR_VALIDATION naming the selecting field when it is not built in. */
export function createDataplane(kind: DataplaneKind, opts: DataplaneOptions): Dataplane {
  const factory = factories.get(kind);
  if (factory === undefined) {
    throw new TricolorError(
      'ERR_VALIDATION',
      `FelixConfiguration: ${SELECTED_BY[kind]} selects the ${JSON.stringify(kind)} dataplane, which is not available in this build (available: ${availableDataplanes().join(', ')})`,
      { field: kind === 'bpf' ? 'spec.bpfEnabled' : 'spec', value: kind === 'bpf' ? true : kind },
    );
  }
  return factory(opts);
}
