// The nodename file: calico-node writes its node name to /var/lib/calico/nodename at start-up,
// and the CNI plugin reads it (nodename_file in the network configuration) both to learn the
// node's name and as the sign that the node agent has run on this host. Written to a temp name
// and renamed, so a plugin never reads half a name.

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Calico's path; `--nodename-file` or $CALICO_NODENAME_FILE changes it. */
export const DEFAULT_NODENAME_FILE = '/var/lib/calico/nodename';
export const NODENAME_FILE_ENV = 'CALICO_NODENAME_FILE';

export async function writeNodenameFile(path: string, nodeName: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, nodeName, { mode: 0o644 });
  await rename(tmp, path);
}
