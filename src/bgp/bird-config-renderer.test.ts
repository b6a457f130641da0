// Renderer tests: for each representative topology, assert the sessions and the key lines of
// the rendered text, then make real BIRD parse it (`bird -p`), so the text is never only text.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type BirdRenderInput, birdSymbol, computeBirdPeers, durationSeconds, parsePeerIP, renderBirdConfig } from './index.ts';
import { bgpConfig, bgpFilter, bgpPeer, ipPool, node } from './test-fixtures.ts';
import { isTricolorError } from '../base/index.ts';

const haveBird = spawnSync('bird', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'tri-bird-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function birdParses(name: string, text: string): void {
  if (!haveBird) return;
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, text);
  const r = spawnSync('bird', ['-p', '-c', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `bird -p rejected ${name}: ${r.stderr}\n${text}`);
}

const three = [
  node('n1', { ipv4Address: '10.99.0.11/24' }),
  node('n2', { ipv4Address: '10.99.0.12/24' }),
  node('n3', { ipv4Address: '10.99.0.13/24' }),
];
const pool = ipPool('default-ipv4-ippool', '10.244.0.0/16');

function base(nodeName: string, extra: Partial<BirdRenderInput> = {}): BirdRenderInput {
  return {
    nodeName,
    nodes: three,
    bgpConfigurations: [],
    bgpPeers: [],
    bgpFilters: [],
    ipPools: [pool],
    blocks: [{ cidr: `10.244.${nodeName.slice(1)}.0/26`, state: 'confirmed' }],
    ...extra,
  };
}

