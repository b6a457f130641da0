// The lab's io surface: one file per concern (topology, nodes, pods, services, externals, probes,
// processes, state, datastore, status) and the two orchestrations, `lab up` and `lab down`.

export { labUp } from './up.ts';
export { labDown } from './down.ts';
export { readLabState, requireLab, currentLabName, labNodeRunDir, listPods, findPod } from './state.ts';
export { withLabClient, restartLabEtcdMember } from './datastore.ts';
export { restartNodeAgent } from './nodes.ts';
export { nsAdd, nsLabel } from './namespaces.ts';
export { podAdd, podDel, podLabel } from './pods.ts';
export { svcAdd } from './services.ts';
export { torStatus } from './externals.ts';
export { resolveSource, resolveTarget, probeFrom, probeTargets, probeAll, probeMatrix, PROBE_ALL_PARALLEL, podExecArgv } from './probes.ts';
export { labStatus } from './status.ts';
export { sh, shOk, startDetached, stopPids, pidAlive, waitFor, mapLimit, sleep, type ShResult } from './processes.ts';
export { runQuickstartDemo, QUICKSTART_STEPS, demoUnknown, type DemoOptions, type DemoResult, type DemoStep } from './demo.ts';
export { labFlowsUrl, flowsSocketPath, labFlowLogFields } from './flows.ts';
