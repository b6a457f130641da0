// Public surface of the CNI plugins. The skeleton and the pure helpers load eagerly; the
// plugins themselves (datastore, IPAM, dataplane drivers) only through the loaders, so a
// VERSION call does not pay for them.
export { runCni, readStdin, versionInfo, type CniPlugin, type CniRequest, type CniIO } from './skeleton.ts';
export * from './spec.ts';
export { DEFAULT_MTU_FILE, DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV } from './netconf.ts';
export { parseNetConf, parseStdinJson, parseCniVersion, parseIpamConf, type NetConf, type IpamConf } from './netconf.ts';
export {
  podHostIfName,
  containerHostIfName,
  interfacePrefix,
  wepName,
  wepNamePrefix,
  parseWepName,
  containerHandleId,
  workloadHandleId,
  type WepIdentifiers,
} from './naming.ts';
export * from './agent-protocol.ts';
export type { CniBackends, CniIpamPort, CniStorePort, IpamAssignRequest } from './ports.ts';

/** The `tricolor-cni` plugin over the real datastore and IPAM. */
export async function loadCniPlugin(): Promise<import('./skeleton.ts').CniPlugin> {
  const [{ createPlugin }, { openCniBackends }] = await Promise.all([import('./plugin.ts'), import('./backends.ts')]);
  return createPlugin({ openBackends: openCniBackends });
}

/** The `tricolor-ipam` plugin over the real datastore and IPAM. */
export async function loadIpamPlugin(): Promise<import('./skeleton.ts').CniPlugin> {
  const [{ createIpamPlugin }, { openCniBackends }] = await Promise.all([import('./ipam-plugin.ts'), import('./backends.ts')]);
  return createIpamPlugin({ openBackends: openCniBackends });
}
/**
 * The `tricolor-cni` plugin as the node agent runs it in-process: on the agent's open
 * datastore backend when a request names that datastore (see sharedBackendsOpener).
 */
export async function loadSharedCniPlugin(
  backend: import('../datastore/index.ts').DatastoreBackend,
  config: import('../datastore/index.ts').DatastoreConfig,
): Promise<import('./skeleton.ts').CniPlugin> {
  const [{ createPlugin }, { sharedBackendsOpener }] = await Promise.all([import('./plugin.ts'), import('./backends.ts')]);
  return createPlugin({ openBackends: sharedBackendsOpener(backend, config) });
}
export { installCni, renderConflist, wrapperScript, agentWrapperScript, DEFAULT_AGENT_SOCKET, AGENT_SOCKET_ENV, datastoreEnvOf, CONFLIST_NAME, NETWORK_NAME, type InstallOptions } from './install.ts';
