// The gate before every signal: what the reaper refuses, whoever asked for the kill (run, scan,
// watch, the follower, a cgroup kill, reapOrphans), judged from one fresh look at the process
// table — never from what the caller passed in. Pure: the look's verdicts in, a refusal out.
//   refused     pid ≤ 1; rtrack itself, its ancestors, its own long-lived processes (a follower,
//               a watch) and the follower lock's holder
//   kept        declared to outlive its task, by its command line and environment as they are now
//               (a process that exec'd since the verdict is judged by what it runs now); and what
//               may be a kept process's — born after a run that kept something ended, carrying its
//               tag (kept-runs.ts) — unless a person named it or it is in that run's own group
//   in-use      a live agent, below one, hosting one, or of a session that is live (liveness.ts); a
//               terminal multiplexer's server while it hosts anything this call does not reap, and
//               what runs in one on the server's evidence alone (whole-evidence.ts), unless the
//               person named it (`scan --reap --match … --yes`)
//   unreadable  what it carries was not read whole (its environment unreadable, cut or overwritten
//               by a title; its command line cut and no keep pattern seen), or it runs below such a
//               process: it may be kept or belong to a live session
import type { ProcessInfo } from '../types.js';
import { MAX_TREE_DEPTH, parentOf } from './identity.js';
import type { Liveness } from './liveness.js';
import { fullCommand } from './patterns.js';
import { subtree, type ProcessTree } from './tree.js';
import { sharedEvidence, sharedHostKind, unreadableAbove, unreadableEvidence } from './whole-evidence.js';

/** Why the gate refuses a process. */
export interface Refusal {
  result: 'refused' | 'kept' | 'in-use' | 'unreadable';
  reason: string;
}

// rtrack's own long-lived processes by their command line: the follower's entry point, and
// `rtrack watch` / `rtrack session follow` however rtrack was started (node bin/rtrack.js, npx, a link).
const DAEMON_COMMAND = /(?:^|[\s/])(?:(follower-main\.c?js)|rtrack(?:\.js)?\s+(watch|session\s+follow))(?:\s|$)/;

/** Which of rtrack's own long-lived processes this is (`follower`, `watch`), by its environment marker or command line. */
export function rtrackDaemonOf(p: ProcessInfo): string | undefined {
  if (p.trackerDaemon) return p.trackerDaemon;
  const m = DAEMON_COMMAND.exec(fullCommand(p));
  if (!m) return undefined;
  return m[2] === 'watch' ? 'watch' : 'follower';
}

/**
 * rtrack's own processes in a table, with why: the given process (rtrack itself) and its
 * ancestors, every follower and watch with what runs below them, and `extra` (the follower lock's
 * holder, found by its identity).
 */
export function ownProcesses(tree: ProcessTree<ProcessInfo>, live: ReadonlyMap<number, ProcessInfo>, self?: number, extra: readonly { pid: number; reason: string }[] = []): Map<number, string> {
  const own = new Map<number, string>();
  if (self !== undefined) own.set(self, 'rtrack itself');
  const me = self === undefined ? undefined : live.get(self);
  if (me) {
    let q = parentOf(me, live);
    for (let depth = 0; q && depth < MAX_TREE_DEPTH; depth++) {
      if (!own.has(q.pid)) own.set(q.pid, `an ancestor of rtrack (pid ${self})`);
      q = parentOf(q, live);
    }
  }
  const daemon = (p: ProcessInfo, reason: string): void => {
    for (const d of subtree(tree, p)) if (!own.has(d.pid)) own.set(d.pid, d === p ? reason : `below ${reason} (pid ${p.pid})`);
  };
  for (const p of live.values()) {
    const name = rtrackDaemonOf(p);
    if (name) daemon(p, `rtrack's ${name}`);
  }
  for (const e of extra) {
    const p = live.get(e.pid);
    if (p) daemon(p, e.reason);
    else own.set(e.pid, e.reason);
  }
  return own;
}

/** What the gate sees: one fresh look, judged. */
export interface GateView {
  /** The look's processes by pid (command lines and environments as they are now). */
  live: ReadonlyMap<number, ProcessInfo>;
  /** The look's processes as a tree. */
  tree: ProcessTree<ProcessInfo>;
  liveness: Liveness;
  /** Kept processes and their descendants. */
  kept: ReadonlySet<number>;
  /** Why, for those kept by something other than their own keep reason or a kept ancestor (a pipeline, a run's record). */
  keptBecause?: ReadonlyMap<number, string>;
  /**
   * What carries the tag of a run that kept something and was born after that run judged its
   * processes (rules/kept-runs.ts): it may be what a kept process started; refused unless named.
   */
  bornAfterKept?: ReadonlyMap<number, string>;
  /** rtrack's own processes (ownProcesses). */
  own: ReadonlyMap<number, string>;
  /**
   * Processes the follower saw in a registered agent's tree, or journalled as an ended session's
   * leftover: evidence of their own, whatever their markers say (the follower never adopts through a
   * multiplexer's server), so a server's markers on them are no reason to refuse them.
   */
  tied?: ReadonlySet<number>;
}

/** What the gate knows of the call it judges for. */
export interface GateCall {
  /** The pids this call means to signal: a multiplexer's server is signalled only with everything it hosts. */
  targets?: ReadonlySet<number>;
  /** A person named these processes (`scan --reap --match … --yes`): a shared host's evidence is not what they rest on. */
  named?: boolean;
  /**
   * A run ends what is left in its own group (releaseGroup) after what it kept left it at the
   * verdict: what is inside was born of its orphans, never of what it kept.
   */
  ownGroup?: boolean;
}

/** Why the gate refuses to signal this pid; undefined when it may be signalled. */
export function refusalOf(pid: number, view: GateView, call: GateCall = {}): Refusal | undefined {
  if (pid <= 1) return { result: 'refused', reason: 'pid 1 or lower' };
  const own = view.own.get(pid);
  if (own) return { result: 'refused', reason: own };
  const p = view.live.get(pid);
  if (view.kept.has(pid)) return { result: 'kept', reason: p?.keepReason ? `kept (${p.keepReason})` : (view.keptBecause?.get(pid) ?? 'below a kept process') };
  const inUse = view.liveness.inUse.get(pid);
  if (inUse) return { result: 'in-use', reason: inUse };
  if (!p) return undefined;
  const unread = unreadableEvidence(p) ?? unreadableAbove(p, view.live);
  if (unread) return { result: 'unreadable', reason: unread };
  if (sharedHostKind(p) !== undefined && call.targets) {
    const hosted = subtree(view.tree, p).slice(1).find((d) => !call.targets!.has(d.pid));
    if (hosted) return { result: 'in-use', reason: `a ${sharedHostKind(p)} server that hosts pid ${hosted.pid}, which is not reaped with it` };
  }
  const bornAfter = view.bornAfterKept?.get(pid);
  if (bornAfter !== undefined && !call.named && !call.ownGroup) return { result: 'kept', reason: bornAfter };
  if (!call.named && !view.tied?.has(pid)) {
    const shared = sharedEvidence(p, view.live);
    if (shared) return { result: 'in-use', reason: shared };
  }
  return undefined;
}
