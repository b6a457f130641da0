// BIRD's render input: this node's blocks as confd sees them, and a rendered configuration that
// originates the confirmed block and meshes with the other nodes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockAffinityEntry } from '../calc/index.ts';
import { BirdInputs, ownBlocks } from './bird-inputs.ts';
import { renderBirdConfig } from './bird-config-renderer.ts';

const V = 'projectcalico.org/v3';
const aff = (host: string, cidr: string, state = 'confirmed', deleted = false): BlockAffinityEntry => ({ host, cidr, state, deleted });
const affs = [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n1', '10.244.1.64/26', 'pending')];

void describe('BIRD input', () => {
  void it('own blocks keep their state; deleted and other nodes dropped', () => {
    const blocks = ownBlocks('n1', [...affs, aff('n1', '10.244.9.0/26', 'confirmed', true), aff('n1', '10.244.8.0/26', '')]);
    assert.deepEqual(blocks, [
      { cidr: '10.244.1.0/26', state: 'confirmed' },
      { cidr: '10.244.1.64/26', state: 'pending' },
      { cidr: '10.244.8.0/26', state: 'confirmed' },
    ]);
  });
  void it('BIRD originates the confirmed block (rendered and exported); a deleted affinity goes', () => {
    const b = new BirdInputs('n1');
    for (const [name, ip] of [['n1', '10.0.0.1/24'], ['n2', '10.0.0.2/24'], ['n3', '10.0.1.3/24']] as const) {
      b.onUpdate({ kind: 'Node', name, value: { apiVersion: V, kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: ip } } } });
    }
    b.onUpdate({ kind: 'IPPool', name: 'p', value: { apiVersion: V, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.244.0.0/16' } } });
    for (const a of affs) b.onUpdate({ kind: 'BlockAffinity', key: `${a.host}/${a.cidr}`, value: a });
    const text = renderBirdConfig(b.renderInput()).text;
    assert.match(text, /route 10\.244\.1\.0\/26 blackhole;/);
    assert.doesNotMatch(text, /10\.244\.2\.0\/26/);
    assert.match(text, /Mesh_10_0_0_2/);
    b.onUpdate({ kind: 'BlockAffinity', key: 'n1/10.244.1.0/26', value: undefined });
    assert.doesNotMatch(renderBirdConfig(b.renderInput()).text, /route 10\.244\.1\.0\/26 blackhole;/);
  });
});
