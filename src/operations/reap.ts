// Reaping: identity-checked termination of a leaked set, behind one gate. Whoever asks for the kill
// (run, scan, watch, the session follower, a cgroup kill, reapOrphans), before every round of
// signals the reaper takes one fresh look at the process table and refuses — from that look, not
// from what the caller passed in — whatever is rtrack's own, kept, in use by a live agent session
// (the agent, its tree, what hosts it, its session's processes) or unreadable (rules/gate.ts).
// The whole remaining set gets SIGTERM (tree roots first, so a browser can shut its own children
// down), a stopped process is then woken with SIGCONT (as systemd does: it cannot act on SIGTERM
// while stopped), survivors get SIGKILL after a grace period, and each process's identity (pid +
// start time) is read again microseconds before every signal (one query for the round): a pid that
// now belongs to another process, or that cannot be read, is never signalled. Only attributed
// processes are reaped unless the caller explicitly allows others.
import type { UserState } from '../files.js';
import type { RunCgroup } from '../platform/cgroup.js';
import { platformReader } from '../platform/index.js';
import { COMMAND_LINE_HEAD, type PlatformReader, type StatusMap } from '../platform/types.js';
import { attributes } from '../rules/attribution.js';
import { isAgentProcess } from '../rules/agents.js';
import { refusalOf, type GateCall, type Refusal } from '../rules/gate.js';
import { identityKey, MAX_TREE_DEPTH } from '../rules/identity.js';
import { levelOrder, processTree } from '../rules/tree.js';
import type { AgentConfig, AgentMarker, AttributedProcess, ProcessInfo, ReapOutcome } from '../types.js';
import { recordSignals, type SignalRequester } from './signal-record.js';
import { lookAtTable, withPipelines, type TableLook, type UsersOfLook } from './table-look.js';
import { checkPid, checkReapOptions } from '../validate.js';

/** The processes given to reap: records with a pid and a start time (what snapshots and reports carry). */
function checkProcesses(processes: unknown): void {
  if (!Array.isArray(processes)) throw new TypeError('reapOrphans(processes): processes must be an array of process records (a report\'s orphans, detectOrphans())');
  for (const [i, p] of processes.entries()) {
    if (typeof p !== 'object' || p === null) throw new TypeError(`reapOrphans: processes[${i}] must be a process record`);
    checkPid(`reapOrphans: processes[${i}].pid`, (p as ProcessInfo).pid);
    if (typeof (p as ProcessInfo).startTime !== 'number') throw new TypeError(`reapOrphans: processes[${i}].startTime must be a number (the identity that keeps a reused pid from being signalled)`);
  }
}

// What reaping did (ReapOutcome, ReapResultKind): with the shared records (src/types.ts), for the
// journal's readers below operations/ (tracking/session-records.ts).
export type { ReapOutcome, ReapResultKind } from '../types.js';

/** How `reapOrphans()` signals. */
export interface ReapOptions {
  /** Time between the first signal and SIGKILL, in ms (default 3000). */
  graceMs?: number;
  /** Ends the grace period at once when aborted (a second Ctrl+C, a run's `abortSignal`): survivors get SIGKILL now. */
  skipGrace?: AbortSignal;
  /** The first signal, the one the grace period follows (default SIGTERM). */
  firstSignal?: NodeJS.Signals;
  /** How long to wait for SIGKILLed processes to disappear, in ms (default 2000). */
  killWaitMs?: number;
  /**
   * Also signal processes without attributing evidence (`tag`, `lineage`): the seed's heuristic
   * list, or plain ProcessInfo records. Off by default: a heuristic suspect may be a bystander.
   */
  allowUnattributed?: boolean;
  /** Keep patterns (regular expressions) judged on the command lines as they are at the signal. */
  keep?: readonly string[];
  /** Keep the built-in shared per-user daemons (default true). */
  keepSharedDaemons?: boolean;
  /** Agents of your own, besides the built-in ones, whose live sessions are never signalled. */
  agents?: readonly AgentConfig[];
  /** rtrack's state directory (agents registered by hooks, the follower lock); default `$XDG_STATE_HOME/rtrack`. */
  state?: string;
  /** Every state directory the gate reads, each with its user (a system-wide watch: every user's); default `[state]`. */
  states?: readonly UserState[];
  /**
   * A system-wide watch's users, as its scans read them: their state directories (instead of
   * `states`) and what their own configs keep of their processes (table-look.ts UsersOfLook).
   * @internal
   */
  userFiles?: UsersOfLook;
  /**
   * Agent sessions whose markers the processes to reap inherited from their run — a run started
   * inside a live session: its own leaks carry that session's markers, and reaping them is allowed.
   * Only for a run's own orphans (`runTracked` passes the sessions its task's environment carries);
   * never for a machine-wide reap. Default: none.
   */
  runSessions?: readonly AgentMarker[];
  /**
   * What is signalled is what a run's own group holds after what the run kept left it (the run's
   * releaseGroup): born of its orphans, so what was born after the run judged is not refused as
   * maybe a kept process's (rules/kept-runs.ts). Only for that; default false.
   */
  ownGroup?: boolean;
  reader?: PlatformReader;
  /** Sends a signal (default process.kill); tests inject their own. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** Who asks (written in `<state>/signals.jsonl` with every signal; default `library`). */
  by?: SignalRequester;
}

