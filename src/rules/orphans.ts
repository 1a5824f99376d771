// The seed's orphan rule — a process whose parent is init or gone — defined once, with identity
// (a process is new when (pid, start time) was not there before) and the cases where a parent pid
// means something else. Used by detectOrphans (the seed's API), attribution's heuristic evidence
// and the machine scan's suspected trees. Pure: no I/O.
import type { ProcessInfo, ProcessSnapshot } from '../types.js';
import { byPid, identitySet, identityKey, parentOf } from './identity.js';
import { looksLikeSubreaper } from './patterns.js';

/**
 * What a process's parent pid says about it:
 *   init     its parent is PID 1 (re-parented, or started by init)
 *   gone     no live process holds the parent pid, or the one that does is younger than the child
 *            (Windows never re-parents: an orphan keeps its dead parent's pid, which may be reused)
 *   live     the parent is alive
 *   unknown  the OS gives no parent (-1: Windows tasklist) or a parent outside our PID namespace (0:
 *            a process entered from outside, as `docker exec` does; in the root namespace only
 *            init and kthreadd have it): never guessed at
 */
export type ParentState = 'init' | 'gone' | 'live' | 'unknown';

export function parentState(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): ParentState {
  if (p.ppid <= 0) return 'unknown';
  if (p.ppid === 1) return 'init';
  return parentOf(p, live) ? 'live' : 'gone';
}

/**
 * Kernel threads: kthreadd (parent 0, no command line) and its children. Only where pid 2 is
 * kthreadd — in a container's namespace, pid 2 is an ordinary process.
 */
export function isKernelThread(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): boolean {
  return isKthreadd(p) || isKthreadd(live.get(p.ppid));
}

// Not a closure in isKernelThread: it runs for every process of every watch scan, and making the
// closure (with the name the build gives it) was a third of a megabyte of garbage a scan at 1,000.
function isKthreadd(q: ProcessInfo | undefined): boolean {
  return q !== undefined && q.ppid === 0 && q.command === 'kthreadd' && !q.commandLine;
}

/** The seed's rule on one process: its parent is init or gone. */
export function isOrphaned(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): boolean {
  if (p.pid <= 1) return false;
  const state = parentState(p, live);
  return state === 'init' || state === 'gone';
}

/**
 * Re-parented: orphaned by the seed's rule, or adopted by a subreaper — a process whose command
 * looks like one (systemd --user, tini, …), or one seen adopting a task's descendant (`adopters`).
 */
export function isReparented(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>, adopters?: ReadonlySet<number>): boolean {
  if (p.pid <= 1) return false;
  const state = parentState(p, live);
  if (state === 'init' || state === 'gone') return true;
  if (state !== 'live') return false;
  const parent = live.get(p.ppid)!;
  return adopters?.has(parent.pid) === true || looksLikeSubreaper(parent.command);
}

/**
 * The seed's rule over two snapshots: new processes (their identity was not in `before`) whose parent
 * is init (PID 1) or no longer exists (or whose parent pid now belongs to a process younger than
 * them). `detectOrphans()` (rules/attribution.ts) is the public face of it.
 */
export function seedOrphans(before: ProcessSnapshot, after: ProcessSnapshot): ProcessInfo[] {
  const existed = identitySet(before);
  const live = byPid(after.processes);
  const orphans: ProcessInfo[] = [];
  for (const p of after.processes) {
    if (existed.has(identityKey(p)) || !isOrphaned(p, live)) continue;
    orphans.push(p);
  }
  return orphans;
}
