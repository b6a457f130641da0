// The CNI skeleton: CNI_* environment + stdin network configuration in, a result or an error
// object out (CNI SPEC "Protocol parameters", "Result", "Error"). It owns version negotiation
// and the output format; plugins implement the five verbs. Kept free of heavy imports: the
// entry points load it for every call, including VERSION.

import { CNI_CODE_BUG, TricolorError } from '../base/index.ts';
import { parseCniVersion, parseStdinJson } from './netconf.ts';
import {
  CNI_CODE_PLUGIN_NOT_AVAILABLE,
  compareVersions,
  errorObject,
  formatResult,
  LATEST_VERSION,
  parseCniEnv,
  SUPPORTED_VERSIONS,
  type CniEnv,
  type CniResult,
  type CniVersion,
} from './spec.ts';

export interface CniRequest {
  readonly env: CniEnv;
  /** The parsed stdin object (network configuration). */
  readonly conf: Readonly<Record<string, unknown>>;
  readonly version: CniVersion;
  /** The whole process environment (for datastore settings and delegated plugins). */
  readonly processEnv: NodeJS.ProcessEnv;
  readonly stdinText: string;
}

export interface CniPlugin {
  add(req: CniRequest): Promise<CniResult>;
  del(req: CniRequest): Promise<void>;
  check(req: CniRequest): Promise<void>;
  gc(req: CniRequest): Promise<void>;
  status(req: CniRequest): Promise<void>;
}

export interface CniIO {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** VERSION output (CNI SPEC "VERSION"). */
export function versionInfo(requested: string | undefined): Record<string, unknown> {
  return { cniVersion: requested !== undefined && requested !== '' ? requested : LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/**
 * Run one CNI invocation. `loadPlugin` is only called for verbs that need it, so VERSION costs
 * nothing beyond this module. Returns the process exit status.
 */
export async function runCni(loadPlugin: () => Promise<CniPlugin>, io: CniIO): Promise<number> {
  let version: string = LATEST_VERSION;
  try {
    // Peek at the requested version first so even an env error is reported in it.
    if (io.env.CNI_COMMAND === 'VERSION') {
      const requested = tryVersion(io.stdin);
      io.stdout(JSON.stringify(versionInfo(requested)) + '\n');
      return 0;
    }
    if (io.stdin.trim() !== '') {
      const peek = tryVersion(io.stdin);
      if (peek !== undefined) version = peek;
    }
    const env = parseCniEnv(io.env);
    const conf = parseStdinJson(io.stdin);
    const cniVersion = parseCniVersion(conf);
    version = cniVersion;
    if ((env.command === 'GC' || env.command === 'STATUS') && compareVersions(cniVersion, '1.1.0') < 0) {
      throw new TricolorError('ERR_CNI_VERSION', `${env.command} needs cniVersion 1.1.0 or later; cniVersion is "${cniVersion}"`, {
        field: 'cniVersion',
        value: cniVersion,
      });
    }
    if (env.command === 'CHECK' && compareVersions(cniVersion, '0.4.0') < 0) {
      throw new TricolorError('ERR_CNI_VERSION', `CHECK needs cniVersion 0.4.0 or later; cniVersion is "${cniVersion}"`, {
        field: 'cniVersion',
        value: cniVersion,
      });
    }
    const req: CniRequest = { env, conf, version: cniVersion, processEnv: io.env, stdinText: io.stdin };
    const plugin = await loadPlugin();
    switch (env.command) {
      case 'ADD': {
        const result = await plugin.add(req);
        io.stdout(JSON.stringify(formatResult(result, cniVersion)) + '\n');
        return 0;
      }
      case 'DEL':
        await plugin.del(req);
        return 0;
      case 'CHECK':
        await plugin.check(req);
        return 0;
      case 'GC':
        await plugin.gc(req);
        return 0;
      case 'STATUS':
        try {
          await plugin.status(req);
        } catch (e) {
          // STATUS failures have their own spec code: 50, "plugin not available".
          const obj = errorObject(e, version);
          io.stdout(JSON.stringify({ ...obj, code: CNI_CODE_PLUGIN_NOT_AVAILABLE }) + '\n');
          return 1;
        }
        return 0;
    }
  } catch (e) {
    const obj = errorObject(e, version);
    io.stdout(JSON.stringify(obj) + '\n');
    if (obj.code === CNI_CODE_BUG) io.stderr(`${obj.details ?? obj.msg}\n`);
    return 1;
  }
  return 0;
}

function tryVersion(stdin: string): string | undefined {
  try {
    const v: unknown = JSON.parse(stdin);
    if (typeof v === 'object' && v !== null && typeof (v as { cniVersion?: unknown }).cniVersion === 'string') {
      return (v as { cniVersion: string }).cniVersion;
    }
  } catch {
    // not JSON: the real parse reports it
  }
  return undefined;
}

/** Read all of stdin (empty when stdin is a TTY or closed). */
export async function readStdin(stream: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<string> {
  if (stream.isTTY === true) return '';
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c));
  return Buffer.concat(chunks).toString('utf8');
}