/** The gate's look for a round of signals; a look that fails refuses everything. */
async function gateLook(reader: PlatformReader, options: ReapOptions): Promise<TableLook | string> {
  try {
    return await lookAtTable({ reader, agents: options.agents, keep: options.keep, keepSharedDaemons: options.keepSharedDaemons, state: options.state, states: options.states, userFiles: options.userFiles, ignoreSessions: options.runSessions });
  } catch (err) {
    return `the process table could not be read: ${(err as Error).message}`;
  }
}

/** What the gate says of one process of the round: may it be signalled, or why not. */
function gateVerdict(p: ProcessInfo, look: TableLook | string, call: GateCall): 'signal' | 'gone' | 'identity-changed' | Refusal {
  if (typeof look === 'string') return { result: 'unreadable', reason: look };
  const now = look.live.get(p.pid);
  if (!now) return look.snapshot.unreadable?.includes(p.pid) ? { result: 'unreadable', reason: 'it exists but cannot be read' } : 'gone';
  if (identityKey(now) !== identityKey(p)) return 'identity-changed';
  return refusalOf(p.pid, look, call) ?? 'signal';
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
  checkReapOptions('reapOrphans: options', options);
  checkProcesses(processes);
  const reader = options.reader ?? platformReader();
  const graceMs = options.graceMs ?? 3000;
  const killWaitMs = options.killWaitMs ?? 2000;
  const first = options.firstSignal ?? 'SIGTERM';
  const reaping: Reaping = {
    reader,
    options,
    kill: options.kill ?? ((pid: number, signal: NodeJS.Signals) => process.kill(pid, signal)),
    // What the gate knows of this call: its targets (a multiplexer's server goes only with all it hosts), and whether a person named them.
    call: { targets: new Set(processes.map((p) => p.pid)), named: options.allowUnattributed === true, ownGroup: options.ownGroup === true },
    outcomes: new Map(),
  };
  const { outcomes } = reaping;
  const candidates = startOutcomes(reaping, processes);
  const signalled = await firstRound(reaping, candidates, first);
  // Windows has no stopped processes to wake (and no SIGCONT); SIGKILL needs no waking.
  if (reader.platform !== 'windows' && first !== 'SIGKILL' && first !== 'SIGCONT' && signalled.length > 0) await wakeStopped(reaping, signalled);

  const survivors = await waitGone(reader, signalled, graceMs, options.skipGrace);
  for (const p of signalled) if (!survivors.includes(p)) outcomes.get(p.pid)!.result = 'terminated';
  const killed = await killRound(reaping, survivors);
  const stillAlive = await waitGone(reader, killed, killWaitMs);
  for (const p of killed) outcomes.get(p.pid)!.result = stillAlive.includes(p) ? 'survived' : 'killed';
  return processes.map((p) => outcomes.get(p.pid)!);
}

/** One call of reapOrphans: how it reads and signals, what the gate knows of it, and each process's outcome so far. */
interface Reaping {
  reader: PlatformReader;
  options: ReapOptions;
  kill: (pid: number, signal: NodeJS.Signals) => void;
  call: GateCall;
  /** One outcome per process, by pid: `gone` until something else is found. */
  outcomes: Map<number, ReapOutcome>;
}

