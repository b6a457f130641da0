// Light Typha clients for the typha benchmark (several hundred per process): each speaks the
// protocol (hello, pong), skips the snapshot frames without decoding them, records when its
// InSync status arrives, and decodes only the deltas, timing the receipt of each marker write
// (`fanout-<i>` policies whose annotation carries the write time, same host clock).
// Prints one JSON line per event on stdout: {c, insyncMs} and {c, marker, latencyMs}.
//
// usage: node typha-clients.lib.ts HOST PORT COUNT

import { connect } from 'node:net';

const [host = '127.0.0.1', portText = '5473', countText = '100'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const out: string[] = [];
const emit = (o: unknown): void => {
  out.push(JSON.stringify(o));
  if (out.length >= 200) process.stdout.write(out.splice(0).join('\n') + '\n');
};
setInterval(() => {
  if (out.length > 0) process.stdout.write(out.splice(0).join('\n') + '\n');
}, 100);

const KVS = Buffer.from('{"t":"kvs"');
const STATUS = Buffer.from('{"t":"status"');
const PING = Buffer.from('{"t":"ping"');

function frame(msg: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(msg));
  const b = Buffer.alloc(4 + body.length);
  b.writeUInt32BE(body.length, 0);
  body.copy(b, 4);
  return b;
}

function client(c: number): void {
  const started = performance.now();
  const sock = connect({ host, port });
  let chunks: Buffer[] = [];
  let have = 0;
  let inSync = false;
  sock.on('connect', () => sock.write(frame({ t: 'hello', syncerType: 'felix', hostname: `bench-${c}`, info: 'bench', version: 1 })));
  sock.on('error', (e) => emit({ c, error: e.message }));
  sock.on('close', () => emit({ c, closed: true }));
  sock.on('data', (d: Buffer) => {
    chunks.push(d);
    have += d.length;
    for (;;) {
      if (have < 4) return;
      let buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      chunks = [buf];
      const n = buf.readUInt32BE(0);
      if (have < 4 + n) return;
      const body = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      chunks = buf.length > 0 ? [buf] : [];
      have = buf.length;
      const starts = (p: Buffer): boolean => body.subarray(0, p.length).equals(p);
      if (starts(KVS)) {
        if (!inSync) continue; // the snapshot: counted by the server, not decoded here
        const now = Date.now();
        const m = JSON.parse(body.toString()) as { kvs: { k: string; v?: string }[] };
        for (const kv of m.kvs) {
          const i = kv.k.lastIndexOf('/fanout-');
          if (i < 0 || kv.v === undefined) continue;
          const t0 = Number((JSON.parse(kv.v) as { metadata: { annotations: { t0: string } } }).metadata.annotations.t0);
          emit({ c, marker: kv.k.slice(i + 1), latencyMs: now - t0 });
        }
      } else if (starts(STATUS)) {
        inSync = true;
        emit({ c, insyncMs: performance.now() - started });
      } else if (starts(PING)) {
        const ts = (JSON.parse(body.toString()) as { ts: number }).ts;
        sock.write(frame({ t: 'pong', ts }));
      }
    }
  });
}

for (let c = 0; c < count; c++) client(c);
