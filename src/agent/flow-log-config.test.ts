import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowLogConfig } from './io/flow-log-manager.ts';

void test('flow logs follow FelixConfiguration: flowLogsGoldmaneServer turns them on, flowLogsFlushInterval times them', () => {
  assert.equal(flowLogConfig({}), undefined);
  assert.equal(flowLogConfig({ flowLogsGoldmaneServer: '' }), undefined);
  assert.deepEqual(flowLogConfig({ flowLogsGoldmaneServer: 'goldmane.calico-system.svc:7443' }), { server: 'http://goldmane.calico-system.svc:7443', flushIntervalS: 300 });
  assert.deepEqual(flowLogConfig({ flowLogsGoldmaneServer: 'unix:///run/x/flows.sock', flowLogsFlushInterval: '5s' }), { server: 'unix:///run/x/flows.sock', flushIntervalS: 5 });
  assert.deepEqual(flowLogConfig({ flowLogsGoldmaneServer: 'http://127.0.0.1:8081', flowLogsFlushInterval: '1m' }), { server: 'http://127.0.0.1:8081', flushIntervalS: 60 });
});
