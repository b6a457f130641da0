import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceIndex } from './service-index.ts';

const svc = (ns: string, name: string, spec: unknown) => ({ metadata: { name, namespace: ns }, spec });

void describe('service index (the service before DNAT)', () => {
  void it('finds a service by cluster IP, port and protocol; every cluster IP of a dual-stack service', () => {
    const x = new ServiceIndex();
    x.update('shop', 'web', svc('shop', 'web', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20', 'fd00:96::20'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    assert.deepEqual(x.lookup('tcp', '10.96.0.20', 80), { namespace: 'shop', name: 'web', portName: 'http', port: 80 });
    assert.deepEqual(x.lookup('TCP', 'fd00:96::20', 80), { namespace: 'shop', name: 'web', portName: 'http', port: 80 });
    assert.deepEqual(x.lookup('udp', '10.96.0.20', 53)?.portName, 'dns');
    assert.equal(x.lookup('udp', '10.96.0.20', 80), undefined, 'protocol matters');
    assert.equal(x.lookup('tcp', '10.96.0.20', 8080), undefined, 'the target port is not the service port');
    assert.equal(x.lookup('tcp', '10.96.0.20', undefined), undefined);
    assert.equal(x.size, 1);
  });

  void it('an update replaces the old ports and addresses; a delete removes them; headless services have none', () => {
    const x = new ServiceIndex();
    x.update('shop', 'web', svc('shop', 'web', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] }));
    x.update('shop', 'web', svc('shop', 'web', { clusterIP: '10.96.0.21', ports: [{ port: 81 }] }));
    assert.equal(x.lookup('tcp', '10.96.0.20', 80), undefined);
    assert.deepEqual(x.lookup('tcp', '10.96.0.21', 81), { namespace: 'shop', name: 'web', portName: '', port: 81 });
    x.update('shop', 'web', undefined);
    assert.equal(x.lookup('tcp', '10.96.0.21', 81), undefined);
    assert.equal(x.size, 0);
    x.update('shop', 'headless', svc('shop', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] }));
    assert.equal(x.lookup('tcp', 'None', 80), undefined);
  });
});
