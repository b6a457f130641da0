// The service proxy's renderer: which endpoints a service picks, the nft text for a case, and
// that text loaded for real into nftables in a throwaway network namespace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNetns, netnsSkipReason } from '../../test/support/netns.ts';
import { proxyEndpointOf, proxyServiceOf, renderProxyRuleset, resolveBackends, type ProxyEndpoint, type ProxyService } from './service-proxy-renderer.ts';

const web: ProxyService = {
  namespace: 'a',
  name: 'web',
  clusterIP: '10.96.0.10',
  selector: { app: 'web' },
  ports: [
    { port: 80, targetPort: 8080, protocol: 'TCP' },
    { port: 53, targetPort: 'dns', protocol: 'UDP' },
  ],
  affinitySecs: 0,
};
const ep = (ip: string, labels: Record<string, string>, namespace = 'a'): ProxyEndpoint => ({
  namespace,
  labels,
  ip,
  ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
});

void describe('resolveBackends', () => {
  const cases: { name: string; eps: ProxyEndpoint[]; want: string[][] }[] = [
    { name: 'no endpoints', eps: [], want: [[], []] },
    { name: 'label mismatch and other namespace ignored', eps: [ep('10.0.0.1', { app: 'db' }), ep('10.0.0.2', { app: 'web' }, 'b')], want: [[], []] },
    {
      name: 'two endpoints, sorted numerically, named port resolved',
      eps: [ep('10.0.0.10', { app: 'web' }), ep('10.0.0.9', { app: 'web', x: 'y' })],
      want: [
        ['10.0.0.9:8080', '10.0.0.10:8080'],
        ['10.0.0.9:5353', '10.0.0.10:5353'],
      ],
    },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const r = resolveBackends([web], c.eps);
      assert.deepEqual(
        r.map((x) => x.backends.map((b) => `${b.ip}:${b.port}`)),
        c.want,
      );
    });
  }
  void it('an empty selector selects nothing', () => {
    const r = resolveBackends([{ ...web, selector: {} }], [ep('10.0.0.1', { app: 'web' })]);
    assert.deepEqual(r[0]?.backends, []);
  });
});

void describe('renderProxyRuleset', () => {
  const text = renderProxyRuleset(resolveBackends([web], [ep('10.0.0.1', { app: 'web' }), ep('10.0.0.2', { app: 'web' })]));
  void it('replaces its own table only, and load-balances over every backend', () => {
    assert.match(text, /^add table ip tricolor-proxy\ndelete table ip tricolor-proxy\ntable ip tricolor-proxy \{/);
    assert.ok(!text.includes('inet tricolor '), 'never touches the agent table');
    assert.match(text, /ip daddr 10\.96\.0\.10 tcp dport 80 goto svc-0 comment "a\/web:80\/tcp"/);
    assert.match(text, /numgen random mod 2 vmap \{ 0 : goto svc-0-ep-0, 1 : goto svc-0-ep-1 \}/);
    assert.match(text, /meta l4proto tcp dnat to 10\.0\.0\.1:8080/);
    assert.match(text, /ip saddr 10\.0\.0\.1 meta mark set meta mark or 0x00004000/);
    assert.match(text, /meta mark and 0x00004000 == 0x00004000 masquerade/);
    assert.match(text, /meta l4proto udp dnat to 10\.0\.0\.2:5353/);
  });
  void it('is accepted by nft in a throwaway namespace, and reloads over itself', { skip: netnsSkipReason() }, async (t) => {
    const ns = await createNetns(t);
    await ns.execOk(['nft', '-f', '-'], { input: text });
    await ns.execOk(['nft', '-f', '-'], { input: text });
    const one = renderProxyRuleset(resolveBackends([web], [ep('10.0.0.1', { app: 'web' })]));
    await ns.execOk(['nft', '-f', '-'], { input: one });
    await ns.execOk(['nft', '-f', '-'], { input: renderProxyRuleset([]) });
    const listed = await ns.execOk(['nft', 'list', 'table', 'ip', 'tricolor-proxy']);
    assert.match(listed, /chain prerouting/);
    assert.ok(!listed.includes('dnat'));
  });
});

void describe('decoding stored objects', () => {
  void it('reads a v1 Service and a WorkloadEndpoint', () => {
    const svc = proxyServiceOf({ metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.0.12', selector: { a: 'b' }, ports: [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns' }] } });
    assert.deepEqual(svc?.ports, [
      { port: 80, targetPort: 80, protocol: 'TCP' },
      { port: 53, targetPort: 'dns', protocol: 'UDP' },
    ]);
    assert.equal(proxyServiceOf({ metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: 'None' } }), undefined);
    const e = proxyEndpointOf({ metadata: { namespace: 'n', labels: { a: 'b' } }, spec: { ipNetworks: ['fd00::1/128', '10.244.0.1/32'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    assert.equal(e?.ip, '10.244.0.1');
    assert.deepEqual(e?.ports, [{ name: 'http', port: 80, protocol: 'TCP' }]);
  });

  void it('reads session affinity: none → 0, ClientIP → its timeout (default 10800); a bad value is a coded error naming field and value', () => {
    const svc = (spec: Record<string, unknown>) => proxyServiceOf({ metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.0.12', ports: [{ port: 80 }], ...spec } });
    assert.equal(svc({})?.affinitySecs, 0);
    assert.equal(svc({ sessionAffinity: 'None' })?.affinitySecs, 0);
    assert.equal(svc({ sessionAffinity: 'ClientIP' })?.affinitySecs, 10800);
    assert.equal(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 3 } } })?.affinitySecs, 3);
    assert.throws(() => svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), (e: unknown) => {
      const err = e as { code?: string; message?: string; field?: string; value?: unknown };
      assert.equal(err.code, 'ERR_VALIDATION');
      assert.match(err.message ?? '', /Service "n\/s": spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: 86401 is out of range/);
      return true;
    });
    assert.throws(() => svc({ sessionAffinity: 'Sticky' }), /spec\.sessionAffinity: "Sticky" is not one of None, ClientIP/);
  });
});