/** Each process's outcome, in the order signals go out; the candidates for the first round (pid 1 and lower are refused here). */
function startOutcomes(reaping: Reaping, processes: readonly ProcessInfo[]): ProcessInfo[] {
  const { reader, outcomes } = reaping;
  // TerminateProcess on Windows is immediate and a parent cannot shut its children down: there the
  // tree goes children first, so no parent lives on to start new ones.
  const ordered = reader.platform === 'windows' ? reapOrder(processes).reverse() : reapOrder(processes);
  const candidates: ProcessInfo[] = [];
  for (const p of ordered) {
    const outcome: ReapOutcome = { pid: p.pid, command: p.command, result: 'gone', signals: [] };
    outcomes.set(p.pid, outcome);
    if (p.pid <= 1) {
      outcome.result = 'refused';
      outcome.reason = 'pid 1 or lower';
    } else candidates.push(p);
  }
  return candidates;
}

/** The first signal to what the gate allows; those it was sent to. */
async function firstRound(reaping: Reaping, candidates: readonly ProcessInfo[], first: NodeJS.Signals): Promise<ProcessInfo[]> {
  const { outcomes, options } = reaping;
  const signalled: ProcessInfo[] = [];
  const allowed = await gate(reaping, candidates);
  const identity = await readRound(reaping.reader, allowed);
  record(options, allowed.filter((p) => signalable(identity(p))), first);
  for (const p of allowed) if (signalChecked(reaping, p, identity(p), outcomes.get(p.pid)!, first)) signalled.push(p);
  return signalled;
}

