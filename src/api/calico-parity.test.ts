// Parity with Calico: (1) every spec field of every projectcalico.org/v3 kind in Calico's own
// field list (calico-fields.ts) is accepted, and nothing beyond it except the listed extras;
// (2) a sample of Calico's validator and CRD-schema cases gives calicoctl's verdict both ways.

import assert from 'node:assert/strict';
import test from 'node:test';
import { CALICO_SPEC_FIELDS, EXTRA_ACCEPTED_FIELDS } from './calico-fields.ts';
import { KIND_INFOS } from './kinds.ts';
import { CALICO_API_VERSION } from './types.ts';
import { collectValidationErrors, specFieldNames, validateResource } from './validate.ts';

type J = Record<string, unknown>;

void test('every Calico kind Tricolor stores has a field list, and every listed kind is stored', () => {
  const ours = KIND_INFOS.filter((k) => k.apiVersion === CALICO_API_VERSION).map((k) => k.kind).sort();
  assert.deepEqual(Object.keys(CALICO_SPEC_FIELDS).sort(), ours);
});

for (const [kind, calicoFields] of Object.entries(CALICO_SPEC_FIELDS)) {
  void test(`${kind}: the accepted spec fields are Calico's (plus the listed extras)`, () => {
    const ours = specFieldNames(CALICO_API_VERSION, kind);
    assert.ok(ours !== undefined, `${kind} has no spec schema`);
    const missing = calicoFields.filter((f) => !ours.includes(f));
    assert.deepEqual(missing, [], `${kind}: Calico fields Tricolor refuses: ${missing.join(', ')}`);
    const extras = ours.filter((f) => !calicoFields.includes(f)).sort();
    assert.deepEqual(extras, [...(EXTRA_ACCEPTED_FIELDS[kind] ?? [])].sort(), `${kind}: fields accepted beyond Calico's list`);
  });
}

function doc(kind: string, name: string, spec: J, namespace?: string): J {
  return { apiVersion: CALICO_API_VERSION, kind, metadata: namespace === undefined ? { name } : { name, namespace }, spec };
}
const felix = (spec: J): J => doc('FelixConfiguration', 'default', spec);
const wep = (spec: J): J =>
  doc('WorkloadEndpoint', 'n1-k8s-pod1-eth0', { orchestrator: 'k8s', node: 'n1', pod: 'pod1', endpoint: 'eth0', ...spec }, 'ns1');

