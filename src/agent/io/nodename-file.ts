// The nodename file: calico-node writes its node name to /var/lib/calico/nodename at start-up,
// and the CNI plugin reads it (nodename_file in the network configuration) both to learn the
// node's name and as the sign that the node agent has run on this host. Written atomically
// (base's writeFileAtomic), so a plugin never reads half a name.

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../base/io/index.ts';
import { DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV } from '../../cni/index.ts';

// Calico's path; `--nodename-file` or $CALICO_NODENAME_FILE changes it — never the run dir: the
// file is the contract with the CNI plugin, whose installed configuration names this path.
export { DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV };

export async function writeNodenameFile(path: string, nodeName: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  writeFileAtomic(path, nodeName, { mode: 0o644 });
}