const rrNodes = [
  node('n1', { ipv4Address: '10.99.0.11/24', routeReflectorClusterID: '224.0.0.1' }, { 'route-reflector': 'true' }),
  node('n2', { ipv4Address: '10.99.0.12/24' }),
  node('n3', { ipv4Address: '10.99.0.13/24' }),
];
const rrPeer = bgpPeer('peer-to-rr', { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' });

interface Case {
  readonly name: string;
  readonly input: BirdRenderInput;
  /** Expected protocol names (sorted). */
  readonly peers: readonly string[];
  readonly contains?: readonly string[];
  readonly lacks?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'mesh of 3, node n1',
    input: base('n1'),
    peers: ['Mesh_10_99_0_12', 'Mesh_10_99_0_13'],
    contains: [
      'router id 10.99.0.11;',
      'local as 64512;',
      'route 10.244.1.0/26 blackhole;',
      'if (net = 10.244.1.0/26) then accept;',
      'if (net ~ [ 10.244.0.0/16+ ]) then accept;',
      'neighbor 10.99.0.12 as 64512;',
      'source address 10.99.0.11;',
      'passive on;',
      'calico_export_to_bgp_peers4(true);',
      'export filter calico_kernel_programming4;',
      'interface -"cali*", -"kube-ipvs*", "*";',
      '# IPv6 disabled on this node.',
    ],
  },
  {
    name: 'mesh of 3, node n3 (highest address initiates everything)',
    input: base('n3'),
    peers: ['Mesh_10_99_0_11', 'Mesh_10_99_0_12'],
    lacks: ['passive on;'],
  },
  {
    name: 'route reflector n1 with clients',
    input: base('n1', { nodes: rrNodes, bgpPeers: [rrPeer] }),
    peers: ['Node_10_99_0_12', 'Node_10_99_0_13'],
    contains: ['rr client;', 'rr cluster id 224.0.0.1;', 'description "BGPPeer peer-to-rr";'],
    lacks: ['Mesh_'],
  },
  {
    name: 'route reflector client n2: meshes with n3, peers with the RR, not meshed with it',
    input: base('n2', { nodes: rrNodes, bgpPeers: [rrPeer] }),
    peers: ['Mesh_10_99_0_13', 'Node_10_99_0_11'],
    lacks: ['rr client;', 'Mesh_10_99_0_11'],
  },
  {
    name: 'mesh off, global and node-specific peers',
    input: base('n2', {
      bgpConfigurations: [bgpConfig('default', { nodeToNodeMeshEnabled: false })],
      bgpPeers: [
        bgpPeer('tor', { peerIP: '10.99.0.1', asNumber: 65000, keepOriginalNextHop: true }),
        bgpPeer('n2-only', { node: 'n2', peerIP: '10.99.0.2:1790', asNumber: 65001, maxRestartTime: '2m' }),
        bgpPeer('n3-only', { node: 'n3', peerIP: '10.99.0.3', asNumber: 65001 }),
        bgpPeer('dup-of-tor', { nodeSelector: 'all()', peerIP: '10.99.0.1', asNumber: 65000 }),
      ],
    }),
    peers: ['Global_10_99_0_1', 'Node_10_99_0_2_port_1790'],
    contains: [
      'neighbor 10.99.0.1 as 65000;',
      'next hop keep;',
      'neighbor 10.99.0.2 port 1790 as 65001;',
      'graceful restart time 120;',
      'calico_export_to_bgp_peers4(false);',
    ],
    lacks: ['Mesh_', '10.99.0.3'],
  },
  {
    name: 'custom AS: global 65100, n2 overrides to 65200, listen port and debug logging',
    input: base('n1', {
      nodes: [three[0]!, node('n2', { ipv4Address: '10.99.0.12/24', asNumber: 65200 }), three[2]!],
      bgpConfigurations: [
        bgpConfig('default', { asNumber: 65100, logSeverityScreen: 'Debug', listenPort: 1790 }),
      ],
    }),
    peers: ['Mesh_10_99_0_12', 'Mesh_10_99_0_13'],
    contains: [
      'local port 1790 as 65100;',
      'neighbor 10.99.0.12 port 1790 as 65200;',
      'neighbor 10.99.0.13 port 1790 as 65100;',
      'debug all;',
    ],
  },
  {
    name: 'dual stack, filters, communities, service advertisement, VXLAN pool',
    input: {
      ...base('n1', {
        nodes: [
          node('n1', { ipv4Address: '10.99.0.11/24', ipv6Address: 'fd00:99::11/64' }),
          node('n2', { ipv4Address: '10.99.0.12/24', ipv6Address: 'fd00:99::12/64' }),
        ],
        bgpConfigurations: [
          bgpConfig('default', {
            serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
            communities: [{ name: 'gold', value: '65000:100' }],
            prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['gold', '65000:1:2'] }],
            bindMode: 'NodeIP',
            logSeverityScreen: 'none',
          }),
        ],
        bgpPeers: [bgpPeer('tor', { peerIP: '10.99.0.1', asNumber: 65000, filters: ['only-pods'], ttlSecurity: 2 })],
        bgpFilters: [
          bgpFilter('only-pods', {
            exportV4: [
              { action: 'Accept', cidr: '10.244.0.0/16', matchOperator: 'In', prefixLength: { max: 26 }, operations: [{ addCommunity: { value: '65000:7' } }, { prependASPath: { prefix: [65000, 65000] } }] },
              { action: 'Reject' },
            ],
            importV4: [{ action: 'Reject', communities: { values: ['65000:666'] }, peerType: 'eBGP' }],
          }),
        ],
        ipPools: [pool, ipPool('v6', 'fd10::/48'), ipPool('vx', '10.250.0.0/16', { vxlanMode: 'Always' })],
        blocks: [{ cidr: '10.244.1.0/26' }, { cidr: 'fd10::/122', state: 'pending' }],
      }),
    },
    peers: ['Global_10_99_0_1', 'Mesh_10_99_0_12', 'Mesh_fd00_99__12'],
    contains: [
      'route 10.96.0.0/12 blackhole;',
      'if (net ~ [ 10.96.0.0/12+ ]) then reject;',
      'bgp_community.add((65000, 100));',
      'bgp_large_community.add((65000, 1, 2));',
      'function bgp_only_pods_',
      'ttl security on;',
      'multihop 2;',
      'strict bind on;',
      'local 10.99.0.11 as 64512;',
      'if (net ~ [ 10.250.0.0/16+ ]) then reject; # VXLAN routes are handled by Felix.',
      'route fd10::/122 blackhole;',
      'neighbor fd00:99::12 as 64512;',
      'ipv6;',
    ],
    lacks: ['if (net = fd10::/122) then accept;', 'debug {'],
  },
];

