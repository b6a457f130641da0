// Typha: the datastore fanned out to many agents (node contract §6, docs/design/typha.md).
import { AGENT_SELECTION } from '../agent/index.ts';
import type { UpdateSelection } from '../datastore/index.ts';
import { PROXY_SELECTION } from '../proxy/index.ts';
import type { SyncerType } from './protocol.ts';

export * from './protocol.ts';
export * from './typha-config.ts';
export * from './health.ts';

/** What each syncer type serves: the agent's selection, BIRD's routing inputs, the proxy's. */
export const TYPHA_SELECTIONS: Readonly<Record<SyncerType, UpdateSelection>> = {
  felix: AGENT_SELECTION,
  bgp: {
    kinds: [
      { apiVersion: 'projectcalico.org/v3', kind: 'Node' },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration' },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer' },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter' },
      { apiVersion: 'projectcalico.org/v3', kind: 'IPPool' },
    ],
    blockAffinities: true,
  },
  proxy: PROXY_SELECTION,
};
