// Every `tricolor` sub-command, once. Command modules are light (their work is imported when
// they run), so listing them here costs little start-up time. Add a command: one import, one
// array entry.

import type { Command } from '../command.ts';
import { command as apply } from './apply.ts';
import { command as controllers } from './controllers.ts';
import { command as bpf } from './bpf.ts';
import { command as create } from './create.ts';
import { command as del } from './delete.ts';
import { command as demo } from './demo.ts';
import { command as flows } from './flows.ts';
import { command as get } from './get.ts';
import { command as installCni } from './install-cni.ts';
import { command as installUnits } from './install-units.ts';
import { command as ipam } from './ipam.ts';
import { command as label } from './label.ts';
import { command as lab } from './lab.ts';
import { command as node } from './node.ts';
import { command as patch } from './patch.ts';
import { command as policy } from './policy.ts';
import { command as proxy } from './proxy.ts';
import { command as typha } from './typha.ts';
import { command as replace } from './replace.ts';
import { command as version } from './version.ts';

export const COMMANDS: readonly Command[] = [
  create,
  apply,
  replace,
  del,
  get,
  patch,
  label,
  policy,
  version,
  demo,
  flows,
  installCni,
  installUnits,
  ipam,
  node,
  lab,
  proxy,
  controllers,
  bpf,
  typha,
];
