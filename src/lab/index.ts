// Public surface of the lab: a multi-node cluster in network namespaces on one host (`tricolor
// lab …`), the pure model (names, address plan, parsers) and the io operations the CLI, tests and
// benchmarks drive.
export * from './lab-model.ts';
export {
  labUp,
  labDown,
  readLabState,
  requireLab,
  currentLabName,
  labNodeRunDir,
  restartNodeAgent,
  listPods,
  findPod,
  nsAdd,
  nsLabel,
  podAdd,
  podDel,
  podLabel,
  svcAdd,
  resolveSource,
  resolveTarget,
  probeFrom,
  probeAll,
  podExecArgv,
  labStatus,
  renderLabStatus,
  withLabClient,
  torStatus,
  type TorView,
  type LabBGPSession,
  type LabUpOptions,
  type LabDownResult,
  type PodAddOptions,
  type ProbeAllResult,
  type LabStatusView,
  type Progress,
} from './io/lab.ts';
export { runQuickstartDemo, QUICKSTART_STEPS, demoUnknown, type DemoOptions, type DemoResult, type DemoStep } from './io/demo.ts';
export { sh, shOk, startDetached, stopPids, pidAlive, waitFor, mapLimit, type ShResult } from './io/shell.ts';
