// What a user runs a host with: systemd units for the node agent and the cluster services
// (Typha, the controllers, the flow aggregator) and the one environment file they all read.
// Pure: renders text; agent/io/install-units.ts writes it. The defaults here are the ones the
// agent and `tricolor install-cni` use without flags (datastore path, run dir and CNI socket,
// nodename file), so an unmodified install works end to end.

export const DEFAULT_UNIT_DIR = '/etc/systemd/system';
export const DEFAULT_ENV_FILE = '/etc/tricolor/tricolor.env';

export interface UnitSpec {
  /** File name, e.g. `tricolor-node.service`. */
  readonly name: string;
  readonly description: string;
  /** Arguments after `tricolor`. */
  readonly args: readonly string[];
  /**
   * systemd KillMode. The agent uses `process`: stopping or restarting it leaves its BIRD
   * running, so routes and BGP sessions survive and the next agent adopts that BIRD.
   */
  readonly killMode: 'control-group' | 'process';
  readonly after: readonly string[];
}

export const UNITS: readonly UnitSpec[] = [
  { name: 'tricolor-node.service', description: 'Tricolor node agent (policy, routes, BGP, CNI calls)', args: ['node', 'run'], killMode: 'process', after: ['network-online.target'] },
  { name: 'tricolor-typha.service', description: 'Tricolor Typha (datastore fan-out to node agents)', args: ['typha', 'run'], killMode: 'control-group', after: ['network-online.target'] },
  { name: 'tricolor-controllers.service', description: 'Tricolor controllers (IPAM garbage collection, node clean-up)', args: ['controllers', 'run'], killMode: 'control-group', after: ['network-online.target'] },
  { name: 'tricolor-flows.service', description: 'Tricolor flow aggregator and web UI', args: ['flows', 'serve'], killMode: 'control-group', after: ['network-online.target'] },
];

/** systemd's ExecStart quoting: double quotes around words that need them, `\` and `"` escaped. */
function execWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/[\\"]/g, '\\$&').replace(/\$/g, '$$$$')}"`;
}

/** The ExecStart words of a unit: this Node and this checkout's entry point, then the verb. */
export function execStartWords(u: UnitSpec, nodePath: string, cliEntry: string): string[] {
  return [nodePath, cliEntry, ...u.args];
}

export function renderUnit(u: UnitSpec, nodePath: string, cliEntry: string, envFile: string): string {
  return [
    '# Installed by `tricolor install-units`; settings belong in the environment file.',
    '[Unit]',
    `Description=${u.description}`,
    `After=${u.after.join(' ')}`,
    `Wants=${u.after.join(' ')}`,
    '',
    '[Service]',
    'Type=simple',
    `EnvironmentFile=-${envFile}`,
    `ExecStart=${execStartWords(u, nodePath, cliEntry).map(execWord).join(' ')}`,
    'Restart=always',
    'RestartSec=2',
    `KillMode=${u.killMode}`,
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The environment file: every default spelled out, so a user edits a value rather than guesses a name. */
export function renderEnvFile(): string {
  return [
    '# Tricolor settings for this host, read by every tricolor-*.service unit (systemd',
    '# EnvironmentFile syntax: KEY=value, no export). The values shown are the defaults.',
    '',
    '# This node\'s name (default: the host name).',
    '#NODENAME=',
    '',
    '# Datastore: the embedded SQLite file shared by every process on this host, or etcd v3.',
    'DATASTORE_TYPE=embedded',
    'TRICOLOR_DATASTORE_PATH=/var/lib/tricolor/datastore.db',
    '#DATASTORE_TYPE=etcdv3',
    '#ETCD_ENDPOINTS=https://10.0.0.1:2379',
    '#ETCD_CA_CERT_FILE=/etc/tricolor/pki/ca.crt',
    '#ETCD_CERT_FILE=/etc/tricolor/pki/node.crt',
    '#ETCD_KEY_FILE=/etc/tricolor/pki/node.key',
    '',
    '# Routing: bird (BGP), vxlan or none (default: BGP unless every IP pool is VXLAN).',
    '#CALICO_NETWORKING_BACKEND=bird',
    '',
    '# Where the agent writes its node name for the CNI plugin (as calico-node does), and the',
    '# unix socket it serves CNI calls on. install-cni reads both, so the plugin looks there too.',
    '#CALICO_NODENAME_FILE=/var/lib/calico/nodename',
    '#TRICOLOR_CNI_SOCKET=/var/run/tricolor/cni.sock',
    '',
    '# Typha (tricolor-typha.service): where it listens, and mutual TLS (client CN and/or URI SAN).',
    '#TYPHA_SERVERHOST=127.0.0.1',
    '#TYPHA_SERVERPORT=5473',
    '#TYPHA_SERVERCERTFILE=/etc/tricolor/pki/typha.crt',
    '#TYPHA_SERVERKEYFILE=/etc/tricolor/pki/typha.key',
    '#TYPHA_CAFILE=/etc/tricolor/pki/ca.crt',
    '#TYPHA_CLIENTCN=typha-client',
    '# Typha health: /liveness and /readiness (200 or 503) on 127.0.0.1:9098 when enabled.',
    '#TYPHA_HEALTHENABLED=true',
    '#TYPHA_HEALTHHOST=127.0.0.1',
    '#TYPHA_HEALTHPORT=9098',
    '',
    '# The agent reads from Typha instead of the datastore when this is set (replicas, comma-separated).',
    '#FELIX_TYPHAADDR=10.0.0.10:5473,10.0.0.11:5473',
    '#FELIX_TYPHACAFILE=/etc/tricolor/pki/ca.crt',
    '#FELIX_TYPHACERTFILE=/etc/tricolor/pki/typha-client.crt',
    '#FELIX_TYPHAKEYFILE=/etc/tricolor/pki/typha-client.key',
    '#FELIX_TYPHACN=typha-server',
    '',
  ].join('\n');
}

/** The variables an environment file sets (systemd EnvironmentFile syntax: KEY=value, `#` comments, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    let v = m[2] ?? '';
    if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) v = v.slice(1, -1);
    out[m[1] ?? ''] = v;
  }
  return out;
}
