// Running a task under tracking: before snapshot → tagged, followed task → after snapshot →
// verdicts. The report is built whatever happens (command not found, failed snapshot, signals):
// every start failure resolves with a report whose `outcome` is `not-started` and whose
// `startFailure` says why; invalid options reject at the call (TypeError, RangeError).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../log.js';
import type { PlatformReader } from '../platform/types.js';
import { BYTES_PER_MB, exceedsThreshold, totalMemoryBytes, totalMemoryMB } from '../rules/memory.js';
import { RunCgroup, locateCgroupParent } from '../platform/cgroup.js';
import { leakCostTotals, type LeakCostTotals } from '../tracking/leak-cost.js';

export type { LeakCostTotals };
import { reapCgroup, reapOrphans, separateGroup, type ReapOptions, type ReapOutcome } from './reap.js';
import { recordKept } from './kept-registry.js';
import { stateDirectory } from '../files.js';
import { platformReader } from '../platform/index.js';
import { pipelineKept } from './table-look.js';
import { pipelineReason } from '../rules/keep.js';
import { identityKey } from '../rules/identity.js';
import { agentDefinitions, agentMarkersOf } from '../rules/agents.js';
import { ResourceTracker, describeProcess, type RunningLeak } from '../tracking/tracker.js';
import type { TaskAccount } from '../tracking/task-account.js';
import type { AttributedProcess, CgroupMode, ProcessInfo, ProcessSnapshot, ResourceTrackerConfig } from '../types.js';
import { checkAbortSignal, checkDuration, checkFunction, checkOneOf, checkOptionsObject, checkReapOptions, checkSignalName, describeValue } from '../validate.js';

/** The totals of a snapshot, as the report carries them. */
export interface SnapshotSummary {
  processCount: number;
  totalMemoryMB: number;
  totalMemoryBytes: number;
}

/** How a task ended: `report.outcome`. */
export type TaskOutcome = 'exited' | 'signalled' | 'timed-out' | 'aborted' | 'not-started';

/** Why a task did not start (`report.startFailure`, with `outcome: 'not-started'`). */
export interface StartFailure {
  /**
   * What was wrong: the `command` (not found, not executable, its interpreter missing), the `cwd`
   * (missing, not a directory, not searchable), the `arguments` (not strings, empty, a NUL byte, too
   * long for the OS: E2BIG), the `cgroup` (`cgroup: 'required'` and none could be made), or the run
   * was `aborted` before the task started.
   */
  cause: 'command' | 'cwd' | 'arguments' | 'cgroup' | 'aborted';
  /** The error's code: `ENOENT`, `EACCES`, `ENOTDIR`, `E2BIG`, `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ABORT_ERR`, `ERR_CGROUP_UNAVAILABLE`, or another the OS gave. */
  code: string;
  /** What failed, one line (the report's `error`). */
  message: string;
}

/**
 * What every report carries, whatever the outcome. Field names are stable: orchestrators parse them
 * (`rtrack run --report` writes this object as JSON).
 */
export interface TaskReportBase {
  command: string[];
  /** How the task ended; narrows the report (`exitCode`, `signal`, `stoppedBy`, `startFailure`). */
  outcome: TaskOutcome;
  /** Its exit code; null when a signal ended it or it did not start (127 or 126 when its command could not be found or run, as in a shell). */
  exitCode: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  durationMs: number;
  before: SnapshotSummary | null;
  after: SnapshotSummary | null;
  /** The seed's machine-wide memory delta (every process's RSS after − before), MB: other load counts too. The task's own figure is `account.memory`. */
  memoryDeltaMB: number;
  /** The same delta in bytes. */
  memoryDeltaBytes: number;
  memoryThresholdMB: number;
  /** `memoryDeltaMB` is strictly above `memoryThresholdMB` (the seed's machine-wide warning). */
  memoryGrowthExceeded: boolean;
  /** The task's leaks: processes with tag or lineage evidence, still alive after it ended (with `logOrphanedMCPOnly`, the MCP/browser ones only). */
  orphans: AttributedProcess[];
  /** With `logOrphanedMCPOnly`: the task's other leaks, left out of `orphans`, the summary, reaping and metrics, but not lost. */
  nonMcpOrphans?: AttributedProcess[];
  /** New orphaned processes only the seed's heuristic points at: shown, not attributed. When tasks run at once, each is named in one report only (`couldBelongTo`). */
  suspects: AttributedProcess[];
  /** The task's processes declared to outlive it. */
  kept: AttributedProcess[];
  /** Total RSS of the orphans, in MB: where their PSS was read (`leakCost`), the RSS read with it. */
  leakedMemoryMB: number;
  /** The same total in bytes. */
  leakedMemoryBytes: number;
  /** What the orphans cost (where the OS tells more than RSS): PSS — what ending them gives back — USS, CPU share, spinning ones. */
  leakCost?: LeakCostTotals;
  /** The task's own account: its tree's memory (peak, last), its CPU time, what its leaks hold (Linux). */
  account?: TaskAccount;
  /** The RESOURCE_TRACKER_TASK value given to the task. */
  tag: string | null;
  /** What reaping did to each orphan; present (possibly empty) whenever `reap` was asked for, also when the task did not start. */
  reaped?: ReapOutcome[];
  /** The task's control group, when it ran in one: its path, how many processes it held when the task ended, and the group's own memory where the memory controller is enabled. */
  cgroup?: { path: string; members: number; memoryCurrentBytes?: number; memoryPeakBytes?: number; removed: boolean };
  /** Set when the task was stopped by `runTracked`'s `timeout` or `abortSignal` (it was sent `killSignal`, then SIGKILL). */
  stoppedBy?: 'timeout' | 'abort';
  /** Why the task did not start (with `outcome: 'not-started'`). */
  startFailure?: StartFailure;
  /** What failed, when something did (the report is written anyway). */
  error?: string;
}

