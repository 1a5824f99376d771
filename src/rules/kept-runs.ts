// What carries the tag of a run that kept something, born after that run judged its processes. A
// process carrying the tag of a run that is over is a certain leak of that run — but a kept process
// carries the tag too, and so does what it starts later: a kept launcher's daemon that double-forks
// away (re-parented, no longer below the launcher) once the run has ended. The run wrote what it
// kept, with the moment it began judging its processes and which of them it judged in the moments
// before (operations/kept-registry.ts); from those, a process that carries the tag, is neither kept
// nor judged, was born after that moment and does not run below a process the run judged may be
// what a kept process started: never certain — at most a suspect, with why — and the gate refuses
// it unless a person names it. Born below a leak the run judged, it is that leak's, as before; a
// run that kept nothing writes nothing, and what carries its tag stays certain. Pure.
import type { ProcessInfo } from '../types.js';
import { identityKey, MAX_TREE_DEPTH, parentOf } from './identity.js';
import { subtree, type ProcessTree } from './tree.js';

/**
 * How far a start time may lie before the moment a process was really born: Linux counts it from
 * a boot time read in whole seconds, macOS reads it to the second. Of what was born within this
 * much before the run judged, the run names what it judged; anything else carrying the tag that
 * started within it may have been born after.
 */
export const START_TIME_SLACK_MS = 2000;

/** A run that kept something, as its record tells later looks. */
export interface KeptRun {
  /** The run's task tag. */
  tag: string;
  /** When the run began judging its processes (its after look), in ms since the epoch. */
  judgedAt: number;
  /** Identities (`identityKey`) of the processes the run judged that started within START_TIME_SLACK_MS of judgedAt. */
  judged: ReadonlySet<string>;
  /** What it kept: each one's pid, identity, command and why (`below …` for what ran below a kept one). */
  kept: readonly { pid: number; identity: string; command: string; reason: string }[];
  /**
   * The run's PID namespace, when it is not the look's (a container sharing the home): its record
   * names pids of that namespace, so which of the processes carrying its tag it kept cannot be told
   * here — every one of them may be (judgedAt is then -Infinity).
   */
  elsewhere?: string;
}

/** Whether `p` carries the run's tag and was born after the run judged (neither kept by it nor judged). */
export function bornAfterJudging(p: ProcessInfo, run: KeptRun): boolean {
  if (p.taskTag !== run.tag || p.startTime < run.judgedAt - START_TIME_SLACK_MS) return false;
  const identity = identityKey(p);
  return !run.judged.has(identity) && !run.kept.some((k) => k.identity === identity);
}

/** `which kept pid 12 (my-launcher)`: the processes the run kept of its own accord (not only below another), a few. */
function keptNames(run: KeptRun): string {
  const own = run.kept.filter((k) => !k.reason.startsWith('below'));
  const named = (own.length > 0 ? own : run.kept).map((k) => `${k.pid} (${k.command})`);
  const shown = named.slice(0, 3).join(', ');
  return `which kept pid${named.length === 1 ? '' : 's'} ${shown}${named.length > 3 ? ` and ${named.length - 3} more` : ''}`;
}

/**
 * The processes that may be what a kept process started after its run ended, by pid, each with
 * why in words a person reads; what runs below one of them too (unless kept). `kept`: what the look
 * keeps already (never listed here).
 */
export function bornAfterKeeping(tree: ProcessTree<ProcessInfo>, live: ReadonlyMap<number, ProcessInfo>, runs: readonly KeptRun[], kept: ReadonlySet<number>): Map<number, string> {
  const found = new Map<number, string>();
  if (runs.length === 0) return found;
  const byTag = new Map(runs.map((r) => [r.tag, r] as const));
  const runOf = (p: ProcessInfo): KeptRun | undefined => (p.taskTag ? byTag.get(p.taskTag) : undefined);
  // The oldest first: a daemon's later children are named below it.
  const candidates = [...live.values()].filter((p) => runOf(p) !== undefined).sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  for (const p of candidates) {
    const run = runOf(p)!;
    if (kept.has(p.pid) || found.has(p.pid) || !bornAfterJudging(p, run) || belowJudged(p, run, live)) continue;
    const why = run.elsewhere !== undefined
      ? `its run, in PID namespace ${run.elsewhere}, ${keptNames(run)} there: which processes it kept cannot be told here`
      : `born after its run ended, ${keptNames(run)}: it may be the kept process's`;
    for (const d of subtree(tree, p, (q) => q === p || !(kept.has(q.pid) || found.has(q.pid)))) found.set(d.pid, d === p ? why : `below pid ${p.pid}, ${why}`);
  }
  return found;
}

/** Whether an ancestor of `p` carries the run's tag and was not born after it judged: a leak it judged (or its descendant), whose `p` is. */
function belowJudged(p: ProcessInfo, run: KeptRun, live: ReadonlyMap<number, ProcessInfo>): boolean {
  let q = parentOf(p, live);
  for (let depth = 0; q && depth < MAX_TREE_DEPTH; depth++) {
    if (q.taskTag === run.tag && !bornAfterJudging(q, run)) return true;
    q = parentOf(q, live);
  }
  return false;
}
