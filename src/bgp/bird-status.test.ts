// Status parsing and the `calicoctl node status` table, from BIRD replies in both forms.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpPeersFromProtocols, parseBirdProtocols, renderNodeStatus } from './index.ts';
import { isTricolorError } from '../base/index.ts';

const birdc = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     09:14:00
direct1    Direct     ---        up     09:14:00
kernel4    Kernel     master4    up     09:14:00
static4    Static     master4    up     09:14:00
Mesh_10_0_0_12 BGP        ---        up     09:14:02      Established
Global_10_0_0_1_port_1790 BGP        ---        start  2024-05-01    Active        Socket: Connection refused
Node_fd00__9 BGP        ---        start  09:14:00      Connect
`;

const raw = [
  '2002-Name       Proto      Table      State  Since         Info',
  '1002-device1    Device     ---        up     09:14:00  ',
  ' Mesh_10_0_0_12 BGP        ---        up     09:14:02      Established   ',
  ' Node_fd00__9 BGP        ---        start  09:14:00      Connect',
  '0000 ',
].join('\n');

void describe('parseBirdProtocols', () => {
  void test('birdc text', () => {
    const rows = parseBirdProtocols(birdc);
    assert.equal(rows.length, 7);
    assert.deepEqual(rows[5], {
      name: 'Global_10_0_0_1_port_1790',
      proto: 'BGP',
      table: '---',
      state: 'start',
      since: '2024-05-01',
      info: 'Active Socket: Connection refused',
    });
  });

  void test('raw socket reply', () => {
    const rows = parseBirdProtocols(raw);
    assert.deepEqual(rows.map((r) => r.name), ['device1', 'Mesh_10_0_0_12', 'Node_fd00__9']);
    assert.equal(rows[1]?.info, 'Established');
  });

  void test('bad header and error codes are ERR_IO', () => {
    assert.throws(() => parseBirdProtocols('2002-Name Proto Whatever\n0000 '), (e) => isTricolorError(e, 'ERR_IO'));
    assert.throws(() => parseBirdProtocols('8001 Access denied'), (e) => isTricolorError(e, 'ERR_IO'));
  });
});

void describe('bgpPeersFromProtocols', () => {
  void test('keeps only Calico peerings, recovers addresses and types', () => {
    const peers = bgpPeersFromProtocols(parseBirdProtocols(birdc));
    assert.deepEqual(
      peers.map((p) => [p.peerAddress, p.family, p.peerType, p.state, p.info]),
      [
        ['10.0.0.12', 4, 'node-to-node mesh', 'up', 'Established'],
        ['10.0.0.1', 4, 'global', 'start', 'Active Socket: Connection refused'],
        ['fd00::9', 6, 'node specific', 'start', 'Connect'],
      ],
    );
  });
});

void describe('renderNodeStatus', () => {
  void test('calicoctl layout', () => {
    const peers = bgpPeersFromProtocols(parseBirdProtocols(raw)).filter((p) => p.family === 4);
    assert.equal(
      renderNodeStatus({ agentRunning: true, peers }),
      [
        'Calico process is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 10.0.0.12    | node-to-node mesh | up    | 09:14:02 | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
    );
  });

  void test('agent or BIRD not running', () => {
    assert.equal(renderNodeStatus({ agentRunning: false, peers: [] }), 'Calico process is not running.\n');
    assert.equal(
      renderNodeStatus({ agentRunning: true, peers: undefined }),
      'Calico process is running.\n\nThe BGP backend process (BIRD) is not running.\n',
    );
  });
});