void describe('renderBirdConfig', () => {
  for (const c of cases) {
    void test(c.name, () => {
      const r = renderBirdConfig(c.input);
      assert.deepEqual(r.peers.map((p) => p.name), c.peers);
      for (const s of c.contains ?? []) assert.ok(r.text.includes(s), `missing ${JSON.stringify(s)} in\n${r.text}`);
      for (const s of c.lacks ?? []) assert.ok(!r.text.includes(s), `unexpected ${JSON.stringify(s)} in\n${r.text}`);
      birdParses(c.name.replace(/\W+/g, '-'), r.text);
    });
  }

  void test('output does not depend on input order', () => {
    const input = cases[4]!.input;
    const shuffled: BirdRenderInput = {
      ...input,
      nodes: [...input.nodes].reverse(),
      bgpPeers: [...input.bgpPeers].reverse(),
      ipPools: [...input.ipPools].reverse(),
      blocks: [...input.blocks].reverse(),
    };
    assert.equal(renderBirdConfig(shuffled).text, renderBirdConfig(input).text);
  });

  void test('mesh is one-directional: exactly one side of every pair is passive', () => {
    const nodes = Array.from({ length: 6 }, (_, i) => node(`n${i}`, { ipv4Address: `10.1.${i % 3}.${100 - i}/16` }));
    const passive = new Map<string, boolean>();
    for (const n of nodes) {
      const me = n.spec!.bgp!.ipv4Address!.split('/')[0]!;
      for (const p of computeBirdPeers({ nodeName: n.metadata.name, nodes, bgpConfigurations: [], bgpPeers: [] }, 4)) {
        passive.set(`${me}>${p.ip}`, p.passive);
      }
    }
    assert.equal(passive.size, 30);
    for (const [k, v] of passive) {
      const [a, b] = k.split('>');
      assert.notEqual(passive.get(`${b}>${a}`), v, k);
    }
  });

  void test('unknown node and missing router id are typed errors', () => {
    assert.throws(() => renderBirdConfig(base('nope')), (e) => isTricolorError(e, 'ERR_NOT_FOUND'));
    const v6only = base('n1', { nodes: [node('n1', { ipv6Address: 'fd00::1/64' })] });
    assert.throws(() => renderBirdConfig(v6only), (e) => isTricolorError(e, 'ERR_VALIDATION') && /ipv4Address/.test(e.message));
    const hashed = renderBirdConfig({ ...v6only, routerId: 'hash' });
    assert.match(hashed.text, /router id \d+\.\d+\.\d+\.\d+;/);
    assert.match(hashed.text, /# IPv4 disabled on this node\./);
    birdParses('v6-only', hashed.text);
  });
});

void describe('helpers', () => {
  void test('parsePeerIP', () => {
    const table: [string, ReturnType<typeof parsePeerIP> | 'error'][] = [
      ['10.0.0.1', { ip: '10.0.0.1', family: 4, port: undefined }],
      ['10.0.0.1:1790', { ip: '10.0.0.1', family: 4, port: 1790 }],
      ['fd00::1', { ip: 'fd00::1', family: 6, port: undefined }],
      ['[fd00::1]:179', { ip: 'fd00::1', family: 6, port: 179 }],
      ['10.0.0.1:0', 'error'],
      ['nonsense', 'error'],
    ];
    for (const [text, want] of table) {
      if (want === 'error') assert.throws(() => parsePeerIP(text), (e) => isTricolorError(e, 'ERR_VALIDATION'), text);
      else assert.deepEqual(parsePeerIP(text), want, text);
    }
  });

  void test('durationSeconds', () => {
    const table: [string, number | 'error'][] = [['120s', 120], ['2m', 120], ['1h30m', 5400], ['1500ms', 2], ['', 'error'], ['5x', 'error']];
    for (const [text, want] of table) {
      if (want === 'error') assert.throws(() => durationSeconds(text, 'f'), (e) => isTricolorError(e, 'ERR_VALIDATION'), text);
      else assert.equal(durationSeconds(text, 'f'), want, text);
    }
  });

  void test('birdSymbol stays within 64 chars and keeps distinct names distinct', () => {
    const long = 'x'.repeat(100);
    const a = birdSymbol('bgp_', long, '_exportFilterV4');
    assert.ok(a.length <= 64);
    assert.notEqual(birdSymbol('bgp_', 'a-b', '_x'), birdSymbol('bgp_', 'a.b', '_x'));
    assert.equal(birdSymbol('bgp_', 'plain', '_x'), 'bgp_plain_x');
  });
});
