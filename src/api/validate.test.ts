// validateResource / collectValidationErrors: valid documents come back with Calico's defaults,
// invalid ones are refused naming the field path and the value. One case per rule; the rule
// checks of contract §3.4 are labelled V1–V24.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { isTricolorError } from '../base/index.ts';
import {
  BUILTIN_TIERS,
  collectValidationErrors,
  isDeletionForbidden,
  validateAgainstExisting,
  validateResource,
  workloadEndpointName,
  type AnyResource,
  type WorkloadEndpointIdentifiers,
} from './index.ts';

const C = 'projectcalico.org/v3';
type J = Record<string, unknown>;

function doc(kind: string, name: string, spec?: unknown, ns?: string, apiVersion = C): J {
  const d: J = { apiVersion, kind, metadata: ns === undefined ? { name } : { name, namespace: ns } };
  if (spec !== undefined) d['spec'] = spec;
  return d;
}
const gnp = (spec: unknown): J => doc('GlobalNetworkPolicy', 'p', spec);
const np = (spec: unknown): J => doc('NetworkPolicy', 'p', spec, 'ns1');
const gIn = (rule: unknown): J => gnp({ ingress: [rule] });
const gOut = (rule: unknown): J => gnp({ egress: [rule] });
const pool = (spec: unknown): J => doc('IPPool', 'p', spec);

// ---------------------------------------------------------------------------------------------
// Valid documents: [title, input, expected spec (deep-equal) or a predicate on the output]