/** SIGCONT to the signalled processes that are stopped: a stopped process cannot act on SIGTERM. */
async function wakeStopped(reaping: Reaping, signalled: readonly ProcessInfo[]): Promise<void> {
  const { outcomes, options, kill } = reaping;
  const identity = await readRound(reaping.reader, signalled);
  record(options, signalled.filter((p) => identity(p) === 'stopped'), 'SIGCONT');
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

/** SIGKILL to the survivors of the grace period that the gate still allows; those it was sent to. */
async function killRound(reaping: Reaping, survivors: readonly ProcessInfo[]): Promise<ProcessInfo[]> {
  const { outcomes, options } = reaping;
  const killed: ProcessInfo[] = [];
  const stillAllowed = await gate(reaping, survivors);
  const identity = await readRound(reaping.reader, stillAllowed);
  record(options, stillAllowed.filter((p) => signalable(identity(p))), 'SIGKILL');
  for (const p of stillAllowed) {
    const outcome = outcomes.get(p.pid)!;
    const state = identity(p);
    if (state === 'unreadable') {
      // Signalled once already: keep that result's meaning honest. It may still be there.
      outcome.result = 'survived';
      continue;
    }
    if (signalChecked(reaping, p, state, outcome, 'SIGKILL')) killed.push(p);
    else if (outcome.result === 'gone') outcome.result = 'terminated'; // exited just before SIGKILL
  }
  return killed;
}

/** The gate's verdicts from one look, for the processes of a round: those that may be signalled; the others get their outcome. */
async function judge(reaping: Reaping, list: readonly ProcessInfo[], look: TableLook | string): Promise<ProcessInfo[]> {
  const { reader, options, call, outcomes } = reaping;
  const pass: ProcessInfo[] = [];
  for (const p of list) {
    let verdict = gateVerdict(p, look, call);
    // An environment that could not be read because the process was exiting: gone, not unreadable.
    if (typeof verdict === 'object' && verdict.result === 'unreadable' && typeof look !== 'string') {
      const status = await reader.readStatus(p.pid).catch(() => null);
      if (status === undefined || status?.alive === false) verdict = 'gone';
    }
    const outcome = outcomes.get(p.pid)!;
    if (verdict === 'signal') {
      if (options.allowUnattributed || isAttributed(p)) pass.push(p);
      else outcome.result = 'unattributed';
    } else if (verdict === 'gone' || verdict === 'identity-changed') {
      // Signalled before: it exited since (its pid may be someone else's now).
      if (outcome.signals.length > 0) outcome.result = 'terminated';
      else if (verdict === 'identity-changed') outcome.result = 'identity-changed';
    } else {
      outcome.result = verdict.result;
      outcome.reason = outcome.signals.length === 0 ? verdict.reason : `${verdict.reason} (seen after ${outcome.signals.join(', ')}: not signalled again)`;
    }
  }
  return pass;
}

/**
 * The processes the look judged that have changed since in a way that may put them in use (a look
 * takes tens of milliseconds): one that exec'd (a leaked shell that became `claude`), or one with a
 * child the look did not see that is an agent (`claude` started in a leaked tmux). Read for the
 * round's processes only, where the reader reads single command lines (Linux). Other new children
 * are not a change: a leaked loop forks all the time.
 */
async function changedSince(reader: PlatformReader, list: readonly ProcessInfo[], look: TableLook | string): Promise<Set<number>> {
  const changed = new Set<number>();
  const readCommandLine = reader.readCommandLine?.bind(reader);
  if (typeof look === 'string' || list.length === 0 || !readCommandLine) return changed;
  for (const p of list) {
    // Compared as the look read it: its first 4 KiB, or all of it where the look read it whole.
    const seen = look.live.get(p.pid)?.commandLine ?? '';
    if (readCommandLine(p.pid, Buffer.byteLength(seen) >= COMMAND_LINE_HEAD - 1) !== seen) changed.add(p.pid);
  }
  const children = await reader.readChildren(list.map((p) => p.pid)).catch(() => []);
  for (const c of children) {
    const seen = look.live.get(c.pid);
    if (seen && identityKey(seen) === identityKey(c)) continue;
    const commandLine = readCommandLine(c.pid);
    if (commandLine && look.agents.some((agent) => isAgentProcess(agent, commandLine))) changed.add(c.ppid);
  }
  return changed;
}

/**
 * The gate for a round: a fresh look at the table judges every process; one that changed while it
 * looked is judged again by a new look (three at most: what keeps changing is not signalled).
 */
async function gate(reaping: Reaping, list: readonly ProcessInfo[]): Promise<ProcessInfo[]> {
  const { reader, options, outcomes } = reaping;
  const pass = new Set<ProcessInfo>();
  let pending = list;
  for (let looks = 0; looks < 3 && pending.length > 0; looks++) {
    const seen = await gateLook(reader, options);
    // What is kept keeps its pipeline (rules/keep.ts keptByPipeline): read for this round's processes.
    const look = typeof seen === 'string' ? seen : withPipelines(seen, reader, pending.map((p) => p.pid));
    const allowed = await judge(reaping, pending, look);
    const changed = await changedSince(reader, allowed, look);
    for (const p of allowed) if (!changed.has(p.pid)) pass.add(p);
    pending = allowed.filter((p) => changed.has(p.pid));
  }
  for (const p of pending) {
    const outcome = outcomes.get(p.pid)!;
    outcome.result = 'refused';
    outcome.reason = 'it changed (exec, new children) while each of three looks judged it';
  }
  return list.filter((p) => pass.has(p));
}

/** One read of the identities of a round's processes. */
async function readRound(reader: PlatformReader, list: readonly ProcessInfo[]): Promise<(p: ProcessInfo) => Identity> {
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
}

const signalable = (state: Identity): boolean => state === 'same' || state === 'stopped';

/** Writes the round's signals to the record before they are sent (see signal-record.ts). */
function record(options: ReapOptions, list: readonly ProcessInfo[], signal: NodeJS.Signals): void {
  recordSignals(options.state, options.by ?? 'library', list, signal);
}

/** Signals a process whose identity was just read; false when it must not (or cannot) be signalled. */
function signalChecked({ kill }: Reaping, p: ProcessInfo, state: Identity, outcome: ReapOutcome, signal: NodeJS.Signals): boolean {
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
}

/** Waits until every process is gone (or changed), or the time is up, or `abort` fires; returns those still there. */
async function waitGone(reader: PlatformReader, pending: ProcessInfo[], ms: number, abort?: AbortSignal): Promise<ProcessInfo[]> {
  const deadline = Date.now() + ms;
  let left = pending;
  for (;;) {
    if (left.length === 0) return left;
    const identity = await readRound(reader, left);
    // An unreadable process may still be there: it stays pending.
    left = left.filter((p) => ['same', 'stopped', 'unreadable'].includes(identity(p)));
    if (left.length === 0 || Date.now() >= deadline || abort?.aborted) return left;
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), abort);
  }
}

/**
 * Whether a process is one of `identities`, or runs below one of them now (a survivor's child born
 * while it was reaped). A process whose parent has exited is connected to nothing: a kept launcher's
 * daemon started after the verdict is not the leak's.
 */
function belowOneOf(p: ProcessInfo, identities: ReadonlySet<string>, look: TableLook): boolean {
  let q: ProcessInfo | undefined = p;
  for (let depth = 0; q && depth < MAX_TREE_DEPTH; depth++) {
    if (identities.has(identityKey(q))) return true;
    const parent = look.live.get(q.ppid);
    q = parent && parent.startTime <= q.startTime ? parent : undefined; // a younger "parent" took a freed pid
  }
  return false;
}

