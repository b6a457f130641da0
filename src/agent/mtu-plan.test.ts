import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetConf } from '../cni/index.ts';
import { agentMtuFile } from './mtu-plan.ts';

void test('the agent writes the MTU file where the CNI plugin looks by default; only --mtu-file moves it', () => {
  const cniDefault = parseNetConf({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tricolor-cni', mtu: 0 }).mtuFile;
  assert.equal(cniDefault, '/var/lib/calico/mtu');
  assert.equal(agentMtuFile(undefined, (f) => `/cwd/${f}`), cniDefault);
  assert.equal(agentMtuFile('run/mtu', (f) => `/cwd/${f}`), '/cwd/run/mtu');
  assert.equal(agentMtuFile('none', (f) => `/cwd/${f}`), null);
});
