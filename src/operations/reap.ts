// Reaping: identity-checked termination of a leaked set. The whole set gets SIGTERM (tree roots
// first, so a browser can shut its own children down), a stopped process is then woken with
// SIGCONT (as systemd does: it cannot act on SIGTERM while stopped), survivors get SIGKILL after a
// grace period, and each process's identity (pid + start time) is re-read before every round of
// signals (one query for the round: on Linux a few microseconds per process, on Windows one
// PowerShell): a pid that now belongs to another process, or that cannot be read, is never
// signalled. Only attributed processes are reaped unless the caller explicitly allows others.
import { selfAndAncestors } from './ancestry.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader, StatusMap } from '../platform/types.js';
import { attributes } from '../rules/attribution.js';
import { identityKey } from '../rules/identity.js';
import { levelOrder, processTree } from '../rules/tree.js';
import type { AttributedProcess, ProcessInfo } from '../types.js';

/** What reaping did to one process (see the README's table). */
export type ReapResultKind =
  | 'terminated' // gone after the first signal
  | 'killed' // gone after SIGKILL
  | 'gone' // already gone before any signal
  | 'identity-changed' // the pid now belongs to another process: not signalled
  | 'not-permitted' // the OS refused the signal (another user's process)
  | 'unreadable' // it exists but its identity could not be read: not signalled
  | 'unattributed' // no tag or lineage evidence (a heuristic suspect) and allowUnattributed was not given: not signalled
  | 'refused' // pid ≤ 1, the tracker itself or one of its ancestors: never signalled
  | 'survived'; // still alive after SIGKILL and the bounded wait

/** One process's result of reaping. */
export interface ReapOutcome {
  pid: number;
  command: string;
  result: ReapResultKind;
  /** Signals actually sent, in order. */
  signals: string[];
}

/** How `reapOrphans()` signals. */
export interface ReapOptions {
  /** Time between the first signal and SIGKILL, in ms (default 3000). */
  graceMs?: number;
  /** Ends the grace period at once when aborted (a second Ctrl+C): survivors get SIGKILL now. */
  skipGrace?: AbortSignal;
  /** The first signal (default SIGTERM). */
  signal?: NodeJS.Signals;
  /** How long to wait for SIGKILLed processes to disappear, in ms (default 2000). */
  killWaitMs?: number;
  /**
   * Also signal processes without attributing evidence (`tag`, `lineage`): the seed's heuristic
   * list, or plain ProcessInfo records. Off by default: a heuristic suspect may be a bystander.
   */
  allowUnattributed?: boolean;
  reader?: PlatformReader;
  /** Sends a signal (default process.kill); tests inject their own. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/** Whether a process carries evidence that attributes it to a task (not only the seed's heuristic). */
export function isAttributed(p: ProcessInfo | AttributedProcess): boolean {
  const evidence = (p as Partial<AttributedProcess>).evidence;
  return Array.isArray(evidence) && attributes(evidence);
}

const POLL_MS = 25;

/** Waits `ms`, or less when the signal aborts. */
function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}

/** The order signals go out in: roots of the set first, then their children, depth by depth. */
export function reapOrder<T extends ProcessInfo>(processes: readonly T[]): T[] {
  return levelOrder(processTree(processes));
}

type Identity = 'same' | 'stopped' | 'gone' | 'changed' | 'unreadable';

/**
 * Terminates the given processes: SIGTERM to the whole set (tree roots first), SIGCONT to stopped
 * ones, SIGKILL to survivors after the grace period, each identity-checked before every round. Only
 * processes with tag or lineage evidence are signalled unless `allowUnattributed` is set. Never
 * rejects for a process; resolves with one outcome per process, in input order.
 */
