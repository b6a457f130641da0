// The host-path e2e, run by host-path.test.ts under `unshare --mount --propagation private`: in
// this private mount namespace the host's own files are replaced where the documented path
// writes (a copy of /etc, empty /var/lib, /opt and /var/run/tricolor), so every default path is
// used unchanged without touching the real host. Then it follows README "Run Tricolor on your
// hosts" exactly: install-units, install-cni with only the two directories, the agent started
// with the unit's own ExecStart and EnvironmentFile (inside the namespace standing in for the
// host), an IP pool applied with the CLI, and a pod's ADD, CHECK and DEL through the installed
// plugin and configuration list. Prints one JSON line of observations for the parent to assert.
//
// argv: <host netns> <pod netns> <work dir> [JSON list of words appended to the agent's ExecStart]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [hostNs, podNs, work, extraJson] = process.argv.slice(2) as [string, string, string, string | undefined];
const extraAgentArgs = extraJson === undefined ? [] : (JSON.parse(extraJson) as string[]);
const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'bin', 'tricolor.ts');
const BASE_ENV = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };

function sh(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { env: o.env ?? BASE_ENV, input: o.input ?? '', encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function must(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = sh(argv, o);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

// ---- the private view of the host's files -------------------------------------------------
must(['mount', '--make-rprivate', '/']);
mkdirSync(join(work, 'etc'), { recursive: true });
must(['cp', '-a', '/etc/.', join(work, 'etc')]);
must(['mount', '--bind', join(work, 'etc'), '/etc']);
for (const dir of ['/var/lib', '/opt', '/var/run/tricolor']) {
  mkdirSync(dir, { recursive: true });
  must(['mount', '-t', 'tmpfs', 'tricolor-host-path', dir]);
}

const tricolor = (args: readonly string[], env: NodeJS.ProcessEnv = BASE_ENV): string => must([process.execPath, CLI, ...args], { env });
const out: Record<string, unknown> = {};
let agent: ChildProcess | undefined;
let agentLog = '';

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<void> {
  // 1. units and environment file, then the CNI plugins — no flags beyond the two directories
  out['installUnits'] = tricolor(['install-units']);
  out['installCni'] = tricolor(['install-cni', '--bin-dir', '/opt/cni/bin', '--conf-dir', '/etc/cni/net.d']);

  // 2. the agent exactly as systemd would start it: ExecStart words, EnvironmentFile variables
  const unit = readFileSync('/etc/systemd/system/tricolor-node.service', 'utf8');
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  const envFile = (/^EnvironmentFile=-?(.*)$/m.exec(unit)?.[1] ?? '').trim();
  const words = execStart.split(' ').map((w) => (w.startsWith('"') ? (JSON.parse(w) as string) : w));
  const { parseEnvFile } = await import('../../src/agent/index.ts');
  const unitEnv = { ...BASE_ENV, ...parseEnvFile(readFileSync(envFile, 'utf8')) };
  out['execStart'] = words;
  out['unitEnv'] = unitEnv;

  // an IP pool, applied as a user would (the CLI reads the same environment file's settings)
  const pool = JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'host-path' },
    spec: { cidr: '10.213.0.0/24', blockSize: 28, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false },
  });
  must([process.execPath, CLI, 'apply', '-f', '-'], { env: unitEnv, input: pool });

  agent = spawn('ip', ['netns', 'exec', hostNs, ...words, ...extraAgentArgs], { env: unitEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout?.on('data', (d: Buffer) => (agentLog += d.toString()));
  agent.stderr?.on('data', (d: Buffer) => (agentLog += d.toString()));
  const deadline = Date.now() + 150_000;
  while (!(existsSync('/var/lib/calico/nodename') && existsSync('/var/run/tricolor/cni.sock'))) {
    if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not come up:\n${agentLog}`);
    await sleep(100);
  }
  out['nodenameFile'] = readFileSync('/var/lib/calico/nodename', 'utf8');
  // the pod MTU the agent computed, where the installed conflist's plugin (mtu: 0) looks for it
  while (!existsSync('/var/lib/calico/mtu')) {
    if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent wrote no /var/lib/calico/mtu:\n${agentLog}`);
    await sleep(100);
  }
  out['mtuFile'] = readFileSync('/var/lib/calico/mtu', 'utf8');
  out['runDirMtuFile'] = existsSync('/var/run/tricolor/mtu');
  // the CNI socket is root's alone: its mode, and an unprivileged client refused by the kernel
  out['cniSocketMode'] = statSync('/var/run/tricolor/cni.sock').mode & 0o777;
  out['cniSocketAsNobody'] = sh(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'socat', '-u', 'OPEN:/dev/null', 'UNIX-CONNECT:/var/run/tricolor/cni.sock']);

  // 3. a runtime's ADD, CHECK and DEL with the installed configuration list, unmodified
  const conflist = JSON.parse(readFileSync('/etc/cni/net.d/10-tricolor.conflist', 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const plugin = conflist.plugins[0] ?? {};
  const netconf = { cniVersion: conflist.cniVersion, name: conflist.name, ...plugin };
  const cniEnv = (command: string): NodeJS.ProcessEnv => ({
    PATH: BASE_ENV.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'hostpath0123456789abcdef',
    CNI_NETNS: `/var/run/netns/${podNs}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=hostpath0123456789abcdef',
  });
  const invoke = (command: string, conf: Record<string, unknown>): { code: number; stdout: string; stderr: string } =>
    sh(['ip', 'netns', 'exec', hostNs, `/opt/cni/bin/${String(plugin['type'])}`], { env: cniEnv(command), input: JSON.stringify(conf) });

  const add = invoke('ADD', netconf);
  out['add'] = add;
  const result = add.code === 0 ? (JSON.parse(add.stdout) as Record<string, unknown>) : undefined;
  out['podAddresses'] = JSON.parse(must(['ip', '-n', podNs, '-j', 'addr', 'show', 'dev', 'eth0'])) as unknown;
  out['podLink'] = JSON.parse(must(['ip', '-n', podNs, '-j', 'link', 'show', 'dev', 'eth0'])) as unknown;
  out['hostLinksAfterAdd'] = JSON.parse(must(['ip', '-n', hostNs, '-j', 'link', 'show'])) as unknown;
  out['hostRoutesAfterAdd'] = JSON.parse(must(['ip', '-n', hostNs, '-j', 'route', 'show'])) as unknown;
  out['wepsAfterAdd'] = JSON.parse(tricolor(['get', 'workloadendpoints', '-A', '-o', 'json'], unitEnv)) as unknown;
  out['check'] = invoke('CHECK', { ...netconf, prevResult: result });
  out['del'] = invoke('DEL', { ...netconf, prevResult: result });
  out['hostLinksAfterDel'] = JSON.parse(must(['ip', '-n', hostNs, '-j', 'link', 'show'])) as unknown;
  out['wepsAfterDel'] = JSON.parse(tricolor(['get', 'workloadendpoints', '-A', '-o', 'json'], unitEnv)) as unknown;
  out['ipamAfterDel'] = tricolor(['ipam', 'show'], unitEnv);
  out['agentStatus'] = sh([process.execPath, CLI, 'node', 'status', '-o', 'json'], { env: unitEnv }).stdout;
}

try {
  await main();
} catch (e) {
  out['error'] = e instanceof Error ? e.message : String(e);
} finally {
  if (agent !== undefined && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => {
      agent?.once('exit', r);
      setTimeout(r, 10_000);
    });
  }
  out['agentLog'] = agentLog;
  process.stdout.write(JSON.stringify(out) + '\n');
}