type Expect = J | ((out: AnyResource) => void);
const valid: [string, J, Expect][] = [
  [
    'Appendix B IPPool',
    doc('IPPool', 'default-ipv4-ippool', { cidr: '192.168.0.0/16', vxlanMode: 'CrossSubnet', natOutgoing: true }),
    {
      cidr: '192.168.0.0/16',
      vxlanMode: 'CrossSubnet',
      natOutgoing: true,
      blockSize: 26,
      ipipMode: 'Never',
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    },
  ],
  [
    'IPPool ipipMode Always',
    pool({ cidr: '10.1.0.0/16', ipipMode: 'Always' }),
    { cidr: '10.1.0.0/16', ipipMode: 'Always', blockSize: 26, vxlanMode: 'Never', nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic' },
  ],
  ['IPPool ipipMode CrossSubnet', pool({ cidr: '10.1.0.0/16', ipipMode: 'CrossSubnet' }), (o) => assert.equal((o.spec as J)['ipipMode'], 'CrossSubnet')],
  ['IPPool vxlanMode Always', pool({ cidr: '10.1.0.0/16', vxlanMode: 'Always' }), (o) => assert.equal((o.spec as J)['vxlanMode'], 'Always')],
  ['IPPool no encapsulation', pool({ cidr: '10.1.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' }), (o) => assert.equal((o.spec as J)['ipipMode'], 'Never')],
  ['IPPool empty mode string means Never', pool({ cidr: '10.1.0.0/16', ipipMode: '' }), (o) => assert.equal((o.spec as J)['ipipMode'], 'Never')],
  [
    'IPv6 pool defaults blockSize 122 and canonicalises the CIDR',
    pool({ cidr: 'FD00:0:0:0::/64' }),
    (o) => {
      assert.equal((o.spec as J)['blockSize'], 122);
      assert.equal((o.spec as J)['cidr'], 'fd00::/64');
    },
  ],
  ['IPPool blockSize 0 means default', pool({ cidr: '10.1.0.0/16', blockSize: 0 }), (o) => assert.equal((o.spec as J)['blockSize'], 26)],
  ['IPPool blockSize 20', pool({ cidr: '10.0.0.0/8', blockSize: 20 }), (o) => assert.equal((o.spec as J)['blockSize'], 20)],
  ['IPPool smaller than block allowed when disabled', pool({ cidr: '10.0.0.0/28', disabled: true }), (o) => assert.equal((o.spec as J)['disabled'], true)],
  ['IPPool LoadBalancer', pool({ cidr: '10.9.0.0/24', allowedUses: ['LoadBalancer'] }), (o) => assert.deepEqual((o.spec as J)['allowedUses'], ['LoadBalancer'])],
  [
    'IPPool namespaceSelector with Workload only',
    pool({ cidr: '10.9.0.0/24', allowedUses: ['Workload'], namespaceSelector: "env == 'prod'" }),
    (o) => assert.equal((o.spec as J)['namespaceSelector'], "env == 'prod'"),
  ],
  ['IPPool assignmentMode Manual', pool({ cidr: '10.1.0.0/16', assignmentMode: 'Manual' }), (o) => assert.equal((o.spec as J)['assignmentMode'], 'Manual')],
  ['Tier security, defaultAction defaulted', doc('Tier', 'security', { order: 100 }), { order: 100, defaultAction: 'Deny' }],
  ['Tier without spec', doc('Tier', 'ops'), { order: 1000000, defaultAction: 'Deny' }],
  ['Tier Pass', doc('Tier', 'ops', { defaultAction: 'Pass' }), { order: 1000000, defaultAction: 'Pass' }],
  ['built-in Tier kube-admin with its fixed settings', doc('Tier', 'kube-admin', { order: 1000, defaultAction: 'Pass' }), { order: 1000, defaultAction: 'Pass' }],
  [
    'Appendix B GlobalNetworkPolicy: types Egress, tier label',
    parse(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec:
  tier: security
  order: 10
  selector: all()
  egress:
    - action: Allow
      protocol: UDP
      destination:
        namespaceSelector: projectcalico.org/name == 'kube-system'
        selector: k8s-app == 'kube-dns'
        ports: [53]
    - action: Pass
`) as J,
    (o) => {
      assert.deepEqual((o.spec as J)['types'], ['Egress']);
      assert.equal(o.metadata.labels?.['projectcalico.org/tier'], 'security');
    },
  ],
  [
    'Appendix B NetworkPolicy: tier default, types Ingress, numeric string port becomes a number',
    parse(`apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: prod}
spec:
  selector: app == 'db'
  ingress:
    - action: Allow
      protocol: TCP
      source: {selector: app == 'api'}
      destination: {ports: ["5432", "9000:9010", "metrics"]}
`) as J,
    {
      selector: "app == 'db'",
      ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'api'" }, destination: { ports: [5432, '9000:9010', 'metrics'] } }],
      tier: 'default',
      types: ['Ingress'],
    },
  ],
  [
    'quickstart default-deny NetworkPolicy',
    doc('NetworkPolicy', 'default-deny', { selector: 'all()', types: ['Ingress', 'Egress'] }, 'policy-demo'),
    { selector: 'all()', types: ['Ingress', 'Egress'], tier: 'default' },
  ],
  [
    'quickstart allow-access NetworkPolicy',
    doc('NetworkPolicy', 'access-nginx', { selector: "app == 'nginx'", ingress: [{ action: 'Allow', source: { selector: "run == 'access'" } }] }, 'policy-demo'),
    (o) => assert.deepEqual((o.spec as J)['types'], ['Ingress']),
  ],
  ['policy with both rule kinds: types Ingress, Egress', gnp({ ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }), (o) => assert.deepEqual((o.spec as J)['types'], ['Ingress', 'Egress'])],
  ['policy with no rules: types Ingress', gnp({}), (o) => assert.deepEqual((o.spec as J)['types'], ['Ingress'])],
  ['empty egress list counts as absent', gnp({ egress: [] }), (o) => assert.deepEqual((o.spec as J)['types'], ['Ingress'])],
  ['explicit types kept', gnp({ types: ['Egress'], ingress: [{ action: 'Allow' }] }), (o) => assert.deepEqual((o.spec as J)['types'], ['Egress'])],
  ['policy name with one dot', doc('NetworkPolicy', 'th.ing', {}, 'ns'), (o) => assert.equal(o.metadata.name, 'th.ing')],
  ['GNP name with one dot (tier-prefixed)', doc('GlobalNetworkPolicy', 'security.allow', { tier: 'security' }), (o) => assert.equal(o.metadata.name, 'security.allow')],
  ['253-character policy name', doc('NetworkPolicy', 'a'.repeat(253), {}, 'ns'), (o) => assert.equal(o.metadata.name.length, 253)],
  ['tier label overwritten with the real tier', { ...gnp({ tier: 't1' }), metadata: { name: 'p', labels: { 'projectcalico.org/tier': 'x', app: 'a' } } }, (o) => assert.deepEqual(o.metadata.labels, { 'projectcalico.org/tier': 't1', app: 'a' })],
  ['rule: TCP ports number, range and name', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: [80, '8080:8090', 'http'] } }), (o) => assert.ok(o)],
  ['rule: named port without protocol (V3)', gIn({ action: 'Allow', destination: { ports: ['http'] } }), (o) => assert.ok(o)],
  ['rule: named notPort without protocol', gIn({ action: 'Allow', source: { notPorts: ['http'] } }), (o) => assert.ok(o)],
  ['rule: protocol 7 with empty port list', gIn({ action: 'Allow', protocol: 7, source: { ports: [] } }), (o) => assert.ok(o)],
  ['rule: ICMPv6 with empty notPorts', gIn({ action: 'Allow', protocol: 'ICMPv6', destination: { notPorts: [] } }), (o) => assert.ok(o)],
  ['rule: SCTP', gIn({ action: 'Allow', protocol: 'SCTP' }), (o) => assert.ok(o)],
  ['rule: ICMP type 8', gIn({ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }), (o) => assert.ok(o)],
  ['rule: protocol number 58 with icmp type/code', gIn({ action: 'Allow', protocol: 58, icmp: { type: 128, code: 0 }, ipVersion: 6 }), (o) => assert.ok(o)],
  ['rule: notICMP with no protocol', gIn({ action: 'Allow', notICMP: { type: 3 } }), (o) => assert.ok(o)],
  ['rule: numeric-string protocol becomes a number', gIn({ action: 'Allow', protocol: '6', destination: { ports: [22] } }), (o) => assert.equal(((o.spec as J)['ingress'] as J[])[0]?.['protocol'], 6)],
  ['rule: HTTP match with no protocol', gIn({ action: 'Allow', http: { methods: ['GET'], paths: [{ exact: '/foo' }, { prefix: '/bar' }] } }), (o) => assert.ok(o)],
  ['rule: HTTP match with TCP', gIn({ action: 'Allow', protocol: 'TCP', http: { methods: ['GET', 'PUT'] } }), (o) => assert.ok(o)],
  ['rule: namespaceSelector "  global()  "', gIn({ action: 'Allow', source: { namespaceSelector: '  global()  ' } }), (o) => assert.ok(o)],
  ['rule: GNP egress destination.services with namespace', gOut({ action: 'Allow', destination: { services: { name: 's', namespace: 'n' } } }), (o) => assert.ok(o)],
  ['rule: NP egress destination.services without namespace', np({ egress: [{ action: 'Allow', destination: { services: { name: 's' } } }] }), (o) => assert.ok(o)],
  ['rule: ingress source.services with source.ports', gIn({ action: 'Allow', protocol: 'TCP', source: { services: { name: 's', namespace: 'n' }, ports: [80] } }), (o) => assert.ok(o)],
  ['rule: IPv6 nets with ipVersion 6', gIn({ action: 'Allow', ipVersion: 6, source: { nets: ['fd00::/8'] }, destination: { notNets: ['fd00:1::/32'] } }), (o) => assert.ok(o)],
  ['rule: bare IP in nets', gIn({ action: 'Allow', source: { nets: ['10.0.0.1'] } }), (o) => assert.ok(o)],
  ['rule: serviceAccounts names and selector', gIn({ action: 'Allow', source: { serviceAccounts: { names: ['api'], selector: "team == 'a'" } } }), (o) => assert.ok(o)],
  ['rule: Log and Pass actions', gIn({ action: 'Log' }), (o) => assert.ok(o)],
  ['rule: metadata annotations', gIn({ action: 'Deny', metadata: { annotations: { 'Reason/Why': 'because' } } }), (o) => assert.ok(o)],
  [
    'GNP preDNAT with applyOnForward',
    gnp({ preDNAT: true, applyOnForward: true, selector: 'has(host)', ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [22] } }] }),
    (o) => assert.deepEqual((o.spec as J)['types'], ['Ingress']),
  ],
  ['GNP doNotTrack with applyOnForward', gnp({ doNotTrack: true, applyOnForward: true, egress: [{ action: 'Allow' }] }), (o) => assert.ok(o)],
  ['GNP namespaceSelector and serviceAccountSelector', gnp({ namespaceSelector: "env == 'prod'", serviceAccountSelector: "role == 'x'" }), (o) => assert.ok(o)],
  ['GNP performanceHints', gnp({ performanceHints: ['AssumeNeededOnEveryNode'] }), (o) => assert.ok(o)],
  ['StagedNetworkPolicy stagedAction defaults to Set', doc('StagedNetworkPolicy', 'p', { selector: 'all()' }, 'ns'), (o) => assert.equal((o.spec as J)['stagedAction'], 'Set')],
  ['StagedGlobalNetworkPolicy Delete with only tier', doc('StagedGlobalNetworkPolicy', 'p', { stagedAction: 'Delete', tier: 'security' }), (o) => assert.equal((o.spec as J)['types'], undefined)],
  [
    'StagedKubernetesNetworkPolicy egress-only gets Ingress, Egress',
    doc('StagedKubernetesNetworkPolicy', 'k', { podSelector: {}, egress: [{}] }, 'ns'),
    (o) => assert.deepEqual((o.spec as J)['policyTypes'], ['Ingress', 'Egress']),
  ],
  ['knp.default.* allowed by the name rule for internal writers', doc('NetworkPolicy', 'knp.default.thing', {}, 'ns'), (o) => assert.ok(o)],
  ['NetworkSet with host bits', doc('NetworkSet', 'ns1', { nets: ['10.0.0.1/24', '192.168.1.1'] }, 'ns'), { nets: ['10.0.0.1/24', '192.168.1.1'] }],
  ['GlobalNetworkSet', doc('GlobalNetworkSet', 'g', { nets: ['fd00::/8'] }), { nets: ['fd00::/8'] }],
  ['IPReservation', doc('IPReservation', 'r', { reservedCIDRs: ['10.0.0.1/30', '10.1.2.3'] }), { reservedCIDRs: ['10.0.0.1/30', '10.1.2.3'] }],
  ['HostEndpoint by interface', doc('HostEndpoint', 'h', { node: 'node1', interfaceName: 'eth0', ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }] }), (o) => assert.ok(o)],
  ['HostEndpoint interface *', doc('HostEndpoint', 'h', { node: 'node1', interfaceName: '*' }), (o) => assert.ok(o)],
  ['HostEndpoint by expectedIPs', doc('HostEndpoint', 'h', { node: 'node1', expectedIPs: ['10.0.0.1', 'fd00::1'], profiles: ['kns.default'] }), (o) => assert.ok(o)],
  ['Profile', doc('Profile', 'kns.default', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }], labelsToApply: { 'pcns.projectcalico.org/name': 'default' } }), (o) => assert.ok(o)],
  [
    'Node',
    doc('Node', 'node-1', { bgp: { ipv4Address: '192.168.10.11/24', ipv4IPIPTunnelAddr: '10.0.0.1', asNumber: '64512' }, ipv4VXLANTunnelAddr: '10.0.0.2', vxlanTunnelMACAddr: '66:55:44:33:22:11', addresses: [{ address: '192.168.10.11', type: 'InternalIP' }] }),
    (o) => assert.equal(((o.spec as J)['bgp'] as J)['asNumber'], 64512),
  ],
  [
    'WorkloadEndpoint with derived name and forced labels',
    doc('WorkloadEndpoint', 'node--1-k8s-web--0-eth0', { node: 'node-1', orchestrator: 'k8s', pod: 'web-0', endpoint: 'eth0', interfaceName: 'cali1234567890a', ipNetworks: ['10.0.0.5/32'], profiles: ['kns.prod', 'ksa.prod.default'], serviceAccountName: 'default', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }, 'prod'),
    (o) =>
      assert.deepEqual(o.metadata.labels, {
        'projectcalico.org/namespace': 'prod',
        'projectcalico.org/orchestrator': 'k8s',
        'projectcalico.org/serviceaccount': 'default',
      }),
  ],
  ['WorkloadEndpoint cni naming', doc('WorkloadEndpoint', 'h-cni-abc123-eth0', { node: 'h', orchestrator: 'cni', containerID: 'abc123', endpoint: 'eth0', interfaceName: 'cali0123456789a' }, 'ns'), (o) => assert.ok(o)],
  ['WorkloadEndpoint ipNATs', doc('WorkloadEndpoint', 'h-cni-abc-eth0', { node: 'h', orchestrator: 'cni', containerID: 'abc', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.5/32'], ipNATs: [{ internalIP: '10.0.0.5', externalIP: '172.16.0.5' }] }, 'ns'), (o) => assert.ok(o)],
  ['BGPConfiguration default', doc('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false, asNumber: '1.10', logSeverityScreen: 'info', serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] }), (o) => assert.equal((o.spec as J)['asNumber'], 65546)],
  ['BGPConfiguration communities used by prefixAdvertisements', doc('BGPConfiguration', 'default', { communities: [{ name: 'c1', value: '64512:100' }], prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c1', '64512:200:300'] }] }), (o) => assert.ok(o)],
  ['BGPConfiguration per node', doc('BGPConfiguration', 'node.n1', { listenPort: 1790, logSeverityScreen: 'Debug' }), (o) => assert.ok(o)],
  ['BGPPeer global', doc('BGPPeer', 'peer1', { peerIP: '192.168.1.1', asNumber: 64567 }), (o) => assert.ok(o)],
  ['BGPPeer with port', doc('BGPPeer', 'peer2', { node: 'n1', peerIP: '[fd00::1]:179', asNumber: '64567', reachableBy: 'fd00::fe' }), (o) => assert.equal((o.spec as J)['asNumber'], 64567)],
  ['BGPPeer peerSelector', doc('BGPPeer', 'rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' }), (o) => assert.ok(o)],
  [
    'BGPFilter',
    doc('BGPFilter', 'f', { exportV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8', prefixLength: { max: 24 }, operations: [{ addCommunity: { value: '64512:1' } }] }], importV6: [{ action: 'Reject', interface: 'eth*' }] }),
    (o) => assert.ok(o),
  ],
  [
    'FelixConfiguration default gets etcd-mode defaults',
    doc('FelixConfiguration', 'default', { logSeverityScreen: 'Info', bpfEnabled: false, iptablesFilterDenyAction: 'Reject', failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }], kubeNodePortRanges: ['30000:32767'], reportingInterval: '30s', routeTableRanges: [{ min: 1, max: 250 }], vxlanVNI: 4096 }),
    (o) => {
      assert.equal((o.spec as J)['floatingIPs'], 'Disabled');
      assert.equal((o.spec as J)['bpfConnectTimeLoadBalancing'], 'TCP');
      assert.equal((o.spec as J)['bpfHostNetworkedNATWithoutCTLB'], 'Enabled');
    },
  ],
  [
    'FelixConfiguration WireGuard fields',
    doc('FelixConfiguration', 'default', { wireguardEnabled: true, wireguardRoutingRulePriority: 99, wireguardKeepAlive: '25s', wireguardHostEncryptionEnabled: false, wireguardThreadingEnabled: true, wireguardInterfaceName: 'wireguard.cali' }),
    (o) => assert.ok(o),
  ],
  ['FelixConfiguration selector-scoped', doc('FelixConfiguration', 'edge', { nodeSelector: "role == 'edge'", logSeverityScreen: 'Debug' }), (o) => assert.ok(o)],
  [
    'KubeControllersConfiguration defaults',
    doc('KubeControllersConfiguration', 'default', { controllers: { node: { syncLabels: 'Enabled', hostEndpoint: { autoCreate: 'Enabled', templates: [{ generateName: 't', interfacePattern: 'eth.*' }] } }, loadBalancer: {} } }),
    (o) => {
      const s = o.spec as J;
      assert.equal(s['prometheusMetricsPort'], 9094);
      const ctl = s['controllers'] as J;
      assert.equal((ctl['node'] as J)['leakGracePeriod'], '15m');
      assert.equal((ctl['loadBalancer'] as J)['assignIPs'], 'AllServices');
      assert.equal((((ctl['node'] as J)['hostEndpoint'] as J)['templates'] as J[])[0]?.['nodeSelector'], 'all()');
    },
  ],
  ['ClusterInformation', doc('ClusterInformation', 'default', { clusterGUID: 'abc', datastoreReady: true, clusterType: 'k8s,bgp' }), (o) => assert.ok(o)],
  ['IPAMConfiguration defaults', doc('IPAMConfiguration', 'default', { maxBlocksPerHost: 4 }), { maxBlocksPerHost: 4, strictAffinity: false, autoAllocateBlocks: true }],
  ['CalicoNodeStatus', doc('CalicoNodeStatus', 's', { node: 'n1', classes: ['Agent', 'BGP'], updatePeriodSeconds: 10 }), (o) => assert.ok(o)],
  ['Namespace gets its name label', doc('Namespace', 'prod', undefined, undefined, 'v1'), (o) => assert.deepEqual(o.metadata.labels, { 'kubernetes.io/metadata.name': 'prod' })],
  [
    'Pod defaults serviceAccountName and port protocol',
    { ...doc('Pod', 'web-1', { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] }] }, 'prod', 'v1'), status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] } },
    (o) => {
      const s = o.spec as J;
      assert.equal(s['serviceAccountName'], 'default');
      assert.equal(((s['containers'] as J[])[0]?.['ports'] as J[])[0]?.['protocol'], 'TCP');
    },
  ],
  ['ServiceAccount', doc('ServiceAccount', 'api', undefined, 'prod', 'v1'), (o) => assert.equal(o.kind, 'ServiceAccount')],
  [
    'Service defaults type, protocol and targetPort',
    doc('Service', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }], clusterIP: '10.96.0.10' }, 'prod', 'v1'),
    { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }], clusterIP: '10.96.0.10', type: 'ClusterIP', sessionAffinity: 'None' },
  ],
  [
    'Service ClientIP affinity defaults its timeout to 10800 s',
    doc('Service', 'web', { selector: { app: 'web' }, ports: [{ port: 80 }], sessionAffinity: 'ClientIP' }, 'prod', 'v1'),
    { selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], type: 'ClusterIP', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } },
  ],
  [
    'Service ClientIP affinity with a timeout',
    doc('Service', 'web', { ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86400 } } }, 'prod', 'v1'),
    (o) => assert.deepEqual((o.spec as J)['sessionAffinityConfig'], { clientIP: { timeoutSeconds: 86400 } }),
  ],
  [
    'Kubernetes NetworkPolicy',
    doc('NetworkPolicy', 'deny', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.3.0/24'] } }, { namespaceSelector: {} }], ports: [{ port: 5432 }, { protocol: 'UDP', port: 32000, endPort: 32768 }] }] }, 'prod', 'networking.k8s.io/v1'),
    (o) => {
      assert.equal(o.apiVersion, 'networking.k8s.io/v1');
      assert.deepEqual((o.spec as J)['policyTypes'], ['Ingress']);
    },
  ],
  ['Kubernetes NetworkPolicy with no spec', doc('NetworkPolicy', 'x', undefined, 'prod', 'networking.k8s.io/v1'), { podSelector: {}, policyTypes: ['Ingress'] }],
  ['labels with prefix and uppercase name part', { ...doc('GlobalNetworkSet', 'g', {}), metadata: { name: 'g', labels: { 'example.com/App_Name': 'Web-1', empty: '' } } }, (o) => assert.ok(o)],
  ['null fields are treated as absent', pool({ cidr: '10.1.0.0/16', natOutgoing: null }), (o) => assert.equal((o.spec as J)['natOutgoing'], undefined)],
  ['server-managed metadata kept', { ...doc('Tier', 't'), metadata: { name: 't', resourceVersion: '12', uid: 'u', creationTimestamp: '2024-01-01T00:00:00Z', generation: 1 } }, (o) => assert.equal(o.metadata.resourceVersion, '12')],
];

for (const [title, input, expect] of valid) {
  void test(`valid: ${title}`, () => {
    const errors = collectValidationErrors(input, { allowReservedNames: true });
    assert.deepEqual(errors.map((e) => e.message), []);
    const out = validateResource(input, { allowReservedNames: true });
    if (typeof expect === 'function') expect(out);
    else assert.deepEqual(out.spec, expect);
    // Round trip: validating the output again changes nothing (defaults are a fixed point).
    assert.deepEqual(validateResource(structuredClone(out), { allowReservedNames: true }), out);
    // The input is never mutated.
    assert.notEqual(out, input);
  });
}

// ---------------------------------------------------------------------------------------------
// Invalid documents: [title, input, substring of one error message (path + value + reason)]

const invalid: [string, unknown, string][] = [
  // envelope
  ['not an object', 'hello', 'document: "hello" is not an object'],
  ['unknown top-level field', { ...pool({ cidr: '10.0.0.0/16' }), extra: 1 }, 'IPPool "p": extra: field is not recognized'],
  ['missing name', { apiVersion: C, kind: 'Tier', metadata: {} }, 'Tier: metadata.name: is required'],
  ['name not a string', { apiVersion: C, kind: 'Tier', metadata: { name: 5 } }, 'metadata.name: 5 is a number, expected a string'],
  ['unknown metadata field', { apiVersion: C, kind: 'Tier', metadata: { name: 't', owner: 'x' } }, 'Tier "t": metadata.owner: field is not recognized'],
  ['namespace on a cluster kind', doc('IPPool', 'p', { cidr: '10.0.0.0/16' }, 'ns'), 'metadata.namespace: "ns" is not allowed: namespace should not be specified for a non-namespaced resource'],
  ['invalid namespace', doc('NetworkPolicy', 'p', {}, 'Prod'), 'metadata.namespace: "Prod" is not a valid namespace'],
  ['spec on a kind without spec', { ...doc('ServiceAccount', 'a', {}, 'ns', 'v1') }, 'ServiceAccount "a": spec: field is not recognized'],
  ['spec not an object', doc('IPPool', 'p', 'x'), 'IPPool "p": spec: "x" is a string, expected an object'],
  // names (§1.3)
  ['uppercase name', doc('IPPool', 'Pool', { cidr: '10.0.0.0/16' }), 'metadata.name: "Pool" is not a valid name'],
  ['name too long', doc('IPPool', 'a'.repeat(254), { cidr: '10.0.0.0/16' }), 'is too long by 1 bytes'],
  ['tier name with a dot', doc('Tier', 'a.b'), 'Tier "a.b": metadata.name: "a.b" is not a valid name'],
  ['tier name 64 chars', doc('Tier', 'a'.repeat(64)), 'is too long by 1 bytes (at most 63)'],
  ['policy name with two dots', doc('NetworkPolicy', 't.h.i.ng', {}, 'ns'), 'metadata.name: "t.h.i.ng" is not a valid policy name'],
  ['GNP name uppercase', doc('GlobalNetworkPolicy', 'tHiNg', {}), 'metadata.name: "tHiNg" is not a valid policy name'],
  ['GNP name with symbols', doc('GlobalNetworkPolicy', 't~!s.h.i.ng', {}), 'is not a valid policy name'],
  ['GNP knp.default.x', doc('GlobalNetworkPolicy', 'knp.default.x', {}), 'metadata.name: "knp.default.x" is not a valid policy name'],
  ['NP name 254 chars', doc('NetworkPolicy', 'a'.repeat(254), {}, 'ns'), 'is too long by 1 bytes'],
  ['Calico NP knp.default.* refused', doc('NetworkPolicy', 'knp.default.thing', {}, 'ns'), 'metadata.name: "knp.default.thing" is reserved: kubernetes network policies must be managed through the kubernetes API'],
  ['KCC name not default', doc('KubeControllersConfiguration', 'other', {}), 'Cannot create a Kube Controllers Configuration resource with a name other than "default"'],
  ['IPAMConfiguration name not default', doc('IPAMConfiguration', 'x', {}), 'Cannot create an IPAMConfiguration resource with a name other than "default"'],
  ['ClusterInformation name not default', doc('ClusterInformation', 'x', {}), 'metadata.name: "x" is not allowed'],
  ['Namespace name with dot', doc('Namespace', 'a.b', undefined, undefined, 'v1'), 'Namespace "a.b": metadata.name: "a.b" is not a valid name'],
  // labels and annotations (§1.4)
  ['label key uppercase prefix', { ...doc('Tier', 't'), metadata: { name: 't', labels: { 'Example.com/x': 'y' } } }, 'metadata.labels["Example.com/x"]: "Example.com/x" is not a valid label key'],
  ['label key two slashes', { ...doc('Tier', 't'), metadata: { name: 't', labels: { 'a/b/c': 'y' } } }, 'is not a valid label key: at most one "/"'],
  ['label name too long', { ...doc('Tier', 't'), metadata: { name: 't', labels: { ['k'.repeat(64)]: 'y' } } }, 'name part must be at most 63 characters'],
  ['label value bad chars', { ...doc('Tier', 't'), metadata: { name: 't', labels: { app: 'a b' } } }, 'metadata.labels.app: "a b" is not a valid label value'],
  ['label value too long', { ...doc('Tier', 't'), metadata: { name: 't', labels: { app: 'v'.repeat(64) } } }, 'is not a valid label value: must be at most 63'],
  ['label value not a string', { ...doc('Tier', 't'), metadata: { name: 't', labels: { app: 5 } } }, 'metadata.labels.app: 5 is a number, expected a string'],
  ['annotation key invalid', { ...doc('Tier', 't'), metadata: { name: 't', annotations: { '-bad': 'x' } } }, 'metadata.annotations["-bad"]: "-bad" is not a valid annotation key'],
  ['annotations too large', { ...doc('Tier', 't'), metadata: { name: 't', annotations: { a: 'x'.repeat(262144) } } }, 'metadata.annotations: total size of annotations is too large by 1 bytes'],
  ['projectcalico.org/namespace label on NetworkSet', { ...doc('NetworkSet', 's', {}, 'ns'), metadata: { name: 's', namespace: 'ns', labels: { 'projectcalico.org/namespace': 'x' } } }, 'projectcalico.org/namespace is not a valid label name'],
  ['projectcalico.org/namespace label on GlobalNetworkSet', { ...doc('GlobalNetworkSet', 's', {}), metadata: { name: 's', labels: { 'projectcalico.org/namespace': 'x' } } }, 'projectcalico.org/namespace is not a valid label name'],
  // IPPool (§2.1)
  ['IPPool cidr missing', pool({}), 'IPPool "p": spec.cidr: is required'],
  ['IPPool cidr /33', pool({ cidr: '10.0.0.0/33' }), 'IPPool "p": spec.cidr: "10.0.0.0/33" is not a valid CIDR'],
  ['IPPool cidr with host bits', pool({ cidr: '10.0.0.1/16' }), 'spec.cidr: "10.0.0.1/16" is not a valid network: host bits are set'],
  ['IPPool cidr too long', pool({ cidr: '0000:0000:0000:0000:0000:ffff:192.168.100.200/128' }), 'is longer than 48 characters'],
  ['IPPool lowercase mode', pool({ cidr: '10.0.0.0/16', ipipMode: 'never' }), 'spec.ipipMode: "never" is not one of Never, Always, CrossSubnet'],
  ['IPPool bad vxlanMode', pool({ cidr: '10.0.0.0/16', vxlanMode: 'Sometimes' }), 'spec.vxlanMode: "Sometimes" is not one of'],
  ['IPPool both encapsulations', pool({ cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'CrossSubnet' }), 'spec.ipipMode: ipipMode and vxlanMode cannot both be enabled'],
  ['IPPool IPv6 with IPIP', pool({ cidr: 'fd00::/64', ipipMode: 'Always' }), 'spec.ipipMode: "Always" is not allowed: IPIP is not supported on an IPv6 pool'],
  ['IPPool v4 blockSize 19', pool({ cidr: '10.0.0.0/8', blockSize: 19 }), 'spec.blockSize: 19 is out of range: IPv4 block size must be between 20 and 32'],
  ['IPPool v4 blockSize 33', pool({ cidr: '10.0.0.0/8', blockSize: 33 }), 'spec.blockSize: 33 is out of range'],
  ['IPPool v6 blockSize 115', pool({ cidr: 'fd00::/48', blockSize: 115 }), 'IPv6 block size must be between 116 and 128'],
  ['IPPool blockSize not integer', pool({ cidr: '10.0.0.0/8', blockSize: 26.5 }), 'spec.blockSize: 26.5 is not an integer'],
  ['IPPool smaller than block', pool({ cidr: '10.0.0.0/28' }), 'spec.cidr: "10.0.0.0/28" is not allowed: IP pool size is too small for use with Calico IPAM'],
  ['IPPool link-local v4', pool({ cidr: '169.254.0.0/24' }), 'overlaps the link-local range 169.254.0.0/16'],
  ['IPPool containing link-local', pool({ cidr: '128.0.0.0/1' }), 'overlaps the link-local range'],
  ['IPPool link-local v6', pool({ cidr: 'fe80::/64' }), 'overlaps the link-local range fe80::/10'],
  ['IPPool unknown use', pool({ cidr: '10.0.0.0/16', allowedUses: ['Workload', 'Bogus'] }), 'spec.allowedUses[1]: "Bogus" is not valid: unknown use: Bogus'],
  ['IPPool duplicate use', pool({ cidr: '10.0.0.0/16', allowedUses: ['Workload', 'Workload'] }), 'spec.allowedUses[1]: "Workload" is specified more than once'],
  ['IPPool LoadBalancer with Workload', pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer', 'Workload'] }), 'LoadBalancer cannot be combined with Workload or Tunnel'],
  ['IPPool LoadBalancer with VXLAN', pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], vxlanMode: 'Always' }), 'a LoadBalancer pool cannot have IPIP or VXLAN enabled'],
  ['IPPool LoadBalancer with disableBGPExport', pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], disableBGPExport: true }), 'spec.disableBGPExport: true is not allowed on a LoadBalancer pool'],
  ['IPPool LoadBalancer with nodeSelector', pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], nodeSelector: 'has(x)' }), 'spec.nodeSelector: "has(x)" is not allowed: a LoadBalancer pool must use nodeSelector "all()"'],
  ['IPPool Tunnel with namespaceSelector', pool({ cidr: '10.0.0.0/16', namespaceSelector: 'all()' }), 'spec.namespaceSelector: "all()" is not allowed on a pool whose allowedUses include Tunnel'],
  ['IPPool global( in nodeSelector', pool({ cidr: '10.0.0.0/16', nodeSelector: 'global()' }), 'spec.nodeSelector: "global()" is not allowed: global()'],
  ['IPPool invalid nodeSelector', pool({ cidr: '10.0.0.0/16', nodeSelector: 'a ==' }), 'spec.nodeSelector: "a ==" is not a valid selector'],
  ['IPPool empty assignmentMode', pool({ cidr: '10.0.0.0/16', assignmentMode: '' }), 'spec.assignmentMode: "" is not one of Automatic, Manual'],
  ['IPPool natOutgoing not boolean', pool({ cidr: '10.0.0.0/16', natOutgoing: 'yes' }), 'spec.natOutgoing: "yes" is a string, expected true or false'],
  ['IPPool unknown spec field', pool({ cidr: '10.0.0.0/16', ipip: { enabled: true } }), 'IPPool "p": spec.ipip: field is not recognized or is in the wrong location'],
  // Tier (§2.3)
  ['Tier bad defaultAction', doc('Tier', 't', { defaultAction: 'Allow' }), 'spec.defaultAction: "Allow" is not one of Deny, Pass'],
  ['Tier order not a number', doc('Tier', 't', { order: 'first' }), 'spec.order: "first" is a string, expected a number'],
  ['built-in tier order changed', doc('Tier', 'default', { order: 5 }), 'Tier "default": spec.order: 5 is not allowed: the order of built-in tier "default" is fixed at 1000000'],
  ['built-in tier action changed', doc('Tier', 'kube-baseline', { defaultAction: 'Deny' }), 'spec.defaultAction: "Deny" is not allowed: the defaultAction of built-in tier "kube-baseline" is fixed at Pass'],
  // policies (§2.4–§2.6, §3.6)
  ['policy tier invalid', gnp({ tier: 'Sec' }), 'spec.tier: "Sec" is not a valid name'],
  ['policy selector invalid', gnp({ selector: 'app = x' }), 'spec.selector: "app = x" is not a valid selector'],
  ['policy selector with global()', gnp({ selector: 'global()' }), 'spec.selector: "global()" is not allowed: global() can only be used in an EntityRule namespaceSelector'],
  ['policy selector too long', gnp({ selector: `a == '${'x'.repeat(1030)}'` }), 'longer than 1024 characters'],
  ['serviceAccountSelector invalid', np({ serviceAccountSelector: '!!' }), 'spec.serviceAccountSelector: "!!" is not a valid selector'],
  ['GNP namespaceSelector with global(', gnp({ namespaceSelector: 'global()' }), 'spec.namespaceSelector: "global()" is not allowed'],
  ['NP has no namespaceSelector field', np({ namespaceSelector: 'all()' }), 'NetworkPolicy "p": spec.namespaceSelector: field is not recognized'],
  ['NP has no doNotTrack', np({ doNotTrack: true }), 'spec.doNotTrack: field is not recognized'],
  ['types duplicated', gnp({ types: ['Ingress', 'Ingress'] }), "spec.types[1]: \"Ingress\" is not allowed: 'Ingress' type specified more than once"],
  ['types unknown', gnp({ types: ['Inbound'] }), 'spec.types[0]: "Inbound" is not one of Ingress, Egress'],
  ['order not a number', gnp({ order: '10' }), 'spec.order: "10" is a string, expected a number'],
  ['performanceHints unknown', gnp({ performanceHints: ['Fast'] }), 'spec.performanceHints[0]: "Fast" is not one of AssumeNeededOnEveryNode'],
  ['preDNAT and doNotTrack', gnp({ preDNAT: true, doNotTrack: true, applyOnForward: true }), 'spec.preDNAT: preDNAT and doNotTrack cannot both be true'],
  ['preDNAT with egress rules', gnp({ preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] }), 'spec.egress: preDNAT policy cannot have any egress rules'],
  ['preDNAT with Egress type', gnp({ preDNAT: true, applyOnForward: true, types: ['Egress'] }), "spec.types: preDNAT policy cannot have 'Egress' type"],
  ['preDNAT without applyOnForward', gnp({ preDNAT: true }), 'spec.applyOnForward: applyOnForward must be true if either preDNAT or doNotTrack is true'],
  ['doNotTrack without applyOnForward', gnp({ doNotTrack: true }), 'applyOnForward must be true if either preDNAT or doNotTrack is true'],
  ['staged Delete with a selector', doc('StagedGlobalNetworkPolicy', 'p', { stagedAction: 'Delete', selector: 'all()' }), 'spec.selector: "all()" is not allowed: Spec fields, except Tier, should all be zero-value if stagedAction is Delete'],
  ['stagedAction unknown', doc('StagedNetworkPolicy', 'p', { stagedAction: 'Maybe' }, 'ns'), 'spec.stagedAction: "Maybe" is not one of Set, Delete, Learn, Ignore'],
  ['SKNP Delete with podSelector', doc('StagedKubernetesNetworkPolicy', 'k', { stagedAction: 'Delete', podSelector: { matchLabels: { a: 'b' } } }, 'ns'), 'spec.podSelector'],
  ['more than 1024 rules (V24)', gnp({ ingress: Array.from({ length: 1025 }, () => ({ action: 'Allow' })) }), 'spec.ingress: has 1025 entries, at most 1024 are allowed'],
  // rules: §3.4
  ['V1 action missing', gIn({ protocol: 'TCP' }), 'spec.ingress[0].action: is required'],
  ['V1 action lowercase', gIn({ action: 'allow' }), 'spec.ingress[0].action: "allow" is not one of Allow, Deny, Log, Pass'],
  ['V1 action empty', gIn({ action: '' }), 'spec.ingress[0].action: is required'],
  ['V1 action allowfoo', gIn({ action: 'allowfoo' }), 'spec.ingress[0].action: "allowfoo"'],
  ['V2 numeric port without protocol', gIn({ action: 'Allow', destination: { ports: [80] } }), 'spec.ingress[0].destination.ports[0]: 80 is not allowed: rules with numeric port or port range must set protocol to TCP or UDP or SCTP'],
  ['V2 port range without protocol', gOut({ action: 'Allow', source: { notPorts: ['http', '1:2'] } }), 'spec.egress[0].source.notPorts[1]: "1:2" is not allowed: rules with numeric port'],
  ['V4 protocol 7 with ports', gIn({ action: 'Allow', protocol: 7, source: { ports: [1] } }), 'spec.ingress[0].protocol: 7 is not allowed with spec.ingress[0].source.ports: rules that specify ports must set protocol to TCP or UDP or SCTP'],
  ['V4 ICMP with named port', gIn({ action: 'Allow', protocol: 'ICMP', destination: { ports: ['http'] } }), 'rules that specify ports must set protocol to TCP or UDP or SCTP'],
  ['V4 UDPLite does not support ports', gIn({ action: 'Allow', protocol: 'UDPLite', destination: { ports: [5] } }), 'spec.ingress[0].protocol: "UDPLite" is not allowed with'],
  ['V5 port 0', gIn({ action: 'Allow', protocol: 'TCP', destination: { notPorts: [0] } }), 'spec.ingress[0].destination.notPorts[0]: 0 is not a valid port: port range invalid, port number must be between 1 and 65535'],
  ['V5 range starting at 0', gIn({ action: 'Allow', protocol: 'TCP', destination: { notPorts: ['0:456'] } }), '"0:456" is not a valid port: port range invalid'],
  ['V5 reversed range', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: ['90:80'] } }), '"90:80" is not a valid port: minimum port number (90) is greater than maximum port number (80) in port range'],
  ['V5 port too large', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: [65536] } }), '65536 is not a valid port: invalid port format'],
  ['V5 port string too large', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: ['70000'] } }), '"70000" is not a valid port: invalid port format'],
  ['V5 invalid named port', gIn({ action: 'Allow', protocol: 'UDP', destination: { notPorts: ['Bad_Name'] } }), 'destination.notPorts[0]: "Bad_Name" is not a valid port name'],
  ['V5 named port too long', gIn({ action: 'Allow', destination: { ports: ['abcdefghijklmnop'] } }), 'must be no more than 15 characters'],
  ['V5 named port double hyphen', gIn({ action: 'Allow', destination: { ports: ['a--b'] } }), 'must not contain consecutive hyphens'],
  ['V5 named port with dash range syntax', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: ['80-90'] } }), '"80-90" is not a valid port name: must contain at least one letter'],
  ['V5 more than 50 ports', gIn({ action: 'Allow', protocol: 'TCP', destination: { ports: Array.from({ length: 51 }, (_, i) => i + 1) } }), 'destination.ports: has 51 entries, at most 50'],
  ['V6 icmp without protocol', gIn({ action: 'Allow', icmp: { type: 8 } }), 'spec.ingress[0].icmp: ICMP fields require protocol to be ICMP or ICMPv6'],
  ['V6 icmp with TCP', gIn({ action: 'Allow', protocol: 'TCP', icmp: { type: 8 } }), 'ICMP fields require protocol to be ICMP or ICMPv6'],
  ['V7 ICMP with ipVersion 6', gIn({ action: 'Allow', protocol: 'ICMP', ipVersion: 6 }), 'spec.ingress[0].ipVersion: 6 is not allowed: protocol ICMP requires ipVersion 4'],
  ['V7 ICMPv6 with ipVersion 4', gIn({ action: 'Allow', protocol: 'ICMPv6', ipVersion: 4 }), 'protocol ICMPv6 requires ipVersion 6'],
  ['V7 notProtocol 1 with ipVersion 6', gIn({ action: 'Allow', notProtocol: 1, ipVersion: 6 }), 'protocol ICMP requires ipVersion 4'],
  ['V8 icmp code without type', gIn({ action: 'Allow', protocol: 'ICMP', icmp: { code: 0 } }), 'spec.ingress[0].icmp.code: ICMP code specified without an ICMP type'],
  ['V8 notICMP code without type', gIn({ action: 'Allow', notICMP: { code: 1 } }), 'spec.ingress[0].notICMP.code: ICMP code specified without an ICMP type'],
  ['V8 icmp type 255', gIn({ action: 'Allow', protocol: 'ICMP', icmp: { type: 255 } }), 'spec.ingress[0].icmp.type: 255 is out of range: must be between 0 and 254'],
  ['V8 icmp code 256', gIn({ action: 'Allow', protocol: 'ICMPv6', icmp: { type: 128, code: 256 } }), 'spec.ingress[0].icmp.code: 256 is out of range: must be between 0 and 255'],
  ['V9 mixed families', gIn({ action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['fd00::/8'] } }), 'spec.ingress[0].destination.nets[0]: "fd00::/8" is not allowed: rule contains both IPv4 and IPv6 CIDRs'],
  ['V10 ipVersion mismatch', gIn({ action: 'Allow', ipVersion: 6, source: { nets: ['10.0.0.0/8'] } }), 'spec.ingress[0].source.nets[0]: "10.0.0.0/8" is not allowed: rule IP version doesn\'t match CIDR version'],
  ['V11 notNets 0.0.0.0/0', gIn({ action: 'Allow', destination: { notNets: ['0.0.0.0/0'] } }), 'spec.ingress[0].destination.notNets[0]: "0.0.0.0/0" is not allowed: catch-all CIDR in negation creates logical contradiction'],
  ['V11 notNets ::/0', gIn({ action: 'Allow', destination: { notNets: ['::/0'] } }), '"::/0" is not allowed: catch-all CIDR'],
  ['V11 notNets 0:0::/0', gIn({ action: 'Allow', destination: { notNets: ['0:0::/0'] } }), '"0:0::/0" is not allowed: catch-all CIDR'],
  ['V12 nets with host bits', gIn({ action: 'Allow', source: { nets: ['10.0.0.1/24'] } }), 'spec.ingress[0].source.nets[0]: "10.0.0.1/24" is not a valid network: host bits are set'],
  ['V12 nets invalid CIDR', gIn({ action: 'Allow', source: { nets: ['10.0.0.0/8', '10.0.0.0/33'] } }), 'spec.ingress[0].source.nets[1]: "10.0.0.0/33" is not a valid CIDR'],
  ['V12 nets too many', gIn({ action: 'Allow', source: { nets: Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) } }), 'source.nets: has 257 entries, at most 256'],
  ['V13 rule selector invalid', gIn({ action: 'Allow', source: { selector: 'a == ' } }), 'spec.ingress[0].source.selector: "a == " is not a valid selector'],
  ['V13 rule notSelector invalid', gIn({ action: 'Allow', source: { notSelector: 'has(' } }), 'spec.ingress[0].source.notSelector: "has(" is not a valid selector'],
  ['V13 rule selector with global()', gIn({ action: 'Allow', source: { selector: '  global()  ' } }), 'spec.ingress[0].source.selector: "  global()  " is not allowed: global() can only be used in an EntityRule namespaceSelector'],
  ['V14 global() combined with &&', gIn({ action: 'Allow', source: { namespaceSelector: ' global() && all()' } }), 'spec.ingress[0].source.namespaceSelector: " global() && all()" is not allowed: global() cannot be combined with other selectors'],
  ['V14 global() combined with ||', gIn({ action: 'Allow', source: { namespaceSelector: 'global()||all()' } }), 'global() cannot be combined with other selectors'],
  ['V14 namespaceSelector invalid', gIn({ action: 'Allow', source: { namespaceSelector: 'x in' } }), 'source.namespaceSelector: "x in" is not a valid selector'],
  ['serviceAccounts selector invalid', gIn({ action: 'Allow', source: { serviceAccounts: { selector: '(' } } }), 'source.serviceAccounts.selector: "(" is not a valid selector'],
  ['V15 services without name', gOut({ action: 'Allow', destination: { services: { namespace: 'n' } } }), 'spec.egress[0].destination.services.name: services must specify a service name'],
  ['V15 services with invalid name', gOut({ action: 'Allow', destination: { services: { name: 'Bad', namespace: 'n' } } }), 'destination.services.name: "Bad" is not a valid name'],
  ['V16 services with selector', gOut({ action: 'Allow', destination: { services: { name: 's', namespace: 'n' }, selector: 'all()' } }), 'spec.egress[0].destination.selector: cannot specify selector and services on the same rule'],
  ['V16 services with nets', gOut({ action: 'Allow', destination: { services: { name: 's', namespace: 'n' }, nets: ['10.0.0.0/8'] } }), 'cannot specify nets and services on the same rule'],
  ['V16 services with namespaceSelector', gIn({ action: 'Allow', source: { services: { name: 's', namespace: 'n' }, namespaceSelector: 'all()' } }), 'cannot specify namespaceSelector and services on the same rule'],
  ['V16 services with serviceAccounts', gIn({ action: 'Allow', source: { services: { name: 's', namespace: 'n' }, serviceAccounts: { names: ['a'] } } }), 'cannot specify serviceAccounts and services'],
  ['V16 services with notSelector', gIn({ action: 'Allow', source: { services: { name: 's', namespace: 'n' }, notSelector: 'has(a)' } }), 'cannot specify notSelector and services'],
  ['V16 services with notNets', gIn({ action: 'Allow', source: { services: { name: 's', namespace: 'n' }, notNets: ['10.0.0.0/8'] } }), 'cannot specify notNets and services'],
  ['V17 destination services with ports', gOut({ action: 'Allow', protocol: 'TCP', destination: { services: { name: 's', namespace: 'n' }, ports: [80] } }), 'spec.egress[0].destination.ports: ports and notPorts cannot be specified with services'],
  ['V17 destination services with notPorts', gOut({ action: 'Allow', protocol: 'TCP', destination: { services: { name: 's', namespace: 'n' }, notPorts: [80] } }), 'destination.notPorts: ports and notPorts cannot be specified with services'],
  ['V18 egress source.services', gOut({ action: 'Allow', source: { services: { name: 's', namespace: 'n' } } }), 'spec.egress[0].source.services: not allowed in egress rule source'],
  ['V18 ingress destination.services', gIn({ action: 'Allow', destination: { services: { name: 's', namespace: 'n' } } }), 'spec.ingress[0].destination.services: not allowed in ingress rule destination'],
  ['V19 GNP services without namespace', gOut({ action: 'Allow', destination: { services: { name: 's' } } }), 'spec.egress[0].destination.services.namespace: must specify a namespace'],
  ['V19 SGNP services without namespace', doc('StagedGlobalNetworkPolicy', 'p', { egress: [{ action: 'Allow', destination: { services: { name: 's' } } }] }), 'destination.services.namespace: must specify a namespace'],
  ['V20 HTTP on Deny', gIn({ action: 'Deny', http: { methods: ['GET'] } }), 'spec.ingress[0].action: "Deny" is not allowed with http: HTTP match is only valid on Allow rules'],
  ['V20 HTTP with UDP', gIn({ action: 'Allow', protocol: 'UDP', http: { methods: ['GET'] } }), 'spec.ingress[0].protocol: "UDP" is not allowed with http: rules with HTTP match must have protocol TCP or unset'],
  ['V20 HTTP in egress', gOut({ action: 'Allow', http: { methods: ['GET'] } }), 'spec.egress[0].http: HTTP match is not allowed in egress rules'],
  ['V21 duplicate methods', gIn({ action: 'Allow', http: { methods: ['GET', 'GET', 'Foo'] } }), 'spec.ingress[0].http.methods[1]: "GET" is not valid: Invalid methods (duplicates)'],
  ['V22 exact and prefix', gIn({ action: 'Allow', http: { paths: [{ exact: '/foo', prefix: '/bar' }] } }), 'spec.ingress[0].http.paths[0]: must specify exactly one of exact or prefix'],
  ['V22 empty path', gIn({ action: 'Allow', http: { paths: [{}] } }), 'http.paths[0]: must specify exactly one of exact or prefix'],
  ['V22 question mark', gIn({ action: 'Allow', http: { paths: [{ exact: '/fo?o' }] } }), 'spec.ingress[0].http.paths[0].exact: "/fo?o" is not a valid HTTP path'],
  ['V22 space', gIn({ action: 'Allow', http: { paths: [{ exact: '/fo o' }] } }), '"/fo o" is not a valid HTTP path'],
  ['V22 hash', gIn({ action: 'Allow', http: { paths: [{ prefix: '/f#oo' }] } }), 'http.paths[0].prefix: "/f#oo" is not a valid HTTP path'],
  ['V22 no leading slash', gIn({ action: 'Allow', http: { paths: [{ exact: 'foo' }] } }), '"foo" is not a valid HTTP path: must start with "/"'],
  ['V23 rule annotation key invalid', gIn({ action: 'Allow', metadata: { annotations: { 'a b': 'x' } } }), 'spec.ingress[0].metadata.annotations["a b"]: "a b" is not a valid annotation key'],
  ['ipVersion 0', gIn({ action: 'Allow', ipVersion: 0 }), 'spec.ingress[0].ipVersion: 0 is not a valid IP version'],
  ['protocol 0', gIn({ action: 'Allow', protocol: 0 }), 'spec.ingress[0].protocol: 0 is not a valid protocol: protocol number invalid'],
  ['protocol "0"', gIn({ action: 'Allow', protocol: '0' }), 'spec.ingress[0].protocol: "0" is not a valid protocol'],
  ['protocol "256"', gIn({ action: 'Allow', protocol: '256' }), 'spec.ingress[0].protocol: "256" is not a valid protocol: protocol name invalid'],
  ['protocol tcp lowercase', gIn({ action: 'Allow', protocol: 'tcp' }), 'spec.ingress[0].protocol: "tcp" is not a valid protocol: protocol name invalid'],
  ['protocol tcpfoo', gIn({ action: 'Allow', notProtocol: 'tcpfoo' }), 'spec.ingress[0].notProtocol: "tcpfoo" is not a valid protocol'],
  ['unknown rule field', gIn({ action: 'Allow', sources: {} }), 'spec.ingress[0].sources: field is not recognized or is in the wrong location'],
  ['unknown entity rule field', gIn({ action: 'Allow', source: { net: ['10.0.0.0/8'] } }), 'spec.ingress[0].source.net: field is not recognized'],
  ['Profile rule checked too', doc('Profile', 'p', { ingress: [{ action: 'Allow', destination: { ports: [80] } }] }), 'Profile "p": spec.ingress[0].destination.ports[0]: 80 is not allowed'],
  ['Profile labelsToApply invalid', doc('Profile', 'p', { labelsToApply: { 'a/b/c': 'x' } }), 'spec.labelsToApply["a/b/c"]'],
  // NetworkSet, IPReservation
  ['NetworkSet invalid net', doc('NetworkSet', 's', { nets: ['10.0.0.0/40'] }, 'ns'), 'spec.nets[0]: "10.0.0.0/40" is not a valid CIDR'],
  ['NetworkSet duplicate net', doc('GlobalNetworkSet', 's', { nets: ['10.0.0.0/8', '10.0.0.0/8'] }), 'spec.nets[1]: "10.0.0.0/8" is specified more than once'],
  ['IPReservation invalid', doc('IPReservation', 'r', { reservedCIDRs: ['nope'] }), 'spec.reservedCIDRs[0]: "nope" is not a valid CIDR'],
  // HostEndpoint (§2.8)
  ['HostEndpoint without node', doc('HostEndpoint', 'h', { interfaceName: 'eth0' }), 'spec.node: node must be specified'],
  ['HostEndpoint without interface or IPs', doc('HostEndpoint', 'h', { node: 'n' }), 'spec: at least one of interfaceName or expectedIPs must be specified'],
  ['HostEndpoint interface too long', doc('HostEndpoint', 'h', { node: 'n', interfaceName: 'interfacetoolong' }), 'spec.interfaceName: "interfacetoolong" is not a valid interface name'],
  ['HostEndpoint expectedIP is a CIDR', doc('HostEndpoint', 'h', { node: 'n', expectedIPs: ['10.0.0.0/24'] }), 'spec.expectedIPs[0]: "10.0.0.0/24" is not a valid IP address'],
  ['HostEndpoint profile invalid', doc('HostEndpoint', 'h', { node: 'n', interfaceName: 'eth0', profiles: ['.fun'] }), 'spec.profiles[0]: ".fun" is not a valid name'],
  ['HostEndpoint port protocol ICMP', doc('HostEndpoint', 'h', { node: 'n', interfaceName: 'eth0', ports: [{ name: 'p', protocol: 'ICMP', port: 1 }] }), 'spec.ports[0].protocol: "ICMP" is not allowed'],
  ['HostEndpoint port 0', doc('HostEndpoint', 'h', { node: 'n', interfaceName: 'eth0', ports: [{ name: 'p', protocol: 'TCP', port: 0 }] }), 'spec.ports[0].port: 0 is not a valid port number'],
  ['HostEndpoint port name invalid', doc('HostEndpoint', 'h', { node: 'n', interfaceName: 'eth0', ports: [{ name: 'P', protocol: 'TCP', port: 1 }] }), 'spec.ports[0].name: "P" is not a valid port name'],
  // Node (§2.10)
  ['Node empty bgp', doc('Node', 'n', { bgp: {} }), 'spec.bgp: Spec.BGP should not be empty'],
  ['Node ipv4Address without prefix', doc('Node', 'n', { bgp: { ipv4Address: '10.0.0.1' } }), 'spec.bgp.ipv4Address: "10.0.0.1" is not a valid IPv4 address with prefix length'],
  ['Node ipv6Address given IPv4', doc('Node', 'n', { bgp: { ipv6Address: '10.0.0.1/24' } }), 'spec.bgp.ipv6Address: "10.0.0.1/24" is not a valid IPv6 address'],
  ['Node asNumber asdot out of range', doc('Node', 'n', { bgp: { asNumber: '70000.1' } }), 'spec.bgp.asNumber: "70000.1" is not a valid AS number'],
  ['Node bad MAC', doc('Node', 'n', { vxlanTunnelMACAddr: 'zz:zz' }), 'spec.vxlanTunnelMACAddr: "zz:zz" is not a valid MAC address'],
  ['Node address type unknown', doc('Node', 'n', { addresses: [{ address: '10.0.0.1', type: 'Public' }] }), 'spec.addresses[0].type: "Public" is not one of'],
  ['Node tunnel address family', doc('Node', 'n', { ipv4VXLANTunnelAddr: 'fd00::1' }), 'spec.ipv4VXLANTunnelAddr: "fd00::1" is not a valid IPv4 address'],
  // WorkloadEndpoint (§2.11)
  ['WEP name mismatch', doc('WorkloadEndpoint', 'wrong', { node: 'node-1', orchestrator: 'k8s', pod: 'web-0', endpoint: 'eth0', interfaceName: 'cali0123456789a' }, 'ns'), 'metadata.name: "wrong" does not match: the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name node--1-k8s-web--0-eth0'],
  ['WEP missing node', doc('WorkloadEndpoint', 'x', { orchestrator: 'k8s', pod: 'p', endpoint: 'eth0', interfaceName: 'cali0123456789a' }, 'ns'), 'spec.node: is required to identify the WorkloadEndpoint'],
  ['WEP ipNetwork not a single address', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.0/24'] }, 'ns'), 'spec.ipNetworks[0]: "10.0.0.0/24" is not allowed: each ipNetwork must be a single address'],
  ['WEP NAT not in ipNetworks', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.5/32'], ipNATs: [{ internalIP: '10.0.0.6', externalIP: '1.2.3.4' }] }, 'ns'), 'spec.ipNATs[0].internalIP: "10.0.0.6" is not allowed: it is not one of the ipNetworks'],
  ['WEP NAT family mismatch', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.5/32'], ipNATs: [{ internalIP: '10.0.0.5', externalIP: 'fd00::1' }] }, 'ns'), 'spec.ipNATs[0].externalIP: "fd00::1" is not allowed: it is not the same IP family'],
  ['WEP gateway family', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipv4Gateway: 'fd00::1' }, 'ns'), 'spec.ipv4Gateway: "fd00::1" is not a valid IPv4 address'],
  ['WEP containerID with dot', doc('WorkloadEndpoint', 'x', { node: 'h', orchestrator: 'cni', containerID: 'a.b', endpoint: 'eth0', interfaceName: 'cali0123456789a' }, 'ns'), 'spec.containerID: "a.b" is not a valid container ID'],
  ['WEP interface name 16 chars', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789ab' }, 'ns'), 'spec.interfaceName: "cali0123456789ab" is not a valid interface name'],
  ['WEP port without name or hostPort', doc('WorkloadEndpoint', 'h-cni-a-eth0', { node: 'h', orchestrator: 'cni', containerID: 'a', endpoint: 'eth0', interfaceName: 'cali0123456789a', ports: [{ protocol: 'TCP', port: 80 }] }, 'ns'), 'spec.ports[0].name: is required unless hostPort is set'],
  // BGPConfiguration (§2.12)
  ['BGPConfiguration default-only field on node config', doc('BGPConfiguration', 'node.n1', { asNumber: 64512 }), 'spec.asNumber: Cannot set asNumber on a non default BGP Configuration.'],
  ['BGPConfiguration mesh field on node config', doc('BGPConfiguration', 'node.n1', { nodeToNodeMeshEnabled: true }), 'Cannot set nodeToNodeMeshEnabled on a non default BGP Configuration.'],
  ['BGPConfiguration bad log severity', doc('BGPConfiguration', 'default', { logSeverityScreen: 'Verbose' }), 'spec.logSeverityScreen: "Verbose" is not one of Trace, Debug, Info, Warning, Error, Fatal'],
  ['BGPConfiguration communities unused', doc('BGPConfiguration', 'default', { communities: [{ name: 'c', value: '1:2' }] }), 'spec.communities: communities are defined but not used in prefixAdvertisements'],
  ['BGPConfiguration bad community value', doc('BGPConfiguration', 'default', { communities: [{ name: 'c', value: '70000:1' }], prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c'] }] }), 'spec.communities[0].value: "70000:1" is not a valid BGP community'],
  ['BGPConfiguration undefined community name', doc('BGPConfiguration', 'default', { prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['nope'] }] }), 'spec.prefixAdvertisements[0].communities[0]: "nope" is neither a community value nor a name'],
  ['BGPConfiguration serviceClusterIPs host bits', doc('BGPConfiguration', 'default', { serviceClusterIPs: [{ cidr: '10.96.0.1/12' }] }), 'spec.serviceClusterIPs[0].cidr: "10.96.0.1/12" is not a valid network'],
  ['BGPConfiguration listenPort 0', doc('BGPConfiguration', 'default', { listenPort: 0 }), 'spec.listenPort: 0 is not a valid port number'],
  ['BGPConfiguration ignoredInterfaces *', doc('BGPConfiguration', 'default', { ignoredInterfaces: ['*'] }), 'spec.ignoredInterfaces[0]: "*" is not a valid interface pattern'],
  ['BGPConfiguration mesh password without mesh', doc('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '120s' }), 'spec.nodeMeshMaxRestartTime: requires the node-to-node mesh to be enabled'],
  ['BGPConfiguration bad duration', doc('BGPConfiguration', 'default', { nodeMeshMaxRestartTime: '2 minutes' }), 'spec.nodeMeshMaxRestartTime: "2 minutes" is not a valid duration'],
  ['BGPConfiguration route priority 0', doc('BGPConfiguration', 'default', { ipv4NormalRoutePriority: 0 }), 'spec.ipv4NormalRoutePriority: 0 is out of range'],
  // BGPPeer (§2.13)
  ['BGPPeer node and nodeSelector', doc('BGPPeer', 'b', { node: 'n', nodeSelector: 'all()', peerIP: '1.2.3.4', asNumber: 1 }), 'spec.nodeSelector: cannot be set together with node'],
  ['BGPPeer peerIP and peerSelector', doc('BGPPeer', 'b', { peerIP: '1.2.3.4', peerSelector: 'all()' }), 'spec.peerSelector: cannot be set together with peerIP'],
  ['BGPPeer asNumber with peerSelector', doc('BGPPeer', 'b', { peerSelector: 'all()', asNumber: 64512 }), 'spec.asNumber: 64512 is not allowed: asNumber must be empty when peerSelector is set'],
  ['BGPPeer bad peerIP', doc('BGPPeer', 'b', { peerIP: '1.2.3.4:0', asNumber: 1 }), 'spec.peerIP: "1.2.3.4:0" is not a valid peer IP'],
  ['BGPPeer IPv6 with port unbracketed', doc('BGPPeer', 'b', { peerIP: 'fd00::1:179x', asNumber: 1 }), 'is not a valid peer IP'],
  ['BGPPeer reachableBy without peerIP', doc('BGPPeer', 'b', { peerSelector: 'all()', reachableBy: '10.0.0.1' }), 'spec.reachableBy: requires peerIP'],
  ['BGPPeer reachableBy family', doc('BGPPeer', 'b', { peerIP: '10.0.0.1', asNumber: 1, reachableBy: 'fd00::1' }), 'spec.reachableBy: "fd00::1" is not allowed: it must be the same IP family as peerIP'],
  ['BGPPeer localWorkloadSelector needs asNumber', doc('BGPPeer', 'b', { localWorkloadSelector: 'all()' }), 'spec.asNumber: is required when localWorkloadSelector is set'],
  ['BGPPeer keepOriginalNextHop with nextHopMode', doc('BGPPeer', 'b', { keepOriginalNextHop: true, nextHopMode: 'Self' }), 'spec.keepOriginalNextHop: cannot be set together with nextHopMode'],
  ['BGPPeer bad nextHopMode', doc('BGPPeer', 'b', { nextHopMode: 'self' }), 'spec.nextHopMode: "self" is not one of Auto, Self, Keep'],
  ['BGPPeer bad asNumber', doc('BGPPeer', 'b', { peerIP: '10.0.0.1', asNumber: 'abc' }), 'spec.asNumber: "abc" is not a valid AS number'],
  // BGPFilter (§2.14)
  ['BGPFilter without action', doc('BGPFilter', 'f', { exportV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In' }] }), 'spec.exportV4[0].action: is required'],
  ['BGPFilter cidr without matchOperator', doc('BGPFilter', 'f', { exportV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] }), 'spec.exportV4[0].matchOperator: cidr and matchOperator must be set together'],
  ['BGPFilter v6 cidr in V4 list', doc('BGPFilter', 'f', { importV4: [{ action: 'Accept', cidr: 'fd00::/8', matchOperator: 'In' }] }), 'spec.importV4[0].cidr: "fd00::/8" is not an IPv4 CIDR'],
  ['BGPFilter prefixLength out of range', doc('BGPFilter', 'f', { exportV4: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In', prefixLength: { max: 33 } }] }), 'spec.exportV4[0].prefixLength.max: 33 is out of range'],
  ['BGPFilter operations on Reject', doc('BGPFilter', 'f', { exportV4: [{ action: 'Reject', operations: [{ setPriority: { value: 5 } }] }] }), 'spec.exportV4[0].operations: are only allowed when action is Accept'],
  ['BGPFilter operation with two settings', doc('BGPFilter', 'f', { exportV4: [{ action: 'Accept', operations: [{ setPriority: { value: 5 }, addCommunity: { value: '1:1' } }] }] }), 'spec.exportV4[0].operations[0]: must set exactly one of'],
  ['BGPFilter bad source', doc('BGPFilter', 'f', { exportV6: [{ action: 'Accept', source: 'Local' }] }), 'spec.exportV6[0].source: "Local" is not one of RemotePeers'],
  // FelixConfiguration (§2.15)
  ['Felix bad log severity', doc('FelixConfiguration', 'default', { logSeverityScreen: 'Loud' }), 'spec.logSeverityScreen: "Loud" is not one of'],
  ['Felix bad nftablesMode', doc('FelixConfiguration', 'default', { nftablesMode: 'On' }), 'spec.nftablesMode: "On" is not one of Disabled, Enabled, Auto'],
  ['Felix bad defaultEndpointToHostAction', doc('FelixConfiguration', 'default', { defaultEndpointToHostAction: 'Reject' }), 'spec.defaultEndpointToHostAction: "Reject" is not one of Drop, Accept, Return'],
  ['Felix failsafe ICMP', doc('FelixConfiguration', 'default', { failsafeInboundHostPorts: [{ protocol: 'ICMP', port: 1 }] }), 'spec.failsafeInboundHostPorts[0].protocol: "ICMP" is not allowed'],
  ['Felix kubeNodePortRanges named', doc('FelixConfiguration', 'default', { kubeNodePortRanges: ['http'] }), 'spec.kubeNodePortRanges[0]: "http" is not a valid port: must be a number or a range'],
  ['Felix kubeNodePortRanges too many', doc('FelixConfiguration', 'default', { kubeNodePortRanges: [1, 2, 3, 4, 5, 6, 7, 8] }), 'spec.kubeNodePortRanges: has 8 entries, at most 7'],
  ['Felix natOutgoingAddress IPv6', doc('FelixConfiguration', 'default', { natOutgoingAddress: 'fd00::1' }), 'spec.natOutgoingAddress: "fd00::1" is not a valid IPv4 address'],
  ['Felix both routeTableRange fields', doc('FelixConfiguration', 'default', { routeTableRange: { min: 1, max: 250 }, routeTableRanges: [{ min: 1, max: 250 }] }), 'spec.routeTableRanges: cannot be set together with routeTableRange'],
  ['Felix routeTableRange above 250', doc('FelixConfiguration', 'default', { routeTableRange: { min: 1, max: 251 } }), 'spec.routeTableRange.max: 251 is out of range'],
  ['Felix routeTableRanges too many tables', doc('FelixConfiguration', 'default', { routeTableRanges: [{ min: 1, max: 70000 }] }), 'spec.routeTableRanges: cover 70000 tables, at most 65535'],
  ['Felix wireguard port 0', doc('FelixConfiguration', 'default', { wireguardListeningPort: 0 }), 'spec.wireguardListeningPort: 0 is not a valid port number'],
  ['Felix wireguard rule priority 32766', doc('FelixConfiguration', 'default', { wireguardRoutingRulePriority: 32766 }), 'spec.wireguardRoutingRulePriority: 32766 is out of range'],
  ['Felix wireguard keepalive not a duration', doc('FelixConfiguration', 'default', { wireguardKeepAlive: '25' }), 'spec.wireguardKeepAlive: "25" is not a valid duration'],
  ['Felix logPrefix bad chars', doc('FelixConfiguration', 'default', { logPrefix: 'a;b' }), 'spec.logPrefix: "a;b" is not a valid log prefix'],
  ['Felix bad duration', doc('FelixConfiguration', 'default', { reportingInterval: '30' }), 'spec.reportingInterval: "30" is not a valid duration'],
  ['Felix externalNodesList IPv6', doc('FelixConfiguration', 'default', { externalNodesList: ['fd00::/8'] }), 'spec.externalNodesList[0]: "fd00::/8" is not an IPv4 CIDR'],
  ['Felix nodeSelector on default', doc('FelixConfiguration', 'default', { nodeSelector: 'all()' }), 'spec.nodeSelector: is only allowed on a FelixConfiguration named other than'],
  ['Felix other name without nodeSelector', doc('FelixConfiguration', 'edge', {}), 'spec.nodeSelector: is required on a FelixConfiguration not named'],
  ['Felix unknown field', doc('FelixConfiguration', 'default', { iptablesMagic: true }), 'spec.iptablesMagic: field is not recognized'],
  ['Felix vxlanVNI too large', doc('FelixConfiguration', 'default', { vxlanVNI: 16777216 }), 'spec.vxlanVNI: 16777216 is out of range'],
  // KubeControllersConfiguration, IPAMConfiguration, CalicoNodeStatus
  ['KCC template without interface', doc('KubeControllersConfiguration', 'default', { controllers: { node: { hostEndpoint: { templates: [{ generateName: 't' }] } } } }), 'spec.controllers.node.hostEndpoint.templates[0]: at least one of interfaceCIDRs or interfacePattern'],
  ['KCC duplicate template names', doc('KubeControllersConfiguration', 'default', { controllers: { node: { hostEndpoint: { templates: [{ generateName: 't', interfacePattern: 'x' }, { generateName: 't', interfacePattern: 'y' }] } } } }), 'templates[1].generateName: "t" is specified more than once'],
  ['KCC bad assignIPs', doc('KubeControllersConfiguration', 'default', { controllers: { loadBalancer: { assignIPs: 'Some' } } }), 'spec.controllers.loadBalancer.assignIPs: "Some" is not one of'],
  ['IPAMConfiguration maxBlocksPerHost too large', doc('IPAMConfiguration', 'default', { maxBlocksPerHost: 1000001 }), 'spec.maxBlocksPerHost: 1000001 is out of range'],
  ['IPAMConfiguration ipCooldownSeconds too large', doc('IPAMConfiguration', 'default', { ipCooldownSeconds: 1201 }), 'spec.ipCooldownSeconds: 1201 is out of range'],
  ['CalicoNodeStatus missing classes', doc('CalicoNodeStatus', 's', { node: 'n' }), 'spec.classes: is required'],
  ['CalicoNodeStatus duplicate class', doc('CalicoNodeStatus', 's', { node: 'n', classes: ['BGP', 'BGP'] }), 'spec.classes[1]: "BGP" is specified more than once'],
  // Kubernetes kinds
  ['Pod without containers', doc('Pod', 'p', { nodeName: 'n' }, 'ns', 'v1'), 'Pod "p": spec.containers: is required'],
  ['Pod unknown spec field', doc('Pod', 'p', { containers: [{ name: 'c' }], volumes: [] }, 'ns', 'v1'), 'spec.volumes: field is not recognized'],
  ['Pod container port 0', doc('Pod', 'p', { containers: [{ name: 'c', ports: [{ containerPort: 0 }] }] }, 'ns', 'v1'), 'spec.containers[0].ports[0].containerPort: 0 is not a valid port number'],
  ['Pod bad podIP', { ...doc('Pod', 'p', { containers: [{ name: 'c' }] }, 'ns', 'v1'), status: { podIP: '10.0.0.300' } }, 'status.podIP: "10.0.0.300" is not a valid IP address'],
  ['Service bad type', doc('Service', 's', { type: 'Magic' }, 'ns', 'v1'), 'spec.type: "Magic" is not one of'],
  ['Service port protocol lowercase', doc('Service', 's', { ports: [{ port: 80, protocol: 'tcp' }] }, 'ns', 'v1'), 'spec.ports[0].protocol: "tcp" is not one of TCP, UDP, SCTP'],
  ['Service sessionAffinity unknown', doc('Service', 's', { sessionAffinity: 'Cookie' }, 'ns', 'v1'), 'Service "s": spec.sessionAffinity: "Cookie" is not one of None, ClientIP'],
  ['Service affinity timeout 0', doc('Service', 's', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }, 'ns', 'v1'), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 is out of range: must be between 1 and 86400'],
  ['Service affinity timeout past a day', doc('Service', 's', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }, 'ns', 'v1'), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is out of range: must be between 1 and 86400'],
  ['Service affinity timeout not an integer', doc('Service', 's', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 2.5 } } }, 'ns', 'v1'), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds: 2.5 is not an integer'],
  ['Service affinity config without ClientIP', doc('Service', 's', { sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, 'ns', 'v1'), 'spec.sessionAffinityConfig: must not be set when sessionAffinity is None'],
  ['K8s NP endPort without numeric port', doc('NetworkPolicy', 'x', { ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, 'ns', 'networking.k8s.io/v1'), 'spec.ingress[0].ports[0].endPort: may only be set when port is a number'],
  ['K8s NP endPort below port', doc('NetworkPolicy', 'x', { ingress: [{ ports: [{ port: 100, endPort: 90 }] }] }, 'ns', 'networking.k8s.io/v1'), 'spec.ingress[0].ports[0].endPort: 90 must be greater than or equal to port (100)'],
  ['K8s NP except outside cidr', doc('NetworkPolicy', 'x', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] }, 'ns', 'networking.k8s.io/v1'), 'spec.egress[0].to[0].ipBlock.except[0]: "10.1.0.0/24" must be strictly within cidr'],
  ['K8s NP ipBlock with podSelector', doc('NetworkPolicy', 'x', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16' }, podSelector: {} }] }] }, 'ns', 'networking.k8s.io/v1'), 'spec.ingress[0].from[0].ipBlock: may not be combined'],
  ['K8s NP In without values', doc('NetworkPolicy', 'x', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, 'ns', 'networking.k8s.io/v1'), 'spec.podSelector.matchExpressions[0].values: must be non-empty when operator is In'],
  ['K8s NP bad operator', doc('NetworkPolicy', 'x', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] } }, 'ns', 'networking.k8s.io/v1'), 'spec.podSelector.matchExpressions[0].operator: "Equals" is not one of'],
  ['K8s NP Calico field rejected', doc('NetworkPolicy', 'x', { selector: 'all()' }, 'ns', 'networking.k8s.io/v1'), 'NetworkPolicy "x": spec.selector: field is not recognized'],
];

for (const [title, input, expected] of invalid) {
  void test(`invalid: ${title}`, () => {
    const errors = collectValidationErrors(input);
    assert.ok(errors.length > 0, 'expected at least one error');
    assert.ok(
      errors.some((e) => e.message.includes(expected)),
      `no error contains ${JSON.stringify(expected)}; got:\n${errors.map((e) => e.message).join('\n')}`,
    );
    assert.throws(() => validateResource(input), (e: unknown) => isTricolorError(e) && e.message === errors[0]?.message);
  });
}

// ---------------------------------------------------------------------------------------------
// Unknown kinds

const unknownKinds: [string, unknown][] = [
  ['wrong apiVersion', { apiVersion: 'projectcalico.org/v2', kind: 'IPPool', metadata: { name: 'p' } }],
  ['wrong kind case', { apiVersion: C, kind: 'ippool', metadata: { name: 'p' } }],
  ['Kubernetes kind under Calico group', { apiVersion: C, kind: 'Pod', metadata: { name: 'p' } }],
  ['missing kind', { apiVersion: C, metadata: { name: 'p' } }],
  ['missing apiVersion', { kind: 'IPPool', metadata: { name: 'p' } }],
];
for (const [title, input] of unknownKinds) {
  void test(`unknown kind: ${title}`, () => {
    assert.throws(() => validateResource(input), (e: unknown) => isTricolorError(e, 'ERR_UNKNOWN_KIND'));
  });
}

void test('unknown kind message matches calicoctl', () => {
  assert.throws(
    () => validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'Bogus', metadata: { name: 'x' } }),
    { message: 'unknown resource type (Bogus) and/or version (projectcalico.org/v3)' },
  );
});

void test('validation errors carry code, field and value', () => {
  try {
    validateResource(gIn({ action: 'Allow', source: { nets: ['10.0.0.0/8', '10.0.0.0/33'] } }));
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isTricolorError(e, 'ERR_VALIDATION'));
    assert.equal(e.message, 'GlobalNetworkPolicy "p": spec.ingress[0].source.nets[1]: "10.0.0.0/33" is not a valid CIDR');
    assert.equal(e.field, 'spec.ingress[0].source.nets[1]');
    assert.equal(e.value, '10.0.0.0/33');
  }
});

void test('collectValidationErrors reports every problem, validateResource puts them all in detail', () => {
  const bad = pool({ cidr: '10.0.0.0/33', natOutgoing: 'yes', bogus: 1 });
  const errors = collectValidationErrors(bad);
  assert.equal(errors.length, 3);
  assert.throws(() => validateResource(bad), (e: unknown) => isTricolorError(e) && Array.isArray(e.detail) && e.detail.length === 3);
});

void test('validateResource never mutates its input', () => {
  const input = np({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['80'] } }] });
  const before = structuredClone(input);
  validateResource(input);
  assert.deepEqual(input, before);
});

// ---------------------------------------------------------------------------------------------
// Cross-object rules, built-in tiers, deletion guard

const existingPools = [
  validateResource(doc('IPPool', 'a', { cidr: '10.0.0.0/16' })),
  validateResource(doc('IPPool', 'b', { cidr: 'fd00::/48' })),
];
const overlapCases: [string, string, string, boolean][] = [
  ['disjoint', 'c', '10.1.0.0/16', true],
  ['contained', 'c', '10.0.1.0/24', false],
  ['containing', 'c', '10.0.0.0/8', false],
  ['equal', 'c', '10.0.0.0/16', false],
  ['same name is an update and skipped', 'a', '10.0.0.0/16', true],
  ['IPv6 overlap', 'c', 'fd00::/64', false],
  ['other family never overlaps', 'c', '10.2.0.0/16', true],
];
for (const [title, name, cidr, ok] of overlapCases) {
  void test(`IPPool overlap: ${title}`, () => {
    const res = validateResource(doc('IPPool', name, { cidr }));
    if (ok) validateAgainstExisting(res, existingPools);
    else {
      assert.throws(
        () => validateAgainstExisting(res, existingPools),
        (e: unknown) => isTricolorError(e, 'ERR_VALIDATION') && e.message.includes(`spec.cidr: "${cidr}" overlaps with IPPool(`),
      );
    }
  });
}

void test('built-in tiers validate and cannot be deleted; other tiers can', () => {
  assert.deepEqual(
    BUILTIN_TIERS.map((t) => [t.metadata.name, (t.spec as J)['order'], (t.spec as J)['defaultAction']]),
    [
      ['kube-admin', 1000, 'Pass'],
      ['default', 1000000, 'Deny'],
      ['kube-baseline', 10000000, 'Pass'],
    ],
  );
  for (const t of BUILTIN_TIERS) {
    assert.deepEqual(validateResource(structuredClone(t)), t);
    assert.match(isDeletionForbidden(t) ?? '', /Cannot delete .* tier/);
  }
  assert.equal(isDeletionForbidden(validateResource(doc('Tier', 'security'))), undefined);
  assert.equal(isDeletionForbidden(validateResource(pool({ cidr: '10.0.0.0/16' }))), undefined);
});

const wepNames: [WorkloadEndpointIdentifiers, string][] = [
  [{ node: 'node-1', orchestrator: 'k8s', pod: 'web-0', endpoint: 'eth0' }, 'node--1-k8s-web--0-eth0'],
  [{ node: 'h', orchestrator: 'cni', containerID: 'abc-1', endpoint: 'eth0' }, 'h-cni-abc--1-eth0'],
  [{ node: 'h', orchestrator: 'libnetwork', endpoint: 'ep-1' }, 'h-libnetwork-libnetwork-ep--1'],
  [{ node: 'h', orchestrator: 'openstack', workload: 'vm-1', endpoint: 'tap' }, 'h-openstack-vm--1-tap'],
];
for (const [ids, name] of wepNames) {
  void test(`workloadEndpointName(${JSON.stringify(ids)}) = ${name}`, () => {
    assert.equal(workloadEndpointName(ids), name);
  });
}