/** What `reapCgroup()` did: the outcomes of the members it killed one by one, and what it left in the group. */
export interface CgroupReap {
  /** How the group's members were killed: all at once (`cgroup.kill`), one by one (identity-checked), or none was left to kill. */
  how: 'cgroup.kill' | 'one by one' | 'nothing left';
  /** Members killed one by one, and those the gate refused. */
  outcomes: ReapOutcome[];
  /** Members that stay in the group (could not be moved out), with why; and groups of other runs inside it (no pid). */
  left: { pid?: number; reason: string }[];
  /** Whether the group was removed. */
  removed: boolean;
}

/** Options of separateGroup() and reapCgroup(): the gate's, and what the caller means to end. */
export type CgroupReapOptions = ReapOptions & {
  /**
   * What the caller reaps, by identity (`identityKey`): every other member that does not run below
   * one of them leaves the group (separateGroup). Default: every member may stay.
   */
  only?: ReadonlySet<string>;
};

/** The members of a group that must not be killed with it, with why — judged from one look at the table. */
function groupJudge(reader: PlatformReader, options: CgroupReapOptions): (pid: number, look: TableLook | string) => string | undefined {
  const uid = process.getuid?.();
  return (pid, look) => {
    if (typeof look === 'string') return look;
    const p = look.live.get(pid);
    // Born since the look, inside the group: the run's, like its parent (a frozen group has none).
    if (!p) return look.snapshot.unreadable?.includes(pid) ? 'it cannot be read' : undefined;
    if (options.only && !belowOneOf(p, options.only, look)) return 'not what the caller reaps, nor below it';
    const refusal = refusalOf(pid, look, { ownGroup: options.ownGroup === true });
    if (refusal) return `${refusal.result}: ${refusal.reason}`;
    if (uid !== undefined && uid !== 0) {
      const owner = reader.readOwner?.(pid);
      if (owner !== undefined && owner !== uid) return "another user's process";
    }
    return undefined;
  };
}

const selfOrAncestor = (pid: number, look: TableLook | string): boolean => typeof look !== 'string' && /^(rtrack itself|an ancestor of rtrack)/.test(look.own.get(pid) ?? '');

/**
 * One look at a group's members, with the pipelines of what is kept (withPipelines): what the gate
 * judges a group by.
 */
async function groupLook(reader: PlatformReader, options: ReapOptions, group: RunCgroup): Promise<TableLook | string> {
  const look = await gateLook(reader, options);
  return typeof look === 'string' ? look : withPipelines(look, reader, group.members());
}

/**
 * Freezes a group unless it holds rtrack itself or one of its ancestors (`scan --reap` run from a
 * shell inside a leftover run group): frozen, they could never thaw it again. Such a group is judged
 * unfrozen, and never killed whole (selfOrAncestor).
 */
async function freezeUnlessOurs(group: RunCgroup, reader: PlatformReader): Promise<boolean> {
  const ours: number[] = [];
  let pid: number | undefined = process.pid;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < MAX_TREE_DEPTH; depth++) {
    ours.push(pid);
    pid = (await reader.readStatus(pid).catch(() => undefined))?.ppid;
  }
  if (group.holdsAnyOf(ours)) return false;
  return group.freeze();
}

/**
 * Moves out of a group (to its parent) every member that must not die with it: what the gate refuses
 * (kept — a pipeline included —, in use, rtrack's own, unreadable, a shared host's), another user's,
 * and with `only` whatever is not what the caller reaps nor below it — again until nothing moves.
 * The group is frozen meanwhile where the kernel allows (and thawed after), so what is judged is
 * what is moved: nothing forks, execs or exits between the look and the move. What a moved process
 * starts afterwards is born outside. rtrack itself and its ancestors are never moved. Returns the
 * members left that must stay, with why.
 */
