// Reaping: identity-checked termination of a leaked set. The whole set gets SIGTERM (tree roots
// first, so a browser can shut its own children down), a stopped process is then woken with
// SIGCONT (as systemd does: it cannot act on SIGTERM while stopped), survivors get SIGKILL after a
// grace period, and each process's identity (pid + start time) is re-read immediately before every
// signal: a pid that now belongs to another process is never signalled.
import { selfAndAncestors } from './ancestry.js';
import { platformReader } from './platform/index.js';
import type { PlatformReader } from './platform/types.js';
import type { ProcessInfo } from './types.js';

export type ReapResultKind =
  | 'terminated' // gone after the first signal
  | 'killed' // gone after SIGKILL
  | 'gone' // already gone before any signal
  | 'identity-changed' // the pid now belongs to another process: not signalled
  | 'not-permitted' // the OS refused the signal (another user's process)
  | 'refused' // pid ≤ 1, the tracker itself or one of its ancestors: never signalled
  | 'survived'; // still alive after SIGKILL and the bounded wait

export interface ReapOutcome {
  pid: number;
  command: string;
  result: ReapResultKind;
  /** Signals actually sent, in order. */
  signals: string[];
}

export interface ReapOptions {
  /** Time between the first signal and SIGKILL, in ms (default 3000). */
  graceMs?: number;
  /** The first signal (default SIGTERM). */
  signal?: NodeJS.Signals;
  /** How long to wait for SIGKILLed processes to disappear, in ms (default 2000). */
  killWaitMs?: number;
  reader?: PlatformReader;
  /** Sends a signal (default process.kill); tests inject their own. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

const POLL_MS = 25;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The order signals go out in: roots of the set first, then their children, depth by depth. */
export function reapOrder<T extends ProcessInfo>(processes: readonly T[]): T[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const depth = new Map<number, number>();
  const depthOf = (p: T, guard: number): number => {
    const known = depth.get(p.pid);
    if (known !== undefined) return known;
    const parent = byPid.get(p.ppid);
    const d = parent && parent !== p && guard < 4096 ? depthOf(parent, guard + 1) + 1 : 0;
    depth.set(p.pid, d);
    return d;
  };
  return [...processes].sort((a, b) => depthOf(a, 0) - depthOf(b, 0) || a.pid - b.pid);
}

export async function reapOrphans(processes: readonly ProcessInfo[], options: ReapOptions = {}): Promise<ReapOutcome[]> {
  const reader = options.reader ?? platformReader();
  const graceMs = options.graceMs ?? 3000;
  const killWaitMs = options.killWaitMs ?? 2000;
  const first = options.signal ?? 'SIGTERM';
  const kill = options.kill ?? ((pid: number, signal: NodeJS.Signals) => process.kill(pid, signal));
  const protectedSet = await selfAndAncestors(reader);

  const identityOf = async (p: ProcessInfo): Promise<'same' | 'stopped' | 'gone' | 'changed'> => {
    const status = await reader.readStatus(p.pid);
    if (!status || !status.alive) return 'gone';
    if (status.startTime !== p.startTime) return 'changed';
    return status.stopped === false ? 'same' : 'stopped'; // a reader that cannot tell: maybe stopped
  };
  const isSame = async (p: ProcessInfo): Promise<'same' | 'gone' | 'changed'> => {
    const state = await identityOf(p);
    return state === 'stopped' ? 'same' : state;
  };
  /** Checks identity, then signals; returns false when the process must not (or cannot) be signalled. */
  const signalChecked = async (p: ProcessInfo, outcome: ReapOutcome, signal: NodeJS.Signals): Promise<boolean> => {
    const state = await isSame(p);
    if (state === 'gone') return false;
    if (state === 'changed') {
      if (outcome.signals.length === 0) outcome.result = 'identity-changed';
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
  const waitGone = async (pending: ProcessInfo[], ms: number): Promise<ProcessInfo[]> => {
    const deadline = Date.now() + ms;
    let left = pending;
    for (;;) {
      const still: ProcessInfo[] = [];
      for (const p of left) if ((await isSame(p)) === 'same') still.push(p);
      left = still;
      if (left.length === 0 || Date.now() >= deadline) return left;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
    }
  };

  // TerminateProcess on Windows is immediate and a parent cannot shut its children down: there the
  // tree goes children first, so no parent lives on to start new ones.
  const ordered = reader.platform === 'windows' ? reapOrder(processes).reverse() : reapOrder(processes);
  const outcomes = new Map<number, ReapOutcome>();
  const signalled: ProcessInfo[] = [];
  for (const p of ordered) {
    const outcome: ReapOutcome = { pid: p.pid, command: p.command, result: 'gone', signals: [] };
    outcomes.set(p.pid, outcome);
    if (p.pid <= 1 || protectedSet.has(p.pid)) {
      outcome.result = 'refused';
      continue;
    }
    if (await signalChecked(p, outcome, first)) signalled.push(p);
  }
  // Windows has no stopped processes to wake (and no SIGCONT); SIGKILL needs no waking.
  if (reader.platform !== 'windows' && first !== 'SIGKILL' && first !== 'SIGCONT') {
    for (const p of signalled) {
      if ((await identityOf(p)) !== 'stopped') continue;
      try {
        kill(p.pid, 'SIGCONT');
        outcomes.get(p.pid)!.signals.push('SIGCONT');
      } catch {
        // gone meanwhile: the wait below sees it
      }
    }
  }

  const survivors = await waitGone(signalled, graceMs);
  for (const p of signalled) if (!survivors.includes(p)) outcomes.get(p.pid)!.result = 'terminated';
  const killed: ProcessInfo[] = [];
  for (const p of survivors) {
    const outcome = outcomes.get(p.pid)!;
    if (await signalChecked(p, outcome, 'SIGKILL')) killed.push(p);
    else if (outcome.result === 'gone') outcome.result = 'terminated'; // exited just before SIGKILL
  }
  const stillAlive = await waitGone(killed, killWaitMs);
  for (const p of killed) outcomes.get(p.pid)!.result = stillAlive.includes(p) ? 'survived' : 'killed';
  return processes.map((p) => outcomes.get(p.pid)!);
}
