// The task tag: RESOURCE_TRACKER_TASK=<tag> in the task's environment, inherited by every
// descendant (the cookie Jenkins and the GitHub runner use). The tag names its owner — the tracking
// process's pid, start time and PID namespace — so anyone can later tell whether the owning run is
// still alive. The namespace matters: a run inside a container has a pid that means another
// process (or none) on the host, and a host-side scan must not take that run for gone.
import { randomBytes } from 'node:crypto';
import type { TaskOwner } from '../types.js';

export { KEEP_ENV_VAR, TASK_ENV_VAR } from '../types.js';

const TAG_PREFIX = 'rt2';
/** Written where the platform has no PID namespaces (macOS, Windows). */
const NO_NAMESPACE = '0';

/** `rt2.<owner pid>.<owner start time>.<owner pid namespace or 0>.<random>` */
export function formatTaskTag(owner: TaskOwner, random: string): string {
  return `${TAG_PREFIX}.${owner.pid}.${owner.startTime}.${owner.pidNamespace ?? NO_NAMESPACE}.${random}`;
}

export function createTaskTag(owner: TaskOwner): string {
  return formatTaskTag(owner, randomBytes(6).toString('hex'));
}

/** The owner named by a tag, or undefined when the text is not one of our tags. */
export function parseTaskTag(tag: string): TaskOwner | undefined {
  const parts = tag.split('.');
  if (parts.length !== 5 || parts[0] !== TAG_PREFIX) return undefined;
  const pid = Number(parts[1]);
  const startTime = Number(parts[2]);
  const namespace = parts[3]!;
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isFinite(startTime) || startTime < 0) return undefined;
  if (!/^\d+$/.test(namespace) || !/^[0-9a-f]+$/.test(parts[4]!)) return undefined;
  return namespace === NO_NAMESPACE ? { pid, startTime } : { pid, startTime, pidNamespace: namespace };
}