export async function reapOrphans(processes: readonly (ProcessInfo | AttributedProcess)[], options: ReapOptions = {}): Promise<ReapOutcome[]> {
  const reader = options.reader ?? platformReader();
  const graceMs = options.graceMs ?? 3000;
  const killWaitMs = options.killWaitMs ?? 2000;
  const first = options.signal ?? 'SIGTERM';
  const kill = options.kill ?? ((pid: number, signal: NodeJS.Signals) => process.kill(pid, signal));
  const protectedSet = await selfAndAncestors(reader);

  /** One read of the identities of a round's processes. */
  const readRound = async (list: readonly ProcessInfo[]): Promise<(p: ProcessInfo) => Identity> => {
    let statuses: StatusMap;
    try {
      statuses = await reader.readStatuses(list.map((p) => p.pid));
    } catch {
      statuses = new Map(list.map((p) => [p.pid, null])); // nothing could be read: nothing is signalled
    }
    return (p) => {
      const status = statuses.get(p.pid);
      if (status === null) return 'unreadable';
      if (!status || !status.alive) return 'gone';
      if (identityKey(status) !== identityKey(p)) return 'changed';
      return status.stopped === false ? 'same' : 'stopped'; // a reader that cannot tell: maybe stopped
    };
  };
  /** Signals a process whose identity was just read; false when it must not (or cannot) be signalled. */
  const signalChecked = (p: ProcessInfo, state: Identity, outcome: ReapOutcome, signal: NodeJS.Signals): boolean => {
    if (state === 'gone') return false;
    if (state === 'changed' || state === 'unreadable') {
      if (outcome.signals.length === 0) outcome.result = state === 'changed' ? 'identity-changed' : 'unreadable';
      return false;
    }
    try {
      kill(p.pid, signal);
      outcome.signals.push(signal);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM') outcome.result = 'not-permitted';
      return false;
    }
  };
  /** Waits until every process is gone (or changed), or the time is up, or `abort` fires; returns those still there. */
  const waitGone = async (pending: ProcessInfo[], ms: number, abort?: AbortSignal): Promise<ProcessInfo[]> => {
    const deadline = Date.now() + ms;
    let left = pending;
    for (;;) {
      if (left.length === 0) return left;
      const identity = await readRound(left);
      // An unreadable process may still be there: it stays pending.
      left = left.filter((p) => ['same', 'stopped', 'unreadable'].includes(identity(p)));
      if (left.length === 0 || Date.now() >= deadline || abort?.aborted) return left;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), abort);
    }
  };

  // TerminateProcess on Windows is immediate and a parent cannot shut its children down: there the
  // tree goes children first, so no parent lives on to start new ones.
  const ordered = reader.platform === 'windows' ? reapOrder(processes).reverse() : reapOrder(processes);
  const outcomes = new Map<number, ReapOutcome>();
  const candidates: ProcessInfo[] = [];
  for (const p of ordered) {
    const outcome: ReapOutcome = { pid: p.pid, command: p.command, result: 'gone', signals: [] };
    outcomes.set(p.pid, outcome);
    if (p.pid <= 1 || protectedSet.has(p.pid)) outcome.result = 'refused';
    else if (!options.allowUnattributed && !isAttributed(p)) outcome.result = 'unattributed';
    else candidates.push(p);
  }
  const signalled: ProcessInfo[] = [];
  const firstRound = await readRound(candidates);
  for (const p of candidates) if (signalChecked(p, firstRound(p), outcomes.get(p.pid)!, first)) signalled.push(p);

  // Windows has no stopped processes to wake (and no SIGCONT); SIGKILL needs no waking.
  if (reader.platform !== 'windows' && first !== 'SIGKILL' && first !== 'SIGCONT' && signalled.length > 0) {
    const identity = await readRound(signalled);
    for (const p of signalled) {
      if (identity(p) !== 'stopped') continue;
      try {
        kill(p.pid, 'SIGCONT');
        outcomes.get(p.pid)!.signals.push('SIGCONT');
      } catch {
        // gone meanwhile: the wait below sees it
      }
    }
  }

  const survivors = await waitGone(signalled, graceMs, options.skipGrace);
  for (const p of signalled) if (!survivors.includes(p)) outcomes.get(p.pid)!.result = 'terminated';
  const killed: ProcessInfo[] = [];
  const killRound = await readRound(survivors);
  for (const p of survivors) {
    const outcome = outcomes.get(p.pid)!;
    const state = killRound(p);
    if (state === 'unreadable') {
      // Signalled once already: keep that result's meaning honest. It may still be there.
      outcome.result = 'survived';
      continue;
    }
    if (signalChecked(p, state, outcome, 'SIGKILL')) killed.push(p);
    else if (outcome.result === 'gone') outcome.result = 'terminated'; // exited just before SIGKILL
  }
  const stillAlive = await waitGone(killed, killWaitMs);
  for (const p of killed) outcomes.get(p.pid)!.result = stillAlive.includes(p) ? 'survived' : 'killed';
  return processes.map((p) => outcomes.get(p.pid)!);
}
