// The agent's status file under its run directory: written atomically (temp file + rename, so a
// reader never sees half a document) and read back by `tricolor node status`.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError } from '../../base/index.ts';
import { writeJsonAtomic } from '../../base/io/index.ts';
import { STATUS_FILE_NAME } from '../agent-status.ts';
import type { AgentStatus } from '../agent-status.ts';

export function statusFilePath(runDir: string): string {
  return join(runDir, STATUS_FILE_NAME);
}

export function writeStatusFile(runDir: string, status: AgentStatus): void {
  mkdirSync(runDir, { recursive: true });
  writeJsonAtomic(statusFilePath(runDir), status);
}

/** The last status written, or undefined when there is none. */
export function readStatusFile(runDir: string): AgentStatus | undefined {
  let text: string;
  try {
    text = readFileSync(statusFilePath(runDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TricolorError('ERR_IO', `cannot read ${statusFilePath(runDir)}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text) as AgentStatus;
  } catch (e) {
    throw new TricolorError('ERR_PARSE', `${statusFilePath(runDir)}: not a status document: ${(e as Error).message}`, { cause: e });
  }
}

/** Whether a process with this pid exists (signal 0 probes without sending anything). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
