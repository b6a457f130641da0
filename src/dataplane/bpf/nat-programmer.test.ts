// The BPF NAT maps' encoding and the service → map-writes planner (pure): session affinity is
// carried in the frontend, affinity entries encode as the program reads them, and a plan that
// removes a backend names exactly the affinity entries that would send a client back to it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeNatAff, decodeNatFe, natAffKey, natAffValue, natFeKey, natFeValue } from './encoding.ts';
import { NatProgrammer, type NatFrontend } from './nat-programmer.ts';

const bytes = (hex: string): number[] => hex.replace(/^hex /, '').split(' ').map((b) => parseInt(b, 16));
const TCP = 6;
const fe = (backends: string[], affinitySecs: number, ip = '10.96.0.10', port = 80): NatFrontend => ({
  ip,
  port,
  protocol: TCP,
  affinitySecs,
  backends: backends.map((b) => ({ ip: b, port: 8080 })),
});

void describe('BPF NAT encoding', () => {
  void it('frontend value: svc, count, affinity seconds, flags (struct nat_fe_val, little-endian u32s)', () => {
    assert.deepEqual(bytes(natFeValue({ svc: 7, count: 2, affinitySecs: 10800 })), [7, 0, 0, 0, 2, 0, 0, 0, 0x30, 0x2a, 0, 0, 0, 0, 0, 0]);
    const d = decodeNatFe(bytes(natFeKey('10.96.0.10', 8080, TCP)), bytes(natFeValue({ svc: 7, count: 2, affinitySecs: 3 })));
    assert.deepEqual(d, { ip: '10.96.0.10', port: 8080, protocol: TCP, svc: 7, count: 2, affinitySecs: 3 });
  });

  void it('affinity key: frontend address, port (network order), protocol, pad, client (struct nat_aff_key, 12 bytes)', () => {
    assert.deepEqual(bytes(natAffKey('10.96.0.10', 8080, TCP, '10.244.1.2')), [10, 96, 0, 10, 0x1f, 0x90, 6, 0, 10, 244, 1, 2]);
  });

  void it('affinity value: timestamp (u64 ns), backend address and port (struct nat_aff_val, 16 bytes); decodes back', () => {
    const v = bytes(natAffValue({ tsNs: 0x0102030405060708n, ip: '10.244.3.4', port: 80 }));
    assert.deepEqual(v, [8, 7, 6, 5, 4, 3, 2, 1, 10, 244, 3, 4, 0, 80, 0, 0]);
    assert.deepEqual(decodeNatAff(bytes(natAffKey('10.96.0.10', 8080, TCP, '10.244.1.2')), v), {
      ip: '10.96.0.10',
      port: 8080,
      protocol: TCP,
      client: '10.244.1.2',
      tsNs: 0x0102030405060708n,
      backendIP: '10.244.3.4',
      backendPort: 80,
    });
  });
});

void describe('NatProgrammer: session affinity', () => {
  const feWrite = (cmds: ReturnType<NatProgrammer['plan']>): number[] => {
    const c = cmds.find((x) => x.map === 'natFe' && x.op === 'update');
    assert.ok(c?.value !== undefined, 'a frontend write');
    return bytes(c.value).slice(8, 12);
  };

  void it('writes the timeout into the frontend; a timeout change alone re-programs it', () => {
    const p = new NatProgrammer();
    assert.deepEqual(feWrite(p.plan([fe(['10.244.0.1', '10.244.0.2'], 3)])), [3, 0, 0, 0]);
    p.commit();
    assert.deepEqual(p.plan([fe(['10.244.0.1', '10.244.0.2'], 3)]), [], 'unchanged: nothing written');
    assert.deepEqual(feWrite(p.plan([fe(['10.244.0.1', '10.244.0.2'], 60)])), [60, 0, 0, 0]);
    p.commit();
    assert.deepEqual(feWrite(p.plan([fe(['10.244.0.1', '10.244.0.2'], 0)])), [0, 0, 0, 0]);
  });

  const entry = (client: string, backend: string, ip = '10.96.0.10', port = 80) => ({ ip, port, protocol: TCP, client, tsNs: 1n, backendIP: backend, backendPort: 8080 });

  void it('after a backend is removed, only the entries pinning clients to it are stale', () => {
    const p = new NatProgrammer();
    p.plan([fe(['10.244.0.1', '10.244.0.2'], 30), fe(['10.244.0.1'], 30, '10.96.0.11')]);
    p.commit();
    assert.equal(p.affinityCleanupDue, false);
    p.plan([fe(['10.244.0.1', '10.244.0.3'], 30), fe(['10.244.0.1'], 30, '10.96.0.11')]);
    assert.equal(p.affinityCleanupDue, false, 'not before the plan is in force');
    p.commit();
    assert.equal(p.affinityCleanupDue, true);
    const stale = p.staleAffinity([entry('10.244.9.1', '10.244.0.1'), entry('10.244.9.2', '10.244.0.2'), entry('10.244.9.3', '10.244.0.1', '10.96.0.11')]);
    assert.deepEqual(stale, [natAffKey('10.96.0.10', 80, TCP, '10.244.9.2')]);
    assert.equal(p.affinityCleanupDue, false);
  });

  void it('a backend added keeps every pin (no cleanup); affinity turned off or the service removed drops them', () => {
    const p = new NatProgrammer();
    p.plan([fe(['10.244.0.1'], 30)]);
    p.commit();
    p.plan([fe(['10.244.0.1', '10.244.0.2'], 30)]);
    p.commit();
    assert.equal(p.affinityCleanupDue, false);
    p.plan([fe(['10.244.0.1', '10.244.0.2'], 0)]);
    p.commit();
    assert.equal(p.affinityCleanupDue, true);
    assert.deepEqual(p.staleAffinity([entry('10.244.9.1', '10.244.0.1')]), [natAffKey('10.96.0.10', 80, TCP, '10.244.9.1')]);
    p.plan([fe(['10.244.0.1'], 30)]);
    p.commit();
    p.plan([]);
    p.commit();
    assert.equal(p.affinityCleanupDue, true);
    assert.equal(p.staleAffinity([entry('10.244.9.1', '10.244.0.1')]).length, 1);
  });

  void it('after adopting the kernel state (restart), every entry is checked once the first plan is in force', () => {
    const p = new NatProgrammer();
    p.adopt([{ ip: '10.96.0.10', port: 80, protocol: TCP, svc: 4, count: 2, affinitySecs: 30 }]);
    p.plan([fe(['10.244.0.1'], 30)]);
    p.commit();
    assert.equal(p.affinityCleanupDue, true);
    assert.deepEqual(p.staleAffinity([entry('10.244.9.1', '10.244.0.1'), entry('10.244.9.2', '10.244.0.2')]), [natAffKey('10.96.0.10', 80, TCP, '10.244.9.2')]);
  });
});
