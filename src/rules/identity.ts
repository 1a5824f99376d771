// Identity of a process: (pid, start time). A reused pid with another start time is another process.
import type { ProcessIdentity, ProcessInfo, ProcessSnapshot } from '../types.js';

/** How deep any walk up or down a process tree goes: a guard against cycles in inconsistent data, far beyond real trees. */
export const MAX_TREE_DEPTH = 4096;

/** The identity of a process record (ProcessInfo) or of an identity read from the OS (ProcessIdentity, ProcessStatus), comparable with each other. */
export function identityKey(p: ProcessIdentity | ProcessInfo): string {
  return ('identity' in p && p.identity) || `${p.pid}:${p.startTime}`;
}

/** The start-time part of an identity, comparable across PID namespaces (a tag's owner is named by its pid inside its namespace). */
export function startKey(p: ProcessIdentity | ProcessInfo): string {
  const key = identityKey(p);
  return key.slice(key.indexOf(':') + 1);
}

export function identitySet(snapshot: ProcessSnapshot | undefined): Set<string> {
  const keys = new Set<string>();
  if (snapshot) for (const p of snapshot.processes) keys.add(identityKey(p));
  return keys;
}

export function byPid(processes: readonly ProcessInfo[]): Map<number, ProcessInfo> {
  return madeOf(processes, byPidMade, () => {
    const map = new Map<number, ProcessInfo>();
    for (const p of processes) map.set(p.pid, p);
    return map;
  });
}
const byPidMade: Made<Map<number, ProcessInfo>> = new WeakMap();

/** What was made of an array, with the elements it was made of. */
export type Made<T> = WeakMap<readonly object[], { items: readonly object[]; value: T }>;

/**
 * What `make` makes of an array, made once while the array holds the same elements: one look is
 * judged by several rules (the look, the liveness, the machine's leaks, the port candidates), each
 * of which asked for the same map or tree of the same snapshot — eight maps and three trees of every
 * process a watch scan, most of its garbage. The value is shared: no caller may change it. An array
 * changed since (pushed to, an element replaced) gets a new one.
 */
export function madeOf<T>(array: readonly object[], made: Made<T>, make: () => T): T {
  const known = made.get(array);
  if (known !== undefined && sameItems(known.items, array)) return known.value;
  const value = make();
  made.set(array, { items: array.slice(), value });
  return value;
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The live parent of `child` in the snapshot, or undefined when it is gone. A process with the
 * parent's pid that started after the child cannot be its parent (Windows never re-parents, so an
 * orphan keeps a pid that may have been reused).
 */
export function parentOf(child: ProcessInfo, processes: ReadonlyMap<number, ProcessInfo>): ProcessInfo | undefined {
  const parent = processes.get(child.ppid);
  if (!parent || parent.pid === child.pid) return undefined;
  if (parent.startTime > child.startTime) return undefined;
  return parent;
}
