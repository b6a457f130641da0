// The OS half of src/base: running programs and writing files atomically.
export {
  exec,
  execOk,
  execStreaming,
  execError,
  startChild,
  spawnDetached,
  pidAlive,
  stopPids,
  type ExecOptions,
  type ExecResult,
  type ChildOptions,
  type ChildExit,
  type ChildHandle,
  type DetachedOptions,
} from './exec.ts';
export { writeFileAtomic, writeJsonAtomic, type AtomicWriteOptions } from './atomic-file.ts';