/**
 * What a tracked run left behind: a union told apart by `outcome` —
 * `exited` (its own exit code), `signalled` (a signal it did not get from runTracked ended it),
 * `timed-out` and `aborted` (stopped by `timeout` or `abortSignal`), `not-started` (see `startFailure`).
 */
export type TaskReport =
  | (TaskReportBase & { outcome: 'exited'; exitCode: number; signal: null })
  | (TaskReportBase & { outcome: 'signalled'; exitCode: null; signal: NodeJS.Signals })
  | (TaskReportBase & { outcome: 'timed-out'; stoppedBy: 'timeout' })
  | (TaskReportBase & { outcome: 'aborted'; stoppedBy: 'abort' })
  | (TaskReportBase & { outcome: 'not-started'; exitCode: 126 | 127 | null; signal: null; startFailure: StartFailure; error: string });

/** Options of `runTracked()`. Each is checked at the call: a wrong one rejects with a TypeError or RangeError naming it. */
export interface RunTrackedOptions {
  config?: Partial<ResourceTrackerConfig>;
  /** Where the seed's log lines go (a pino logger fits as is); default: nowhere. */
  logger?: Logger;
  reader?: PlatformReader;
  /** Base environment for the task (default: process.env); the tag is added to it. */
  env?: NodeJS.ProcessEnv;
  cwd?: string | URL;
  /**
   * Default 'inherit': the task's input and output are untouched. With 'pipe', consume the task's
   * stdout and stderr in `onSpawn` (attach a 'data' listener, pipe them): a stream nobody reads by
   * the time onSpawn returns is read and dropped, so the task never blocks on a full pipe.
   */
  stdio?: StdioOptions;
  /** Called once the task is started (e.g. to forward signals to it, or to read its output). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called when the task has exited, before the after snapshot. */
  onExit?: () => void;
  /** Called when a process of the task leaves its tree while the task runs (see `FollowTaskOptions.onLeak`). */
  onLeak?: (leak: RunningLeak) => void;
  /** After reporting, reap the task's orphans (tag or lineage evidence only — never suspects or kept). */
  reap?: boolean | ReapOptions;
  /** Called with the report once the verdicts are in, before reaping starts (so it can be saved first). */
  onReport?: (report: TaskReport) => Promise<void> | void;
  /**
   * Aborting it stops the task (`killSignal`, then SIGKILL after `forceKillAfterMs`); the report is
   * still made, with `outcome: 'aborted'`. While reaping, it ends the grace period at once (survivors
   * get SIGKILL). Already aborted: the task is not started.
   */
  abortSignal?: AbortSignal;
  /** Stops the task after this many ms, as `abortSignal` does (`outcome: 'timed-out'`); 0 or Infinity: never (the default). */
  timeout?: number;
  /** The signal that stops the task (default SIGTERM). */
  killSignal?: NodeJS.Signals;
  /** How long a stopped task has before SIGKILL, in ms (default 5000). */
  forceKillAfterMs?: number;
  /** Run the task in a control group of its own (default: the config's `cgroup`, `auto`). */
  cgroup?: CgroupMode;
  /** Where the cgroup v2 hierarchy is mounted (default: found in /proc/self/mountinfo). */
  cgroupMount?: string;
  /** How long the CPU use of what the task left is sampled, in ms (`cost.cpuPercent`, `spinning`); default 0: none, the report comes at once. The CLI samples 200 ms. */
  cpuSampleMs?: number;
  /**
   * rtrack's state directory (default `$XDG_STATE_HOME/rtrack`): what the run kept is recorded there
   * for later scans, and the reaper's gate reads agent registrations and writes its signal record there.
   */
  state?: string;
  /**
   * Where the task gets no cgroup for a reason the user can change (not root, no delegated
   * subtree), how to get one is handed here instead of being logged with the INFO line that says
   * why (the CLI says it once per machine).
   */
  onCgroupHint?: (hint: string) => void;
}

interface Exit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  failure?: StartFailure;
}

/** The report as it is built; `finish()` makes it a TaskReport. */
type Draft = TaskReportBase;

function waitForExit(child: ChildProcess, command: string): Promise<Exit> {
  return new Promise((resolve) => {
    // 'exit', not 'close': leaked grandchildren may hold the task's pipes open for days.
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, failure: spawnFailure(command, error) });
    });
  });
}

