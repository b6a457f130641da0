import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { generatePrivateKey, hexToKey, isWireGuardKey, keyToHex, parseUAPIGet, publicKeyOf, renderUAPISet, uapiErrno } from './wireguard-uapi.ts';

void test('keys: generated keys are WireGuard keys; the public key matches `wg pubkey`', (t) => {
  const k = generatePrivateKey();
  assert.ok(isWireGuardKey(k));
  const pub = publicKeyOf(k);
  assert.ok(isWireGuardKey(pub));
  assert.notEqual(pub, k);
  const wg = spawnSync('wg', ['pubkey'], { input: `${k}\n` });
  if (wg.status !== 0 || wg.error !== undefined) {
    t.diagnostic('wg (wireguard-tools) not installed: compared with a fixed vector only');
  } else {
    assert.equal(pub, wg.stdout.toString().trim());
  }
  // RFC 7748 §6.1 (Alice): private a → public
  const alicePriv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
  assert.equal(Buffer.from(publicKeyOf(alicePriv), 'base64').toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
});

void test('keys: hex round trip and refusals name the value', () => {
  const k = generatePrivateKey();
  assert.equal(hexToKey(keyToHex(k)), k);
  assert.throws(() => keyToHex('not-a-key', 'peer public key'), /peer public key: "not-a-key" is not a WireGuard key/);
  // 43 base64 characters whose last one carries bits beyond the 32 bytes: not canonical
  assert.equal(isWireGuardKey('A'.repeat(42) + 'B='), false);
  assert.equal(isWireGuardKey('A'.repeat(42) + 'E='), true);
});

void test('UAPI set: device fields, peer removal, allowed IPs replaced, blank line at the end', () => {
  const priv = Buffer.alloc(32, 1).toString('base64');
  const peer = Buffer.alloc(32, 2).toString('base64');
  const gone = Buffer.alloc(32, 3).toString('base64');
  const text = renderUAPISet({
    privateKey: priv,
    listenPort: 51820,
    fwmark: 0x200000,
    peers: [
      { publicKey: gone, remove: true },
      { publicKey: peer, endpoint: '172.31.0.12:51820', keepaliveSeconds: 0, allowedIPs: ['10.244.1.0/26', '10.244.1.0/32'] },
    ],
  });
  assert.equal(
    text,
    [
      'set=1',
      `private_key=${'01'.repeat(32)}`,
      'listen_port=51820',
      'fwmark=2097152',
      `public_key=${'03'.repeat(32)}`,
      'remove=true',
      `public_key=${'02'.repeat(32)}`,
      'endpoint=172.31.0.12:51820',
      'persistent_keepalive_interval=0',
      'replace_allowed_ips=true',
      'allowed_ip=10.244.1.0/26',
      'allowed_ip=10.244.1.0/32',
      '',
      '',
    ].join('\n'),
  );
});

void test('UAPI get: device and peers parsed; errors and cut replies refused', () => {
  const reply = [
    `private_key=${'01'.repeat(32)}`,
    'listen_port=51820',
    'fwmark=2097152',
    `public_key=${'02'.repeat(32)}`,
    'endpoint=172.31.0.12:51820',
    'last_handshake_time_sec=1764915000',
    'last_handshake_time_nsec=5',
    'tx_bytes=244',
    'rx_bytes=124',
    'persistent_keepalive_interval=0',
    'allowed_ip=10.244.1.0/26',
    'protocol_version=1',
    'errno=0',
    '',
    '',
  ].join('\n');
  const st = parseUAPIGet(reply);
  assert.equal(st.privateKey, Buffer.alloc(32, 1).toString('base64'));
  assert.equal(st.listenPort, 51820);
  assert.equal(st.fwmark, 0x200000);
  assert.deepEqual(st.peers, [
    { publicKey: Buffer.alloc(32, 2).toString('base64'), endpoint: '172.31.0.12:51820', lastHandshakeSec: 1764915000, rxBytes: 124, txBytes: 244, keepaliveSeconds: 0, allowedIPs: ['10.244.1.0/26'] },
  ]);
  assert.equal(uapiErrno('errno=-98\n\n'), -98);
  assert.throws(() => parseUAPIGet('listen_port=1\nerrno=-13\n\n'), /errno=-13/);
  assert.throws(() => parseUAPIGet('listen_port=1\n'), /incomplete reply/);
});
