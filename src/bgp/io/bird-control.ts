// Talks to a running BIRD over its control socket (the protocol birdc speaks: one command per
// line; reply lines `CCCC-text` continue, ` text` continues the previous code, `CCCC text`
// ends the reply) and checks configuration files with `bird -p`. No birdc process is needed.

import { exec } from '../../base/io/index.ts';
import { connect } from 'node:net';
import { TricolorError } from '../../base/index.ts';
import { type BGPPeerStatus, bgpPeersFromProtocols, parseBirdProtocols } from '../bird-status.ts';

export interface BirdReply {
  /** The raw reply lines, codes included. */
  readonly lines: readonly string[];
  /** Code of the final line (`0000` ok, `0003` reconfigured, `8xxx`/`9xxx` errors, …). */
  readonly code: string;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Send one command to BIRD and collect its reply. Rejects with ERR_IO / ERR_TIMEOUT. */
export function birdCommand(socketPath: string, command: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<BirdReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let greeted = false;
    const lines: string[] = [];
    const fail = (e: TricolorError) => {
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new TricolorError('ERR_TIMEOUT', `BIRD at ${JSON.stringify(socketPath)} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.on('error', (e) => {
      clearTimeout(timer);
      fail(new TricolorError('ERR_IO', `BIRD control socket ${JSON.stringify(socketPath)}: ${e.message}`, { cause: e }));
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!greeted) {
          if (/^0001 /.test(line)) {
            greeted = true;
            sock.write(`${command}\n`);
          }
          continue;
        }
        lines.push(line);
        const end = /^(\d{4}) /.exec(line);
        if (end !== null) {
          clearTimeout(timer);
          sock.end();
          resolve({ lines, code: end[1] ?? '' });
          return;
        }
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new TricolorError('ERR_IO', `BIRD control socket ${JSON.stringify(socketPath)} closed before the reply ended`));
    });
  });
}

/** `show protocols` parsed into the Calico peerings. */
export async function showBGPPeers(socketPath: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<BGPPeerStatus[]> {
  const reply = await birdCommand(socketPath, 'show protocols', timeoutMs);
  return bgpPeersFromProtocols(parseBirdProtocols(reply.lines.join('\n')));
}

/** `bird -p -c FILE`: throws ERR_VALIDATION with BIRD's own message when the file does not parse. */
export async function checkBirdConfig(configPath: string, birdPath = 'bird'): Promise<void> {
  const r = await exec([birdPath, '-p', '-c', configPath]);
  if (r.status !== 0) throw new TricolorError('ERR_VALIDATION', `BIRD rejects ${JSON.stringify(configPath)}: ${(r.stdout + r.stderr).trim()}`, { value: configPath });
}
