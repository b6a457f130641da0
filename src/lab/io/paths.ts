// Where the lab finds the programs it runs: the repository's entry points (agents, proxies and
// the CNI plugin run from source with the same node binary as the lab itself) and the prober.

import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..', '..');
export const TRICOLOR_BIN = join(REPO, 'bin', 'tricolor.ts');
export const CNI_BIN = join(REPO, 'bin', 'tricolor-cni.ts');
export const PROBER = join(import.meta.dirname, 'prober-main.ts');
/** A pod's UDP server (`node udp-echo-main.ts PORT`). */
export const UDP_ECHO = join(import.meta.dirname, 'udp-echo-main.ts');