/** [title, document, undefined = calicoctl accepts | text of the refusal]. */
const CASES: readonly (readonly [string, J, string | undefined])[] = [
  // explicit empty values and empty lists that Calico reads as unset
  ['NetworkPolicy types: []', doc('NetworkPolicy', 'p', { types: [], selector: 'all()' }, 'ns'), undefined],
  ['NetworkPolicy selector ""', doc('NetworkPolicy', 'p', { selector: '' }, 'ns'), undefined],
  ['NetworkPolicy tier ""', doc('NetworkPolicy', 'p', { tier: '' }, 'ns'), undefined],
  ['IPPool ipipMode "" and vxlanMode ""', doc('IPPool', 'p', { cidr: '10.1.0.0/16', ipipMode: '', vxlanMode: '' }), undefined],
  ['IPPool nodeSelector ""', doc('IPPool', 'p', { cidr: '10.1.0.0/16', nodeSelector: '' }), undefined],
  ['BGPPeer node "" with peerSelector', doc('BGPPeer', 'p', { node: '', peerSelector: 'all()', peerIP: '' }), undefined],
  ['FelixConfiguration logSeverityScreen "" and interfacePrefix ""', felix({ logSeverityScreen: '', interfacePrefix: '' }), undefined],
  ['FelixConfiguration failsafeInboundHostPorts: []', felix({ failsafeInboundHostPorts: [] }), undefined],
  ['HostEndpoint profiles: [] with interfaceName', doc('HostEndpoint', 'h', { node: 'n1', interfaceName: 'eth0', profiles: [] }), undefined],
  // `(?i)` patterns in the CRD take any case
  ['Felix chainInsertMode "append"', felix({ chainInsertMode: 'append' }), undefined],
  ['Felix defaultEndpointToHostAction "ACCEPT"', felix({ defaultEndpointToHostAction: 'ACCEPT' }), undefined],
  ['Felix logSeverityScreen "debug"', felix({ logSeverityScreen: 'debug' }), undefined],
  ['Felix bpfExternalServiceMode "dsr"', felix({ bpfExternalServiceMode: 'dsr' }), undefined],
  ['Felix routeSource "workloadips"', felix({ routeSource: 'workloadips' }), undefined],
  // current Calico fields
  [
    'Felix current WireGuard and flow-log fields',
    felix({ wireguardKeepAlive: '25s', wireguardHostEncryptionEnabled: true, wireguardThreadingEnabled: true, wireguardRoutingRulePriority: 99, flowLogsFlushInterval: '15s' }),
    undefined,
  ],
  ['Felix mtuIfacePattern (Calico default)', felix({ mtuIfacePattern: '^((en|wl|ww|sl|ib)[Pcopsx].*|(eth|wlan|wwan).*)' }), undefined],
  ['Felix bpfConntrackTimeouts Auto and durations', felix({ bpfConntrackTimeouts: { tcpFinsSeen: 'Auto', udpTimeout: '60s' } }), undefined],
  ['Felix bpfLogFilters map', felix({ bpfLogFilters: { all: 'tcp port 80' } }), undefined],
  ['Felix goGCThreshold -1', felix({ goGCThreshold: -1 }), undefined],
  ['Felix istioDSCPMark 23', felix({ istioDSCPMark: 23 }), undefined],
  // built-in tiers at their fixed order and action
  ['Tier kube-admin order 1000 Pass', doc('Tier', 'kube-admin', { order: 1000, defaultAction: 'Pass' }), undefined],
  ['Tier default order 1000000 Deny', doc('Tier', 'default', { order: 1_000_000, defaultAction: 'Deny' }), undefined],
  ['Tier kube-baseline order 10000000 Pass', doc('Tier', 'kube-baseline', { order: 10_000_000, defaultAction: 'Pass' }), undefined],
  ['custom Tier with Pass', doc('Tier', 'my-tier', { order: 100, defaultAction: 'Pass' }), undefined],
  ['HostEndpoint with interfaceName and node', doc('HostEndpoint', 'h', { node: 'n1', interfaceName: 'eth0' }), undefined],
  ['BGPPeer localWorkloadSelector with asNumber', doc('BGPPeer', 'p', { localWorkloadSelector: "color == 'red'", asNumber: 65401 }), undefined],
  ['WorkloadEndpoint with interfaceName', wep({ interfaceName: 'cali0123456789a' }), undefined],

  // enums (not `(?i)` patterns) are exact
  ['Felix nftablesMode "auto"', felix({ nftablesMode: 'auto' }), 'spec.nftablesMode: "auto" is not one of'],
  ['Felix floatingIPs "enabled"', felix({ floatingIPs: 'enabled' }), 'spec.floatingIPs: "enabled" is not one of'],
  ['Felix iptablesBackend "nft"', felix({ iptablesBackend: 'nft' }), 'spec.iptablesBackend: "nft" is not one of'],
  ['Felix bpfAttachType "tcx"', felix({ bpfAttachType: 'tcx' }), 'spec.bpfAttachType: "tcx" is not one of'],
  ['IPPool ipipMode "always"', doc('IPPool', 'p', { cidr: '10.1.0.0/16', ipipMode: 'always' }), 'spec.ipipMode: "always" is not one of'],
  ['IPPool vxlanMode "BadMode"', doc('IPPool', 'p', { cidr: '10.1.0.0/16', vxlanMode: 'BadMode' }), 'spec.vxlanMode: "BadMode" is not one of'],
  ['IPPool assignmentMode ""', doc('IPPool', 'p', { cidr: '10.1.0.0/16', assignmentMode: '' }), 'spec.assignmentMode: "" is not one of'],
  ['BGPPeer nextHopMode "Invalid"', doc('BGPPeer', 'p', { nextHopMode: 'Invalid' }), 'spec.nextHopMode: "Invalid" is not one of'],
  ['BGPConfiguration bindMode "nodeip"', doc('BGPConfiguration', 'default', { bindMode: 'nodeip' }), 'spec.bindMode: "nodeip" is not one of'],
  // regular expressions, durations, rate limits
  ['Felix mtuIfacePattern "("', felix({ mtuIfacePattern: '(' }), 'spec.mtuIfacePattern: "(" is not a valid regular expression'],
  ['Felix bpfDataIfacePattern "[a-"', felix({ bpfDataIfacePattern: '[a-' }), 'spec.bpfDataIfacePattern: "[a-" is not a valid regular expression'],
  ['Felix reportingInterval "-5s"', felix({ reportingInterval: '-5s' }), 'spec.reportingInterval: "-5s" is not allowed: a duration must not be negative'],
  ['Felix wireguardKeepAlive "-1s"', felix({ wireguardKeepAlive: '-1s' }), 'spec.wireguardKeepAlive: "-1s" is not allowed'],
  ['Felix routeRefreshInterval ""', felix({ routeRefreshInterval: '' }), 'spec.routeRefreshInterval: "" is not a valid duration'],
  ['Felix logActionRateLimit "0/second"', felix({ logActionRateLimit: '0/second' }), 'spec.logActionRateLimit: "0/second" is not a valid rate limit'],
  ['Felix bpfConntrackTimeouts "soon"', felix({ bpfConntrackTimeouts: { udpTimeout: 'soon' } }), 'spec.bpfConntrackTimeouts.udpTimeout: "soon" is not a valid timer'],
  ['Felix unknown field', felix({ iptablesMagic: true }), 'spec.iptablesMagic: field is not recognized'],
  // required fields and cross-field rules
  ['WorkloadEndpoint without interfaceName', wep({}), 'spec.interfaceName: is required'],
  ['WorkloadEndpoint interfaceName ""', wep({ interfaceName: '' }), 'spec.interfaceName: is required'],
  ['HostEndpoint without interfaceName or expectedIPs', doc('HostEndpoint', 'h', { node: 'n1' }), 'at least one of interfaceName or expectedIPs must be specified'],
  ['HostEndpoint without node', doc('HostEndpoint', 'h', { interfaceName: 'eth0' }), 'node must be specified'],
  ['BGPPeer localWorkloadSelector without asNumber', doc('BGPPeer', 'p', { localWorkloadSelector: "color == 'red'" }), 'spec.asNumber: is required when localWorkloadSelector is set'],
  ['BGPPeer peerSelector with asNumber', doc('BGPPeer', 'p', { peerSelector: 'has(label)', asNumber: 65401 }), 'asNumber must be empty when peerSelector is set'],
  ['ICMP code without type', doc('NetworkPolicy', 'p', { ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { code: 3 } }] }, 'ns'), 'spec.ingress[0].icmp'],
  // built-in admin network policy tiers: any other order or action is refused
  ['Tier default order 100', doc('Tier', 'default', { order: 100, defaultAction: 'Deny' }), 'spec.order: 100 is not allowed'],
  ['Tier default Pass', doc('Tier', 'default', { defaultAction: 'Pass' }), 'spec.defaultAction: "Pass" is not allowed'],
  ['Tier kube-admin order 999', doc('Tier', 'kube-admin', { order: 999, defaultAction: 'Pass' }), 'spec.order: 999 is not allowed'],
  ['Tier kube-admin order 1001', doc('Tier', 'kube-admin', { order: 1001, defaultAction: 'Pass' }), 'spec.order: 1001 is not allowed'],
  ['Tier kube-admin Deny', doc('Tier', 'kube-admin', { order: 1000, defaultAction: 'Deny' }), 'spec.defaultAction: "Deny" is not allowed'],
  ['Tier kube-baseline order 100', doc('Tier', 'kube-baseline', { order: 100, defaultAction: 'Pass' }), 'spec.order: 100 is not allowed'],
  ['Tier kube-baseline without order', doc('Tier', 'kube-baseline', { defaultAction: 'Pass' }), 'spec.order: 1000000 is not allowed'],
];

for (const [title, input, refusal] of CASES) {
  void test(`calicoctl verdict: ${title} → ${refusal === undefined ? 'accepted' : 'refused'}`, () => {
    const errors = collectValidationErrors(structuredClone(input));
    if (refusal === undefined) {
      assert.deepEqual(errors.map((e) => e.message), []);
      return;
    }
    assert.ok(
      errors.some((e) => e.code === 'ERR_VALIDATION' && e.message.includes(refusal)),
      `no error contains ${JSON.stringify(refusal)}; got:\n${errors.map((e) => e.message).join('\n')}`,
    );
  });
}

void test('types: [] is defaulted like an absent list', () => {
  const out = validateResource(doc('NetworkPolicy', 'p', { types: [], egress: [{ action: 'Allow' }] }, 'ns'));
  assert.deepEqual((out.spec as J)['types'], ['Egress']);
});

void test('explicit "" for an omitempty field is stored as unset', () => {
  const out = validateResource(doc('BGPPeer', 'p', { node: '', peerSelector: 'all()' }));
  assert.equal((out.spec as J)['node'], undefined);
});