export async function separateGroup(group: RunCgroup, options: CgroupReapOptions = {}): Promise<{ pid: number; reason: string }[]> {
  const reader = options.reader ?? platformReader();
  const mustStay = groupJudge(reader, options);
  const frozen = group.frozen() || (await freezeUnlessOurs(group, reader));
  try {
    let look: TableLook | string = '';
    for (let round = 0; round < 10; round++) {
      const members = group.members();
      if (members.length === 0) return [];
      look = await groupLook(reader, options, group);
      let moved = 0;
      for (const pid of members) {
        if (mustStay(pid, look) === undefined || selfOrAncestor(pid, look)) continue;
        if (group.moveOut(pid)) moved++;
      }
      if (moved === 0 || frozen) break; // frozen, nothing new can need moving
    }
    return group.members().flatMap((pid) => {
      const why = mustStay(pid, look);
      return why === undefined ? [] : [{ pid, reason: why }];
    });
  } finally {
    if (frozen) group.thaw();
  }
}

/**
 * Kills what is left in a run's control group — all of it the run's (evidence `cgroup`) — without
 * killing what the gate refuses. The group is frozen (where the kernel allows: Linux 5.2+), one look
 * judges every member, what must stay moves out (separateGroup: kept, in use, rtrack's own,
 * unreadable, a shared host's, another user's; with `only`, what the caller does not reap), every
 * member left is written to the signal record, and `cgroup.kill` ends them all at once — children
 * forked during reaping included, since a frozen group forks nothing and a thawed process moved out
 * forks outside. rtrack itself and its ancestors are never moved: a group that holds them is never
 * killed whole; nor is a group that holds another run's group (cgroup.kill is recursive): then the
 * members the gate allows get SIGKILL one by one, identity-checked. Then the group is removed when
 * it is empty.
 */
export async function reapCgroup(group: RunCgroup, options: CgroupReapOptions = {}): Promise<CgroupReap> {
  const reader = options.reader ?? platformReader();
  const mustStay = groupJudge(reader, options);
  const removeWhenEmpty = async (): Promise<boolean> => group.remove() || (await group.waitEmpty(2000).then(() => group.remove()));
  const frozen = await freezeUnlessOurs(group, reader);
  try {
    let look: TableLook | string = '';
    for (let round = 0; round < 10; round++) {
      const members = group.members();
      if (members.length === 0) break;
      look = await groupLook(reader, options, group);
      let moved = 0;
      for (const pid of members) {
        if (mustStay(pid, look) === undefined || selfOrAncestor(pid, look)) continue;
        if (group.moveOut(pid)) moved++;
      }
      if (moved === 0 || frozen) break;
    }
    const members = group.members();
    if (members.length === 0) return { how: 'nothing left', outcomes: [], left: [], removed: await removeWhenEmpty() };
    if (!frozen) look = await groupLook(reader, options, group);
    const left = members.flatMap((pid) => {
      const why = mustStay(pid, look);
      return why === undefined ? [] : [{ pid, reason: selfOrAncestor(pid, look) ? `${why} (a group that holds rtrack or its ancestors is never killed whole)` : why }];
    });
    // cgroup.kill takes the groups below too (a run started inside the run made one): their members
    // are not this group's to judge, so then only its own members go, one by one.
    const nested = group.populatedSubgroups();
    if (left.length === 0 && nested.length === 0 && typeof look !== 'string') {
      const judged = look;
      const record: (ProcessInfo | AttributedProcess)[] = members.map((pid) => {
        const p = judged.live.get(pid);
        return p ? { ...p, evidence: ['cgroup'] } : { pid, ppid: 0, command: '(born since the look)', memoryMB: 0, isMCP: false, startTime: 0 };
      });
      recordSignals(options.state, options.by ?? 'library', record, 'SIGKILL', 'cgroup.kill');
      await group.kill();
      return { how: 'cgroup.kill', outcomes: [], left, removed: await removeWhenEmpty() };
    }
    if (frozen) group.thaw(); // one by one: each signalled process must be able to die
    const stay = new Set(left.map((l) => l.pid));
    const targets: AttributedProcess[] = typeof look === 'string' ? [] : members.filter((pid) => !stay.has(pid)).flatMap((pid) => {
      const p = (look as TableLook).live.get(pid);
      return p ? [{ ...p, evidence: ['cgroup'] as AttributedProcess['evidence'] }] : [];
    });
    const outcomes = targets.length > 0 ? await reapOrphans(targets, { ...options, firstSignal: 'SIGKILL', graceMs: Math.min(options.graceMs ?? 1000, 1000) }) : [];
    const all: CgroupReap['left'] = [...left, ...nested.map((dir) => ({ reason: `${dir}: a group of another run inside it, left as it is` }))];
    return { how: 'one by one', outcomes, left: all, removed: group.remove() };
  } finally {
    if (frozen) group.thaw();
  }
}
