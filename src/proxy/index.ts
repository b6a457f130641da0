// Public surface of the ClusterIP service proxy (the lab's kube-proxy replacement): the pure
// renderer and the daemon that `tricolor proxy run` starts in a node's network namespace.
export {
  PROXY_TABLE,
  selects,
  resolveBackends,
  renderProxyRuleset,
  proxyServiceOf,
  proxyEndpointOf,
  type ProxyService,
  type ProxyServicePort,
  type ProxyEndpoint,
  type ServiceBackends,
} from './service-proxy-renderer.ts';
export { ServiceProxy, PROXY_SELECTION, PROXY_STATUS_FILE, type ProxyStatus, type ServiceProxyOptions, type ProxyNatFrontend, type ProxyNatWriter } from './io/service-proxy.ts';