/** A failed spawn (or exec), as one line naming the cause. */
function spawnFailure(command: string, error: NodeJS.ErrnoException): StartFailure {
  const code = error.code ?? 'EUNKNOWN';
  if (code === 'E2BIG') return { cause: 'arguments', code, message: `${command}: argument list too long (E2BIG: the arguments and environment are more than the OS takes)` };
  if (code === 'ENOENT') return { cause: 'command', code, message: `${command}: cannot run: ENOENT (the interpreter on its #! line, or a library it needs, is missing)` };
  if (code === 'EACCES' || code === 'EISDIR' || code === 'ENOEXEC' || code === 'EPERM') return { cause: 'command', code, message: `${command}: permission denied or not executable` };
  if (code.startsWith('ERR_INVALID_ARG')) return { cause: 'arguments', code, message: `${command}: invalid arguments: ${error.message}` };
  return { cause: 'command', code, message: `${command}: cannot start: ${error.message}` };
}

/**
 * What keeps the command from starting, found before anything is started — the command and its
 * arguments as given, the working directory, the command's file (as a shell's exec finds it) — so
 * that every cause comes back the same way, with or without the cgroup's placing shell in between.
 */
function startFailureOf(command: unknown, args: unknown, cwd: string | undefined, env: NodeJS.ProcessEnv): StartFailure | undefined {
  if (typeof command !== 'string') return { cause: 'arguments', code: 'ERR_INVALID_ARG_TYPE', message: `runTracked: the command must be a string (got ${describeValue(command)})` };
  if (command === '') return { cause: 'arguments', code: 'ERR_INVALID_ARG_VALUE', message: 'runTracked: the command must not be empty' };
  if (command.includes('\0')) return { cause: 'arguments', code: 'ERR_INVALID_ARG_VALUE', message: `runTracked: the command contains a NUL byte: ${JSON.stringify(command)}` };
  if (!Array.isArray(args)) return { cause: 'arguments', code: 'ERR_INVALID_ARG_TYPE', message: `runTracked: the arguments must be an array of strings (got ${describeValue(args)})` };
  for (const [i, arg] of args.entries()) {
    if (typeof arg !== 'string') return { cause: 'arguments', code: 'ERR_INVALID_ARG_TYPE', message: `runTracked: args[${i}] must be a string (got ${describeValue(arg)})` };
    if (arg.includes('\0')) return { cause: 'arguments', code: 'ERR_INVALID_ARG_VALUE', message: `runTracked: args[${i}] contains a NUL byte` };
  }
  if (cwd !== undefined) {
    try {
      if (!statSync(cwd).isDirectory()) return { cause: 'cwd', code: 'ENOTDIR', message: `The "cwd" option is not a directory: ${cwd}` };
      accessSync(cwd, constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      const why = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : code;
      return { cause: 'cwd', code, message: `The "cwd" option is invalid: ${cwd}: ${why}` };
    }
  }
  const found = findExecutable(command, env.PATH, cwd);
  if (found === 'ENOENT') return { cause: 'command', code: 'ENOENT', message: `${command}: command not found` };
  if (found === 'EACCES') return { cause: 'command', code: 'EACCES', message: `${command}: permission denied or not executable` };
  const interpreter = interpreterOf(found);
  if (interpreter !== undefined && isAbsolute(interpreter)) {
    try {
      accessSync(interpreter, constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      return { cause: 'command', code, message: `${command}: cannot run: ${code === 'ENOENT' ? 'the interpreter on its #! line is missing' : 'the interpreter on its #! line cannot be run'}: ${interpreter}` };
    }
  }
  return undefined;
}

/** The interpreter a script names on its `#!` line, when the file is one. */
function interpreterOf(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 3 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
    const line = head.toString('latin1', 2, n).split('\n')[0]!.trim();
    return line.split(/[ \t]/)[0] || undefined;
  } catch {
    return undefined; // not readable (execute-only): exec will say
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Checks the options of a call; throws a TypeError or RangeError naming the first wrong one. */
function checkRunOptions(options: RunTrackedOptions): void {
  checkOptionsObject('runTracked: options', options);
  if ('signal' in options && (options as { signal?: unknown }).signal !== undefined) {
    throw new TypeError("runTracked: options.signal is not an option: pass the AbortSignal as options.abortSignal (the signal that stops the task is options.killSignal)");
  }
  checkAbortSignal('runTracked: options.abortSignal', options.abortSignal);
  checkDuration('runTracked: options.timeout', options.timeout, { infinite: true });
  checkSignalName('runTracked: options.killSignal', options.killSignal);
  checkDuration('runTracked: options.forceKillAfterMs', options.forceKillAfterMs);
  checkDuration('runTracked: options.cpuSampleMs', options.cpuSampleMs);
  checkOneOf('runTracked: options.cgroup', options.cgroup, ['auto', 'required', 'off']);
  for (const name of ['onSpawn', 'onExit', 'onLeak', 'onReport', 'onCgroupHint'] as const) checkFunction(`runTracked: options.${name}`, options[name]);
  if (options.state !== undefined && typeof options.state !== 'string') throw new TypeError(`runTracked: options.state must be a directory path (got ${describeValue(options.state)})`);
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) throw new TypeError(`runTracked: options.env must be an object of environment variables (got ${describeValue(options.env)})`);
  if (options.cwd !== undefined && typeof options.cwd !== 'string' && !(options.cwd instanceof URL)) throw new TypeError(`runTracked: options.cwd must be a path (a string or a file: URL) (got ${describeValue(options.cwd)})`);
  if (options.cgroupMount !== undefined && typeof options.cgroupMount !== 'string') throw new TypeError(`runTracked: options.cgroupMount must be a path (got ${describeValue(options.cgroupMount)})`);
  if (options.stdio !== undefined && !Array.isArray(options.stdio) && !['pipe', 'inherit', 'ignore', 'overlapped'].includes(options.stdio as string)) {
    throw new TypeError(`runTracked: options.stdio must be 'pipe', 'inherit', 'ignore' or an array (got ${describeValue(options.stdio)})`);
  }
  if (options.reap !== undefined && typeof options.reap !== 'boolean') checkReapOptions('runTracked: options.reap', options.reap);
}

/** Stops the task on `timeout` or `abortSignal`, as execa does: `killSignal`, then SIGKILL if it is still there. */
function stopOnRequest(child: ChildProcess, report: Draft, options: RunTrackedOptions): { dispose: () => void } {
  const timers: NodeJS.Timeout[] = [];
  let disposed = false;
  const stop = (why: 'timeout' | 'abort'): void => {
    if (disposed || child.exitCode !== null || child.signalCode !== null || report.stoppedBy) return;
    report.stoppedBy = why;
    child.kill(options.killSignal ?? 'SIGTERM');
    const force = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, options.forceKillAfterMs ?? 5000);
    force.unref();
    timers.push(force);
  };
  const onAbort = (): void => stop('abort');
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  if (options.timeout !== undefined && options.timeout > 0 && options.timeout !== Infinity) timers.push(setTimeout(() => stop('timeout'), options.timeout));
  return {
    dispose() {
      disposed = true;
      for (const t of timers) clearTimeout(t);
      options.abortSignal?.removeEventListener('abort', onAbort);
    },
  };
}

/** One signal that aborts when any of them does; `dispose()` removes its listeners. */
function eitherSignal(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal | undefined; dispose: () => void } {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  if (given.length <= 1) return { signal: given[0], dispose: () => {} };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  for (const s of given) {
    if (s.aborted) controller.abort();
    else s.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, dispose: () => given.forEach((s) => s.removeEventListener('abort', onAbort)) };
}

function summarize(snapshot: ProcessSnapshot | undefined): SnapshotSummary | null {
  return snapshot
    ? { processCount: snapshot.processCount, totalMemoryMB: snapshot.totalMemoryMB, totalMemoryBytes: snapshot.totalMemoryBytes ?? totalMemoryBytes(snapshot.processes) }
    : null;
}

/** Which reasons for running without a cgroup each logger was told already: one INFO line per reason, not one per task. */
const toldNoCgroup = new WeakMap<Logger, Set<string>>();

/**
 * Runs `command args` as a tracked task and reports what it left. The promise resolves with the
 * report whatever the task does — also when it cannot start (`outcome: 'not-started'`, its
 * `startFailure` says why) or a snapshot fails (`error`); it rejects only when an option is invalid
 * (a TypeError or RangeError naming it), before anything is started.
 */
export async function runTracked(command: string, args: readonly string[] = [], options: RunTrackedOptions = {}): Promise<TaskReport> {
  checkRunOptions(options);
  const logger = options.logger ?? silentLogger;
  const tracker = new ResourceTracker(options.config, logger, { reader: options.reader });
  const report: Draft = {
    command: typeof command === 'string' && Array.isArray(args) ? [command, ...args.map(String)] : [String(command)],
    outcome: 'not-started',
    exitCode: null,
    signal: null,
    durationMs: 0,
    before: null,
    after: null,
    memoryDeltaMB: 0,
    memoryDeltaBytes: 0,
    memoryThresholdMB: tracker.config.memoryThresholdMB,
    memoryGrowthExceeded: false,
    orphans: [],
    suspects: [],
    kept: [],
    leakedMemoryMB: 0,
    leakedMemoryBytes: 0,
    tag: null,
  };
  const failures: string[] = [];
  const cwd = options.cwd instanceof URL ? fileURLToPath(options.cwd) : options.cwd;
  const baseEnv = options.env ?? process.env;
  // Aborting the run also ends the grace period of its reaping.
  const graceCut = eitherSignal([options.abortSignal, typeof options.reap === 'object' ? options.reap.skipGrace : undefined]);
  let group: RunCgroup | undefined;
  try {
    if (options.abortSignal?.aborted) return notStarted(report, abortFailure(), options);
    const failure = startFailureOf(command, args, cwd, baseEnv);
    if (failure) return notStarted(report, failure, options);
    // The tag and the group come before the snapshot: the shell that places the task in its group is
    // started first, moves itself in while the snapshot is taken (a move waited 14 ms for the kernel
    // here), and runs the command only when told to, after the snapshot.
    const env = tracker.config.enabled ? tracker.taskEnv(baseEnv) : baseEnv;
    report.tag = tracker.tag ?? null;
    const mode = options.cgroup ?? tracker.config.cgroup;
    const contained = containment(mode, tracker.config.enabled, report.tag, options.cgroupMount);
    if ('refused' in contained) return notStarted(report, { cause: 'cgroup', code: 'ERR_CGROUP_UNAVAILABLE', message: contained.refused }, options);
    if (contained.why) tellOnce(logger, contained.why, options.onCgroupHint ? undefined : contained.hint);
    if (contained.hint) options.onCgroupHint?.(contained.hint);
    group = contained.group;
    const stdio = options.stdio ?? 'inherit';
    const how = { env, cwd };
    let held: ReturnType<typeof spawnHeld>;
    try {
      held = group ? spawnHeld(command, args, stdio, how, { group, mode }) : undefined;
    } catch (err) {
      return notStarted(report, spawnFailure(command, err as NodeJS.ErrnoException), options);
    }
    try {
      // The held shell is not part of the machine before the task: it is the task's first process.
      report.before = summarize(await tracker.snapshotBefore(held?.child.pid !== undefined ? { exclude: [held.child.pid] } : {}));
    } catch (err) {
      failures.push(`before snapshot: ${(err as Error).message}`);
    }
    if (options.abortSignal?.aborted) {
      if (held) await held.cancel();
      return notStarted(report, abortFailure(), options);
    }
    let task: StartedTask;
    try {
      task = held ? held.go() : start(spawnTask(command, args, stdio, how, group && { group, mode }), command);
    } catch (err) {
      return notStarted(report, spawnFailure(command, err as NodeJS.ErrnoException), options);
    }
    return await runContained(task, options, { tracker, logger, report, failures, group, graceCut: graceCut.signal });
  } finally {
    if (group) await releaseGroup(group, report, logger, reapOptionsOf(options, tracker, graceCut.signal));
    graceCut.dispose();
    tracker.reset(); // the run file, the lineage, the registry entry: nothing outlives the call
  }
}

function abortFailure(): StartFailure {
  return { cause: 'aborted', code: 'ABORT_ERR', message: 'aborted before the task started' };
}

/** The report of a task that did not start: one way for every cause. */
function notStarted(report: Draft, failure: StartFailure, options: RunTrackedOptions): TaskReport {
  report.outcome = 'not-started';
  report.exitCode = failure.cause === 'command' && failure.code === 'ENOENT' && failure.message.endsWith('command not found') ? 127 : failure.cause === 'cgroup' || failure.cause === 'aborted' ? null : 126;
  report.signal = null;
  report.startFailure = failure;
  report.error = failure.message;
  if (failure.cause === 'aborted') report.stoppedBy = 'abort';
  if (options.reap) report.reaped = [];
  return report as TaskReport;
}

/** Logs why the task runs without a cgroup, once per logger and reason. */
function tellOnce(logger: Logger, why: string, hint: string | undefined): void {
  let told = toldNoCgroup.get(logger);
  if (!told) toldNoCgroup.set(logger, (told = new Set()));
  if (told.has(why)) return;
  told.add(why);
  logger.info({ reason: why, ...(hint ? { hint } : {}) }, 'running without a cgroup of its own');
}

/** A started task: its process and the promise of its exit (listened to from the spawn on). */
interface StartedTask {
  child: ChildProcess;
  exited: Promise<Exit>;
  startedAt: number;
  /** The placing shell's go pipe (rtrack's own), when it was held. */
  goFd?: number;
}

function start(child: ChildProcess, command: string): StartedTask {
  return { child, exited: waitForExit(child, command), startedAt: performance.now() };
}

/** Where a task is placed: its group, and whether it must be (`required`) or may run outside (`auto`). */
interface Placement {
  group: RunCgroup;
  mode: CgroupMode;
  /** The descriptor on which the placing shell waits for a line before the exec. */
  goFd?: number;
}

/**
 * Spawns the task; with a placement, through a shell that writes its own pid into the group, then
 * execs the command, so the command's first instruction already runs inside and no child can fork
 * outside it. With `required`, a shell that cannot move itself exits (status 2, its message on
 * stderr) and the command is not run; with `auto` it runs anyway (the group then stays empty, and
 * the verdicts rest on tags and lineage as without one).
 */
function spawnTask(command: string, args: readonly string[], stdio: StdioOptions, how: { env: NodeJS.ProcessEnv; cwd?: string }, placement?: Placement): ChildProcess {
  if (!placement) return spawn(command, args, { stdio, ...how });
  const { group, mode, goFd } = placement;
  const run = goFd === undefined ? 'exec "$@"' : `read -r _ <&${goFd} && exec "$@" ${goFd}<&-`;
  const script = mode === 'required' ? `echo 0 > "$0" && ${run}` : `echo 0 2>/dev/null > "$0"; ${run}`;
  return spawn('/bin/sh', ['-c', script, group.procsFile, command, ...args], { stdio, ...how });
}

/**
 * Starts the placing shell held before the exec: `go()` lets it run the command, `cancel()` closes
 * its descriptor instead, and it exits without running it. Undefined when the task's stdio leaves
 * no descriptor a shell can name (more than 9).
 */
function spawnHeld(
  command: string,
  args: readonly string[],
  stdio: StdioOptions,
  how: { env: NodeJS.ProcessEnv; cwd?: string },
  placement: Placement,
): { child: ChildProcess; go: () => StartedTask; cancel: () => Promise<void> } | undefined {
  const fds: Exclude<StdioOptions, string> = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  while (fds.length < 3) fds.push(undefined);
  const goFd = fds.length;
  if (goFd > 9) return undefined;
  fds.push('pipe');
  const child = spawnTask(command, args, fds, how, { ...placement, goFd });
  const task = start(child, command);
  task.goFd = goFd;
  const pipe = child.stdio[goFd] as Writable | null | undefined;
  pipe?.on('error', () => {}); // the shell is gone (it could not be placed, or was killed): its exit says so
  return {
    child,
    go: () => {
      pipe?.end('\n');
      task.startedAt = performance.now();
      return task;
    },
    cancel: async () => {
      pipe?.destroy();
      await task.exited;
    },
  };
}

interface RunState {
  tracker: ResourceTracker;
  logger: Logger;
  report: Draft;
  failures: string[];
  group: RunCgroup | undefined;
  /** Aborted: reaping skips what is left of its grace period. */
  graceCut: AbortSignal | undefined;
}

/**
 * The control group for a task, or why there is none (spawnTask places the task in it). A command
 * that cannot be found or run never gets this far (startFailureOf).
 */
function containment(mode: CgroupMode, enabled: boolean, tag: string | null, mount: string | undefined): { group?: RunCgroup; why?: string; hint?: string } | { refused: string } {
  if (!enabled || mode === 'off' || tag === null) return {};
  const where = locateCgroupParent({ mount });
  let why: string | undefined = 'why' in where ? where.why : undefined;
  const hint = 'why' in where ? where.hint : undefined;
  let group: RunCgroup | undefined;
  if (!('why' in where)) {
    try {
      group = RunCgroup.create(where, tag);
    } catch (err) {
      why = `cannot create a group in ${where.parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
  if (why !== undefined && mode === 'required') return { refused: `--cgroup required: ${why}${hint ? ` (${hint})` : ''}; the command was not started` };
  return group ? { group } : { why, ...(hint ? { hint } : {}) };
}

/**
 * The command's file as a shell's exec would find it (a PATH lookup; a name with a slash relative to
 * the task's working directory): its path, or why there is none — ENOENT (no such file), EACCES
 * (only files that are not executable, or a directory).
 */
function findExecutable(command: string, path: string | undefined, cwd: string | undefined): string | 'ENOENT' | 'EACCES' {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd ?? process.cwd(), command)] : (path ?? '').split(':').filter(Boolean).map((dir) => resolve(cwd ?? process.cwd(), dir, command));
  let denied = false;
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) {
        denied = true;
        continue;
      }
      accessSync(file, constants.X_OK);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') denied = true; // not executable, or a directory on the way not searchable
    }
  }
  return denied ? 'EACCES' : 'ENOENT';
}

/**
 * The verdicts of a run, on its after snapshot: orphans (--mcp-only's other ones apart), suspects,
 * and what is kept — with the pipelines of kept processes (a kept server's `| tee log` is kept with
 * it: killing it would kill the server).
 */
/** The verdicts (their costs come later, the group thawed), with what a kept process's pipeline keeps. */
async function judge(report: Draft, tracker: ResourceTracker, options: RunTrackedOptions): Promise<void> {
  const verdicts = await tracker.analyze({ costs: false });
  tracker.detectOrphans(); // the seed's WARN line
  const reader = options.reader ?? platformReader();
  const parents = new Map([...verdicts.orphans, ...verdicts.kept].map((p) => [p.pid, p.ppid]));
  const byPipeline = report.tag !== null && verdicts.orphans.length > 0
    ? pipelineKept(reader, verdicts.orphans.map((p) => p.pid), verdicts.kept.map((p) => p.pid), (pid) => parents.get(pid))
    : new Map<number, number>();
  let orphans = verdicts.orphans;
  const kept: AttributedProcess[] = [...verdicts.kept];
  if (byPipeline.size > 0) {
    // Kept alone: what runs below a process kept by its pipeline is judged on its own.
    kept.push(...orphans.filter((p) => byPipeline.has(p.pid)).map((p) => ({ ...p, keepBecause: pipelineReason(byPipeline.get(p.pid)!) })));
    orphans = orphans.filter((p) => !byPipeline.has(p.pid));
  }
  // --mcp-only means one thing everywhere: the other orphans are kept apart, not counted or reaped.
  report.orphans = tracker.config.logOrphanedMCPOnly ? orphans.filter((p) => p.isMCP) : orphans;
  if (tracker.config.logOrphanedMCPOnly) report.nonMcpOrphans = orphans.filter((p) => !p.isMCP);
  report.suspects = verdicts.suspects;
  report.kept = kept;
}

/**
 * Leaves no group behind. When the run reaped, what processes the run keeps (kept ones, orphans
 * left alone) moved out before any signal, so whatever is still inside is the task's to end —
 * survivors, or children forked while it was reaped — and the group is killed whole
 * (`cgroup.kill`). Otherwise every process moves out to the parent group (still reported as the
 * task's). Then the group is removed.
 */
/** How the run reaps: the caller's options, and the run's own keep rules and agents for the gate; `graceCut` ends its grace period. */
function reapOptionsOf(options: RunTrackedOptions, tracker: ResourceTracker, graceCut: AbortSignal | undefined): ReapOptions | undefined {
  if (!options.reap) return undefined;
  const { keep, keepSharedDaemons, agents } = tracker.config;
  // A run inside a live agent session: its task, and so its leaks, inherited that session's markers.
  const runSessions = agentMarkersOf((options.env ?? process.env) as Record<string, string>, agentDefinitions(agents));
  return { reader: options.reader, keep, keepSharedDaemons, agents, runSessions, by: 'run', ...(options.state !== undefined ? { state: options.state } : {}), ...(options.reap === true ? {} : options.reap), ...(graceCut ? { skipGrace: graceCut } : {}) };
}

async function releaseGroup(group: RunCgroup, report: Draft, logger: Logger, reapOptions: ReapOptions | undefined): Promise<void> {
  let removed: boolean;
  if (reapOptions && report.reaped !== undefined && report.reaped.length > 0) {
    // What the run did not reap left the group at the verdict (separateGroup, in runContained: what
    // it kept, --mcp-only's other orphans, suspects, what the gate refused), so what a kept process
    // started since was born outside. What is still inside is the reaped orphans' — survivors, and
    // children they forked while they were reaped — and goes at once, after the gate's last look.
    const result = await reapCgroup(group, { ...reapOptions, ownGroup: true });
    for (const l of result.left) logger.warn({ pid: l.pid, reason: l.reason, path: group.path }, 'left a process in the run\'s cgroup');
    removed = result.removed;
  } else {
    for (let round = 0; round < 3 && group.members().length > 0; round++) for (const pid of group.members()) group.moveOut(pid);
    removed = group.remove() || (await group.waitEmpty(2000).then(() => group.remove()));
  }
  if (report.cgroup) report.cgroup.removed = removed;
  if (!removed) logger.warn({ path: group.path }, 'could not remove the run\'s cgroup (it still holds processes)');
}

/**
 * Reads (and drops) the task's piped output that the caller did not take in onSpawn, so that a task
 * writing more than a pipe holds never waits for a reader that will not come.
 */
function drainUnread(child: ChildProcess, goFd: number | undefined): void {
  child.stdio.forEach((stream, fd) => {
    if (fd === 0 || fd === goFd || !stream) return;
    const readable = stream as Readable;
    if (typeof readable.resume === 'function' && readable.readable && readable.readableFlowing === null) readable.resume();
  });
}

async function runContained(task: StartedTask, options: RunTrackedOptions, state: RunState): Promise<TaskReport> {
  const { tracker, logger, report, failures, group } = state;
  const { child, exited } = task;
  const stopper = stopOnRequest(child, report, options);
  void exited.then(stopper.dispose);
  if (child.pid !== undefined) {
    options.onSpawn?.(child);
    drainUnread(child, task.goFd); // the placing shell's go pipe is rtrack's own
    try {
      await tracker.followTask(child, options.onLeak ? { onLeak: options.onLeak } : {});
    } catch (err) {
      failures.push(`following the task: ${(err as Error).message}`);
    }
  }
  const exit = await exited;
  stopper.dispose();
  report.durationMs = Math.round(performance.now() - task.startedAt);
  report.exitCode = exit.exitCode;
  report.signal = exit.signal;
  options.onExit?.();
  if (exit.failure) return notStarted(report, exit.failure, options);
  report.outcome = report.stoppedBy === 'timeout' ? 'timed-out' : report.stoppedBy === 'abort' ? 'aborted' : exit.signal !== null ? 'signalled' : 'exited';

  // The task's group is frozen from here until its verdicts are acted on (where the kernel allows):
  // what the after snapshot sees is what the group holds — nothing forks, execs or leaves between
  // the look and the move of what must not die with the group (separateGroup).
  const frozen = group ? await group.freeze() : false;
  let reported = false;
  // When the run began judging, and what its after look saw (what a kept process starts later is told apart by it: kept-runs.ts).
  const judgement: { at: Date; processes: readonly ProcessInfo[] } = { at: new Date(), processes: [] };
  try {
    if (report.before) {
      // A process caught between fork and exec is read again once it could exec: the group runs meanwhile.
      const settle = frozen ? async (ms: number): Promise<void> => {
        group!.thaw();
        await new Promise((resolve) => setTimeout(resolve, ms));
        await group!.freeze();
      } : undefined;
      try {
        const after = await tracker.snapshotAfter({ ...(settle ? { settle } : {}), endRun: false });
        judgement.processes = after?.processes.filter((p) => p.taskTag !== undefined && p.taskTag === report.tag) ?? [];
        report.after = summarize(after);
      } catch (err) {
        failures.push(`after snapshot: ${(err as Error).message}`);
      }
    }
    if (group) {
      // Every process still in the group is the task's, whatever it did to its environment or parent.
      const members = group.members();
      const memory = group.memory();
      const cpu = group.cpu();
      tracker.recordCgroupMembers(new Set(members), {
        ...(memory.peakBytes !== undefined ? { memoryPeakBytes: memory.peakBytes } : {}),
        ...(memory.currentBytes !== undefined ? { memoryCurrentBytes: memory.currentBytes } : {}),
        ...(cpu ? { cpuUserSeconds: cpu.userSeconds, cpuSystemSeconds: cpu.systemSeconds } : {}),
      });
      report.cgroup = {
        path: group.path,
        members: members.length,
        ...(memory.currentBytes !== undefined ? { memoryCurrentBytes: memory.currentBytes } : {}),
        ...(memory.peakBytes !== undefined ? { memoryPeakBytes: memory.peakBytes } : {}),
        removed: false,
      };
    }
    if (report.after) await judge(report, tracker, options);
    await recordWhatWasKept(report, options, logger, judgement);
    // Now the run is over for everyone else: what it kept is on record for their looks.
    tracker.endRun();
    // Without a CPU sample the costs can be read in the frozen group: the report is completed now,
    // and handed over (onReport) once the group runs again — never a caller's code while it is frozen.
    if (!options.cpuSampleMs) {
      await completeReport(report, state, options);
      reported = true;
    }
    if (group) {
      // Before any signal, what must not die with the group leaves it; what it starts is born outside.
      if (options.reap && report.orphans.length > 0) {
        const left = await separateGroup(group, { ...reapOptionsOf(options, tracker, state.graceCut), only: new Set(report.orphans.map(identityKey)) });
        for (const l of left) logger.warn({ pid: l.pid, reason: l.reason, path: group.path }, 'left a process in the run\'s cgroup');
      } else {
        for (let round = 0; round < 3 && group.members().length > 0; round++) for (const pid of group.members()) group.moveOut(pid);
      }
    }
  } finally {
    if (frozen) group!.thaw();
    tracker.endRun(); // whatever failed above: the run is over
  }
  if (!reported) await completeReport(report, state, options);
  await options.onReport?.(report as TaskReport);
  if (options.reap && report.orphans.length > 0) {
    // What was born since the verdict stays in the group, and goes with it (releaseGroup).
    report.reaped = await reapOrphans(report.orphans, reapOptionsOf(options, tracker, state.graceCut));
    const counts: Record<string, number> = {};
    for (const r of report.reaped) counts[r.result] = (counts[r.result] ?? 0) + 1;
    logger.info({ count: report.reaped.length, ...counts }, 'reaped leaked processes');
  }
  return report as TaskReport;
}

/** What the run kept stays kept for as long as it lives, whoever looks later (kept-registry.ts): recorded with the run's judgement. */
async function recordWhatWasKept(report: Draft, options: RunTrackedOptions, logger: Logger, judgement: { at: Date; processes: readonly ProcessInfo[] }): Promise<void> {
  if (report.kept.length === 0 || !report.tag) return;
  const problem = await recordKept(options.state ?? stateDirectory(), report.tag, report.kept, (options.reader ?? platformReader()).readBootId?.(), judgement);
  if (problem) logger.warn({ error: problem }, 'what the run kept could not be recorded: a later scan may take it for a leak');
}

/**
 * The rest of the report once the verdicts are in — what each reported process costs, the figures,
 * the log lines, the task's own account. runContained hands it over (`onReport`) before any signal.
 */
async function completeReport(report: Draft, state: RunState, options: RunTrackedOptions): Promise<void> {
  const { tracker, logger, failures } = state;
  if (report.after) {
    // What each reported process costs (its CPU share only when a sample is asked for: the group thawed).
    const verdicts = await tracker.analyze({ cpuSampleMs: options.cpuSampleMs ?? 0 });
    report.leakedMemoryMB = totalMemoryMB(report.orphans);
    report.leakedMemoryBytes = totalMemoryBytes(report.orphans);
    report.memoryDeltaMB = tracker.checkMemoryGrowth();
    report.memoryDeltaBytes = report.after.totalMemoryBytes - (report.before?.totalMemoryBytes ?? report.after.totalMemoryBytes);
    report.memoryGrowthExceeded = exceedsThreshold(report.memoryDeltaMB, report.memoryThresholdMB);
    if (verdicts.suspects.length > 0) {
      logger.info(
        { count: verdicts.suspects.length, processes: verdicts.suspects.map(describeProcess).join(', ') },
        'orphaned processes not attributed to the task (suspects)',
      );
    }
    if (report.kept.length > 0) {
      logger.info({ count: report.kept.length, processes: report.kept.map(describeProcess).join(', ') }, 'kept processes left running');
    }
    if (report.orphans.length > 0 && report.orphans.some((p) => p.cost?.pssBytes !== undefined)) {
      report.leakCost = leakCostTotals(report.orphans);
      // The RSS read with the PSS (a moment after the snapshot: a leak still starting grows), so the totals add up.
      report.leakedMemoryBytes = report.leakCost.rssBytes;
      report.leakedMemoryMB = report.leakCost.rssBytes / BYTES_PER_MB;
    }
    const account = tracker.taskAccount([...report.orphans, ...(report.nonMcpOrphans ?? [])]);
    if (account) report.account = account;
  }
  if (failures.length > 0) report.error = failures.join('; ');
  if (options.reap) report.reaped = [];
}
