// The task tag: RESOURCE_TRACKER_TASK=<tag> in the task's environment, inherited by every
// descendant (the cookie Jenkins and the GitHub runner use). The tag names its owner — the tracking
// process's pid and start time — so anyone can later tell whether the owning run is still alive.
import { randomBytes } from 'node:crypto';
import type { ProcessIdentity } from '../types.js';

export { KEEP_ENV_VAR, TASK_ENV_VAR } from '../types.js';

const TAG_PREFIX = 'rt1';

/** `rt1.<owner pid>.<owner start time>.<random>` */
export function formatTaskTag(owner: ProcessIdentity, random: string): string {
  return `${TAG_PREFIX}.${owner.pid}.${owner.startTime}.${random}`;
}

export function createTaskTag(owner: ProcessIdentity): string {
  return formatTaskTag(owner, randomBytes(6).toString('hex'));
}

/** The owner named by a tag, or undefined when the text is not one of our tags. */
export function parseTaskTag(tag: string): ProcessIdentity | undefined {
  const parts = tag.split('.');
  if (parts.length !== 4 || parts[0] !== TAG_PREFIX) return undefined;
  const pid = Number(parts[1]);
  const startTime = Number(parts[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isFinite(startTime) || startTime < 0 || !/^[0-9a-f]+$/.test(parts[3]!)) {
    return undefined;
  }
  return { pid, startTime };
}
