// The task tag: RESOURCE_TRACKER_TASK=<tag> in the task's environment, inherited by every
// descendant (the cookie Jenkins and the GitHub runner use). The tag names its owner — the tracking
// process's pid, start time and PID namespace — so anyone can later tell whether the owning run is
// still alive. The namespace matters: a run inside a container has a pid that means another
// process (or none) on the host, and a host-side scan must not take that run for gone.
//
// Two kinds of tag:
//   rt3.<pid>.<start>.<ns>.<random>  a registered run: in progress only while its owner holds the
//                                    run file `rtrack-run-<random>` open (task/run-file.ts). A host
//                                    that runs task after task (an orchestrator) ends each run.
//   rt2.<pid>.<start>.<ns>.<random>  the run lasts as long as its owner process (the run file could
//                                    not be created).
// <ns> is the namespace's inode number, `0` where the OS has none, `x` when it could not be read.
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TaskOwner } from '../types.js';

export { KEEP_ENV_VAR, TASK_ENV_VAR } from '../types.js';

const OWNER_LIFETIME_PREFIX = 'rt2';
const REGISTERED_PREFIX = 'rt3';
/** Written where the platform has no PID namespaces (macOS, Windows). */
const NO_NAMESPACE = '0';
/** Written when this Linux process could not read its own PID namespace: never taken for "ours". */
const UNKNOWN_NAMESPACE = 'x';
/** `TaskOwner.pidNamespace` of a tag written without a readable namespace. */
export const UNKNOWN_PID_NAMESPACE = 'unknown';

/** `rt3|rt2.<owner pid>.<owner start time>.<owner pid namespace, 0 or x>.<random>` */
export function formatTaskTag(owner: TaskOwner, random: string): string {
  const ns = owner.pidNamespace === UNKNOWN_PID_NAMESPACE ? UNKNOWN_NAMESPACE : (owner.pidNamespace ?? NO_NAMESPACE);
  return `${owner.registered ? REGISTERED_PREFIX : OWNER_LIFETIME_PREFIX}.${owner.pid}.${owner.startTime}.${ns}.${random}`;
}

const require = createRequire(import.meta.url);

export function newTagRandom(): string {
  // The kernel's random source where there is one: node:crypto (OpenSSL) took `rtrack run` 5 ms to
  // load. Elsewhere (Windows) node:crypto, loaded here and not at import: scans and the session
  // follower parse tags but never make one.
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      const bytes = Buffer.alloc(6);
      if (readSync(fd, bytes, 0, bytes.length, null) === bytes.length) return bytes.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/urandom
  }
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  return randomBytes(6).toString('hex');
}

export function createTaskTag(owner: TaskOwner): string {
  return formatTaskTag(owner, newTagRandom());
}

/** The owner named by a tag, or undefined when the text is not one of our tags. */
export function parseTaskTag(tag: string): TaskOwner | undefined {
  const parts = tag.split('.');
  if (parts.length !== 5 || (parts[0] !== OWNER_LIFETIME_PREFIX && parts[0] !== REGISTERED_PREFIX)) return undefined;
  const pid = Number(parts[1]);
  const startTime = Number(parts[2]);
  const namespace = parts[3]!;
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isFinite(startTime) || startTime < 0) return undefined;
  if (!/^(\d+|x)$/.test(namespace) || !/^[0-9a-f]+$/.test(parts[4]!)) return undefined;
  const owner: TaskOwner = { pid, startTime };
  if (namespace === UNKNOWN_NAMESPACE) owner.pidNamespace = UNKNOWN_PID_NAMESPACE;
  else if (namespace !== NO_NAMESPACE) owner.pidNamespace = namespace;
  if (parts[0] === REGISTERED_PREFIX) owner.registered = true;
  return owner;
}

/** The random part of a tag: it names the run's file. */
export function tagRandom(tag: string): string {
  return tag.slice(tag.lastIndexOf('.') + 1);
}

/** The name of a registered run's file (created, then unlinked at once: only the open descriptor remains). */
export function runFileName(random: string): string {
  return `rtrack-run-${random}`;
}

/**
 * Whether a process's open files (paths as `/proc/[pid]/fd` shows them, `… (deleted)` included)
 * hold the run file of this tag. Pure.
 */
export function holdsRunFile(openFiles: readonly string[], tag: string): boolean {
  const name = runFileName(tagRandom(tag));
  for (const path of openFiles) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === name || base === `${name} (deleted)`) return true;
  }
  return false;
}
