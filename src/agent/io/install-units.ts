// `tricolor install-units`: writes the systemd units and, unless one exists (it holds the
// user's settings), the environment file. Files are written atomically (base's writeFileAtomic).

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../base/io/index.ts';
import { UNITS, renderEnvFile, renderUnit } from '../systemd-units.ts';

export interface InstallUnitsOptions {
  readonly unitDir: string;
  readonly envFile: string;
  readonly nodePath: string;
  readonly cliEntry: string;
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  writeFileAtomic(path, text, { mode });
}

/** Returns what was written, and the environment file when it was kept as it was. */
export async function installUnits(o: InstallUnitsOptions): Promise<{ written: string[]; kept: string[] }> {
  const written: string[] = [];
  const kept: string[] = [];
  for (const u of UNITS) {
    const path = join(o.unitDir, u.name);
    await writeAtomic(path, renderUnit(u, o.nodePath, o.cliEntry, o.envFile), 0o644);
    written.push(path);
  }
  if (existsSync(o.envFile)) kept.push(o.envFile);
  else {
    await writeAtomic(o.envFile, renderEnvFile(), 0o600);
    written.push(o.envFile);
  }
  return { written, kept };
}
