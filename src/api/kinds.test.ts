// Kind registry: CLI names, apiVersion/kind lookup and datastore key layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTricolorError } from '../base/index.ts';
import { KIND_INFOS, kindInfoFor, parseResourceKey, resolveResourceType, resourceKey } from './index.ts';

const cliCases: [string, string, string][] = [
  ['ippool', 'IPPool', 'projectcalico.org/v3'],
  ['IPPools', 'IPPool', 'projectcalico.org/v3'],
  ['ipp', 'IPPool', 'projectcalico.org/v3'],
  ['pool', 'IPPool', 'projectcalico.org/v3'],
  ['gnp', 'GlobalNetworkPolicy', 'projectcalico.org/v3'],
  ['GlobalNetworkPolicies', 'GlobalNetworkPolicy', 'projectcalico.org/v3'],
  ['np', 'NetworkPolicy', 'projectcalico.org/v3'],
  ['netpol', 'NetworkPolicy', 'projectcalico.org/v3'],
  ['networkpolicies', 'NetworkPolicy', 'projectcalico.org/v3'],
  ['policy', 'NetworkPolicy', 'projectcalico.org/v3'],
  ['knp', 'NetworkPolicy', 'networking.k8s.io/v1'],
  ['networkpolicies.networking.k8s.io', 'NetworkPolicy', 'networking.k8s.io/v1'],
  ['k8snetworkpolicy', 'NetworkPolicy', 'networking.k8s.io/v1'],
  ['sgnp', 'StagedGlobalNetworkPolicy', 'projectcalico.org/v3'],
  ['snp', 'StagedNetworkPolicy', 'projectcalico.org/v3'],
  ['sknp', 'StagedKubernetesNetworkPolicy', 'projectcalico.org/v3'],
  ['hep', 'HostEndpoint', 'projectcalico.org/v3'],
  ['wep', 'WorkloadEndpoint', 'projectcalico.org/v3'],
  ['no', 'Node', 'projectcalico.org/v3'],
  ['bgpconfig', 'BGPConfiguration', 'projectcalico.org/v3'],
  ['bp', 'BGPPeer', 'projectcalico.org/v3'],
  ['bf', 'BGPFilter', 'projectcalico.org/v3'],
  ['felixconfig', 'FelixConfiguration', 'projectcalico.org/v3'],
  ['kcc', 'KubeControllersConfiguration', 'projectcalico.org/v3'],
  ['clusterinfo', 'ClusterInformation', 'projectcalico.org/v3'],
  ['ipamconfig', 'IPAMConfiguration', 'projectcalico.org/v3'],
  ['netsets', 'NetworkSet', 'projectcalico.org/v3'],
  ['gnetsets', 'GlobalNetworkSet', 'projectcalico.org/v3'],
  ['pro', 'Profile', 'projectcalico.org/v3'],
  ['tier', 'Tier', 'projectcalico.org/v3'],
  ['reservations', 'IPReservation', 'projectcalico.org/v3'],
  ['nodestatus', 'CalicoNodeStatus', 'projectcalico.org/v3'],
  ['ns', 'Namespace', 'v1'],
  ['po', 'Pod', 'v1'],
  ['sa', 'ServiceAccount', 'v1'],
  ['svc', 'Service', 'v1'],
];

for (const [cli, kind, apiVersion] of cliCases) {
  void test(`resolveResourceType(${cli}) → ${apiVersion} ${kind}`, () => {
    const info = resolveResourceType(cli);
    assert.equal(info.kind, kind);
    assert.equal(info.apiVersion, apiVersion);
  });
}

void test('unknown resource type is ERR_UNKNOWN_KIND naming the type', () => {
  assert.throws(
    () => resolveResourceType('somekind'),
    (e: unknown) => isTricolorError(e, 'ERR_UNKNOWN_KIND') && e.message === 'resource type "somekind" is not supported',
  );
});

const keyCases: [string, string, string | undefined, string][] = [
  ['gnp', 'allow-dns', undefined, '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/allow-dns'],
  ['np', 'db', 'prod', '/calico/resources/v3/projectcalico.org/networkpolicies/prod/db'],
  ['bgpfilter', 'f', undefined, '/calico/resources/v3/projectcalico.org/bgpfilters/f'],
  ['wep', 'n-k8s-p-eth0', 'ns1', '/calico/resources/v3/projectcalico.org/workloadendpoints/ns1/n-k8s-p-eth0'],
  ['pod', 'web-1', 'prod', '/tricolor/k8s/core/v1/pods/prod/web-1'],
  ['ns', 'prod', undefined, '/tricolor/k8s/core/v1/namespaces/prod'],
  ['knp', 'deny', 'prod', '/tricolor/k8s/networking.k8s.io/v1/networkpolicies/prod/deny'],
];

for (const [cli, name, ns, key] of keyCases) {
  void test(`resourceKey(${cli}, ${name}) = ${key}`, () => {
    const info = resolveResourceType(cli);
    assert.equal(resourceKey(info, name, ns), key);
    const back = parseResourceKey(key);
    assert.equal(back?.info, info);
    assert.equal(back?.name, name);
    assert.equal(back?.namespace, ns);
  });
}

void test('namespaced kinds need a namespace, cluster kinds refuse one', () => {
  assert.throws(() => resourceKey(resolveResourceType('np'), 'x'), (e: unknown) => isTricolorError(e, 'ERR_USAGE'));
  assert.throws(() => resourceKey(resolveResourceType('gnp'), 'x', 'ns'), (e: unknown) => isTricolorError(e, 'ERR_USAGE'));
});

void test('apiVersion tells the two NetworkPolicy kinds apart', () => {
  assert.equal(kindInfoFor('projectcalico.org/v3', 'NetworkPolicy')?.plural, 'networkpolicies');
  assert.equal(kindInfoFor('networking.k8s.io/v1', 'NetworkPolicy')?.keyPrefix, '/tricolor/k8s/networking.k8s.io/v1/networkpolicies/');
  assert.equal(kindInfoFor('projectcalico.org/v3', 'Pod'), undefined);
  assert.equal(kindInfoFor('projectcalico.org/v3', 'ippool'), undefined);
});

void test('every kind: unique key prefix, CLI names lower case and unique, plural among CLI names', () => {
  const prefixes = new Set<string>();
  const names = new Set<string>();
  for (const info of KIND_INFOS) {
    assert.ok(!prefixes.has(info.keyPrefix), info.keyPrefix);
    prefixes.add(info.keyPrefix);
    for (const n of info.cliNames) {
      assert.equal(n, n.toLowerCase());
      assert.ok(!names.has(n), n);
      names.add(n);
    }
    if (info.apiVersion === 'projectcalico.org/v3') assert.ok(info.cliNames.includes(info.plural), info.kind);
    assert.ok(info.keyPrefix.endsWith(`/${info.plural}/`));
  }
});
