import assert from 'node:assert/strict';
import test from 'node:test';
import { CALICO_SPEC_FIELDS } from '../api/calico-fields.ts';
import { validateResource } from '../api/index.ts';
import { FELIX_FIELDS_IN_EFFECT, fieldsNotInEffect } from './felix-fields-in-effect.ts';

void test('every field the agent acts on is a Calico FelixConfiguration field', () => {
  const calico = CALICO_SPEC_FIELDS['FelixConfiguration'] ?? [];
  for (const f of FELIX_FIELDS_IN_EFFECT) assert.ok(calico.includes(f), f);
});

void test('a stored FelixConfiguration reports only the user-set fields the agent ignores', () => {
  const stored = validateResource({
    apiVersion: 'projectcalico.org/v3',
    kind: 'FelixConfiguration',
    metadata: { name: 'default' },
    spec: { wireguardThreadingEnabled: true, flowLogsFlushInterval: '15s', logPrefix: 'x', vxlanVNI: 4097, goMaxProcs: 2 },
  });
  assert.deepEqual(fieldsNotInEffect(stored.spec as Record<string, unknown>), ['goMaxProcs', 'wireguardThreadingEnabled']);
});
