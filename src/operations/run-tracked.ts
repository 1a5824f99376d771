// Running a task under tracking: before snapshot → tagged, followed task → after snapshot →
// verdicts. The report is built whatever happens (command not found, failed snapshot, signals).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { CommandNotExecutableError, CommandNotFoundError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { PlatformReader } from '../platform/types.js';
import { exceedsThreshold, totalMemoryBytes, totalMemoryMB } from '../rules/memory.js';
import { RunCgroup, locateCgroupParent } from '../platform/cgroup.js';
import { leakCostTotals, measureCosts, type LeakCostTotals } from './leak-cost.js';

export type { LeakCostTotals };
import { reapCgroup, reapOrphans, separateGroup, type ReapOptions, type ReapOutcome } from './reap.js';
import { recordKept } from './kept-registry.js';
import { stateDirectory } from '../files.js';
import { platformReader } from '../platform/index.js';
import { keptByPipeline } from '../rules/keep.js';
import { processTree, subtree } from '../rules/tree.js';
import { identityKey } from '../rules/identity.js';
import { agentDefinitions, agentMarkersOf } from '../rules/agents.js';
import { ResourceTracker, describeProcess } from '../tracking/tracker.js';
import type { AttributedProcess, CgroupMode, ProcessSnapshot, ResourceTrackerConfig } from '../types.js';

/** The totals of a snapshot, as the report carries them. */
export interface SnapshotSummary {
  processCount: number;
  totalMemoryMB: number;
  totalMemoryBytes: number;
}

/** What a tracked run left behind. Field names are stable: orchestrators parse them. */
export interface TaskReport {
  command: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  before: SnapshotSummary | null;
  after: SnapshotSummary | null;
  memoryDeltaMB: number;
  /** The same delta in bytes. */
  memoryDeltaBytes: number;
  memoryThresholdMB: number;
  memoryGrowthExceeded: boolean;
  /** The task's leaks: processes with tag or lineage evidence, still alive after it ended (with `logOrphanedMCPOnly`, the MCP/browser ones only). */
  orphans: AttributedProcess[];
  /** With `logOrphanedMCPOnly`: the task's other leaks, left out of `orphans`, the summary, reaping and metrics, but not lost. */
  nonMcpOrphans?: AttributedProcess[];
  /** New orphaned processes only the seed's heuristic points at: shown, not attributed. */
  suspects: AttributedProcess[];
  /** The task's processes declared to outlive it. */
  kept: AttributedProcess[];
  /** Total RSS of the orphans, in MB. */
  leakedMemoryMB: number;
  /** The same total in bytes. */
  leakedMemoryBytes: number;
  /** What the orphans cost (where the OS tells more than RSS): PSS — what ending them gives back — USS, CPU share, spinning ones. */
  leakCost?: LeakCostTotals;
  /** The RESOURCE_TRACKER_TASK value given to the task. */
  tag: string | null;
  /** What reaping did to each orphan; present (possibly empty) whenever `reap` was asked for. */
  reaped?: ReapOutcome[];
  /** The task's control group, when it ran in one: its path, how many processes it held when the task ended, and the group's own memory where the memory controller is enabled. */
  cgroup?: { path: string; members: number; memoryCurrentBytes?: number; memoryPeakBytes?: number; removed: boolean };
  /** Set when the task was stopped by `runTracked`'s `timeout` or `signal` (it was sent `killSignal`, then SIGKILL). */
  stoppedBy?: 'timeout' | 'abort';
  /** What failed, when something did (the report is written anyway). A command that could not start has exitCode 127 (not found) or 126 (not executable), as in a shell. */
  error?: string;
}

/** Options of `runTracked()`. */
export interface RunTrackedOptions {
  config?: Partial<ResourceTrackerConfig>;
  logger?: Logger;
  reader?: PlatformReader;
  /** Base environment for the task (default: process.env); the tag is added to it. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default 'inherit': the task's input and output are untouched. */
  stdio?: StdioOptions;
  /** Called once the task is started (e.g. to forward signals to it). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called when the task has exited, before the after snapshot. */
  onExit?: () => void;
  /** After reporting, reap the task's orphans (tag or lineage evidence only — never suspects or kept). */
  reap?: boolean | ReapOptions;
  /** Called with the report once the verdicts are in, before reaping starts (so it can be saved first). */
  onReport?: (report: TaskReport) => Promise<void> | void;
  /** Aborting it stops the task (`killSignal`, then SIGKILL after `forceKillAfterMs`); the report is still made, with `stoppedBy: 'abort'`. Already aborted: the task is not started. */
  signal?: AbortSignal;
  /** Stops the task after this many ms, as `signal` does (`stoppedBy: 'timeout'`). */
  timeout?: number;
  /** The signal that stops the task (default SIGTERM). */
  killSignal?: NodeJS.Signals;
  /** How long a stopped task has before SIGKILL, in ms (default 5000). */
  forceKillAfterMs?: number;
  /** Run the task in a control group of its own (default: the config's `cgroup`, `auto`). */
  cgroup?: CgroupMode;
  /** Where the cgroup v2 hierarchy is mounted (default: found in /proc/self/mountinfo). */
  cgroupMount?: string;
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
  error?: Error;
}

function waitForExit(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    // 'exit', not 'close': leaked grandchildren may hold the task's pipes open for days.
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, error: spawnError(child.spawnfile, error) });
    });
  });
}

function spawnError(file: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') return new CommandNotFoundError(`${file}: command not found`);
  if (error.code === 'EACCES' || error.code === 'EISDIR' || error.code === 'ENOEXEC') {
    return new CommandNotExecutableError(`${file}: permission denied or not executable`);
  }
  return new Error(`${file}: cannot start: ${error.message}`);
}

/** Stops the task on `timeout` or `signal`, as execa does: `killSignal`, then SIGKILL if it is still there. */
function stopOnRequest(child: ChildProcess, report: TaskReport, options: RunTrackedOptions): { dispose: () => void } {
  const timers: NodeJS.Timeout[] = [];
  const stop = (why: 'timeout' | 'abort'): void => {
    if (child.exitCode !== null || child.signalCode !== null || report.stoppedBy) return;
    report.stoppedBy = why;
    child.kill(options.killSignal ?? 'SIGTERM');
    const force = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, options.forceKillAfterMs ?? 5000);
    force.unref();
    timers.push(force);
  };
  const onAbort = (): void => stop('abort');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.timeout !== undefined) timers.push(setTimeout(() => stop('timeout'), options.timeout));
  return {
    dispose() {
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function summarize(snapshot: ProcessSnapshot | undefined): SnapshotSummary | null {
  return snapshot
    ? { processCount: snapshot.processCount, totalMemoryMB: snapshot.totalMemoryMB, totalMemoryBytes: snapshot.totalMemoryBytes ?? totalMemoryBytes(snapshot.processes) }
    : null;
}

/**
 * Runs `command args` as a tracked task and reports what it left. The promise resolves with the
 * report even when the command cannot start (`error` says why) or the after snapshot fails.
 */
export async function runTracked(command: string, args: readonly string[] = [], options: RunTrackedOptions = {}): Promise<TaskReport> {
  const logger = options.logger ?? createLogger();
  const tracker = new ResourceTracker(options.config, logger, { reader: options.reader });
  const report: TaskReport = {
    command: [command, ...args],
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

  if (options.signal?.aborted) return abortedBeforeStart(report, tracker);
  // The tag and the group come before the snapshot: the shell that places the task in its group is
  // started first, moves itself in while the snapshot is taken (a move waited 14 ms for the kernel
  // here), and runs the command only when told to, after the snapshot.
  const env = tracker.config.enabled ? tracker.taskEnv(options.env ?? process.env) : (options.env ?? process.env);
  report.tag = tracker.tag ?? null;
  const mode = options.cgroup ?? tracker.config.cgroup;
  const contained = containment(command, env, mode, tracker.config.enabled, report.tag, options.cgroupMount);
  if ('refused' in contained) {
    report.error = contained.refused;
    tracker.reset();
    return report;
  }
  if (contained.why) logger.info({ reason: contained.why, ...(contained.hint && !options.onCgroupHint ? { hint: contained.hint } : {}) }, 'running without a cgroup of its own');
  if (contained.hint) options.onCgroupHint?.(contained.hint);
  const group = contained.group;
  try {
    const stdio = options.stdio ?? 'inherit';
    const how = { env, cwd: options.cwd };
    const held = group ? spawnHeld(command, args, stdio, how, { group, mode }) : undefined;
    try {
      // The held shell is not part of the machine before the task: it is the task's first process.
      report.before = summarize(await tracker.snapshotBefore(held?.child.pid !== undefined ? { exclude: [held.child.pid] } : {}));
    } catch (err) {
      failures.push(`before snapshot: ${(err as Error).message}`);
    }
    if (options.signal?.aborted) {
      if (held) await held.cancel();
      return abortedBeforeStart(report, tracker);
    }
    const task = held ? held.go() : start(spawnTask(command, args, stdio, how, group && { group, mode }));
    return await runContained(task, options, { tracker, logger, report, failures, group });
  } finally {
    if (group) await releaseGroup(group, report, logger, reapOptionsOf(options, tracker));
  }
}

function abortedBeforeStart(report: TaskReport, tracker: ResourceTracker): TaskReport {
  report.error = 'aborted before the task started';
  report.stoppedBy = 'abort';
  tracker.reset();
  return report;
}

/** A started task: its process and the promise of its exit (listened to from the spawn on). */
interface StartedTask {
  child: ChildProcess;
  exited: Promise<Exit>;
  startedAt: number;
}

function start(child: ChildProcess): StartedTask {
  return { child, exited: waitForExit(child), startedAt: performance.now() };
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
  const task = start(child);
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
  report: TaskReport;
  failures: string[];
  group: RunCgroup | undefined;
}

/**
 * The control group for a task, or why there is none (spawnTask places the task in it). A command
 * that cannot be found or run gets no group (the spawn then fails as without one: 127, 126).
 */
function containment(command: string, env: NodeJS.ProcessEnv, mode: CgroupMode, enabled: boolean, tag: string | null, mount: string | undefined): { group?: RunCgroup; why?: string; hint?: string } | { refused: string } {
  if (!enabled || mode === 'off' || tag === null) return {};
  const where = locateCgroupParent({ mount });
  let why: string | undefined = 'why' in where ? where.why : undefined;
  const hint = 'why' in where ? where.hint : undefined;
  let group: RunCgroup | undefined;
  if (!('why' in where)) {
    if (!findExecutable(command, env.PATH)) return {};
    try {
      group = RunCgroup.create(where, tag);
    } catch (err) {
      why = `cannot create a group in ${where.parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
  if (why !== undefined && mode === 'required') return { refused: `--cgroup required: ${why}${hint ? ` (${hint})` : ''}; the command was not started` };
  return group ? { group } : { why, ...(hint ? { hint } : {}) };
}

/** The command's file as a shell's exec would find it (PATH lookup), when it exists and is executable. */
function findExecutable(command: string, path: string | undefined): string | undefined {
  const candidates = command.includes('/') ? [command] : (path ?? '').split(':').filter(Boolean).map((dir) => `${dir}/${command}`);
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The verdicts of a run, on its after snapshot: orphans (--mcp-only's other ones apart), suspects,
 * and what is kept — with the pipelines of kept processes (a kept server's `| tee log` is kept with
 * it: killing it would kill the server).
 */
function judge(report: TaskReport, tracker: ResourceTracker, options: RunTrackedOptions): void {
  const verdicts = tracker.analyze();
  tracker.detectOrphans(); // the seed's WARN line
  const reader = options.reader ?? platformReader();
  const byPipeline = report.tag !== null && verdicts.kept.length > 0 && verdicts.orphans.length > 0 && reader.readPipes
    ? keptByPipeline(reader.readPipes([...verdicts.orphans, ...verdicts.kept].map((p) => p.pid)), new Set(verdicts.kept.map((p) => p.pid)))
    : new Map<number, number>();
  let orphans = verdicts.orphans;
  const kept: AttributedProcess[] = [...verdicts.kept];
  if (byPipeline.size > 0) {
    // What runs below a process kept by its pipeline is kept with it.
    const tree = processTree(orphans);
    const moved = new Map<number, string>();
    for (const [pid, root] of byPipeline) {
      const p = orphans.find((o) => o.pid === pid);
      if (p) for (const d of subtree(tree, p)) if (!moved.has(d.pid)) moved.set(d.pid, d === p ? `in the pipeline of kept pid ${root}` : `below pid ${pid}, in the pipeline of kept pid ${root}`);
    }
    kept.push(...orphans.filter((p) => moved.has(p.pid)).map((p) => ({ ...p, keepBecause: moved.get(p.pid)! })));
    orphans = orphans.filter((p) => !moved.has(p.pid));
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
/** How the run reaps: the caller's options, and the run's own keep rules and agents for the gate. */
function reapOptionsOf(options: RunTrackedOptions, tracker: ResourceTracker): ReapOptions | undefined {
  if (!options.reap) return undefined;
  const { keep, keepSharedDaemons, agents } = tracker.config;
  // A run inside a live agent session: its task, and so its leaks, inherited that session's markers.
  const runSessions = agentMarkersOf((options.env ?? process.env) as Record<string, string>, agentDefinitions(agents));
  return { reader: options.reader, keep, keepSharedDaemons, agents, runSessions, by: 'run', ...(options.state !== undefined ? { state: options.state } : {}), ...(options.reap === true ? {} : options.reap) };
}

async function releaseGroup(group: RunCgroup, report: TaskReport, logger: Logger, reapOptions: ReapOptions | undefined): Promise<void> {
  let removed: boolean;
  if (reapOptions && report.reaped !== undefined && report.reaped.length > 0) {
    // What the run did not reap left the group at the verdict (separateGroup, in runContained: what
    // it kept, --mcp-only's other orphans, suspects, what the gate refused), so what a kept process
    // started since was born outside. What is still inside is the reaped orphans' — survivors, and
    // children they forked while they were reaped — and goes at once, after the gate's last look.
    const result = await reapCgroup(group, reapOptions);
    for (const l of result.left) logger.warn({ pid: l.pid, reason: l.reason, path: group.path }, 'left a process in the run\'s cgroup');
    removed = result.removed;
  } else {
    for (let round = 0; round < 3 && group.members().length > 0; round++) for (const pid of group.members()) group.moveOut(pid);
    removed = group.remove() || (await group.waitEmpty(2000).then(() => group.remove()));
  }
  if (report.cgroup) report.cgroup.removed = removed;
  if (!removed) logger.warn({ path: group.path }, 'could not remove the run\'s cgroup (it still holds processes)');
}

async function runContained(task: StartedTask, options: RunTrackedOptions, state: RunState): Promise<TaskReport> {
  const { tracker, logger, report, failures, group } = state;
  const { child, exited } = task;
  const stopper = stopOnRequest(child, report, options);
  void exited.then(stopper.dispose);
  if (child.pid !== undefined) {
    options.onSpawn?.(child);
    try {
      await tracker.followTask(child.pid);
    } catch (err) {
      failures.push(`following the task: ${(err as Error).message}`);
    }
  }
  const exit = await exited;
  report.durationMs = Math.round(performance.now() - task.startedAt);
  report.exitCode = exit.exitCode;
  report.signal = exit.signal;
  options.onExit?.();
  if (exit.error) {
    // As a shell would: 127 when the command is not found, 126 when it cannot be executed.
    report.exitCode = exit.error instanceof CommandNotFoundError ? 127 : exit.error instanceof CommandNotExecutableError ? 126 : 127;
    report.error = exit.error.message;
    return report;
  }

  // The task's group is frozen from here until its verdicts are acted on (where the kernel allows):
  // what the after snapshot sees is what the group holds — nothing forks, execs or leaves between
  // the look and the move of what must not die with the group (separateGroup).
  const frozen = group ? await group.freeze() : false;
  try {
    if (report.before) {
      // A process caught between fork and exec is read again once it could exec: the group runs meanwhile.
      const settle = frozen ? async (ms: number): Promise<void> => {
        group!.thaw();
        await new Promise((resolve) => setTimeout(resolve, ms));
        await group!.freeze();
      } : undefined;
      try {
        report.after = summarize(await tracker.snapshotAfter(settle ? { settle } : {}));
      } catch (err) {
        failures.push(`after snapshot: ${(err as Error).message}`);
      }
    }
    if (group) {
      // Every process still in the group is the task's, whatever it did to its environment or parent.
      const members = group.members();
      tracker.recordCgroupMembers(new Set(members));
      const memory = group.memory();
      report.cgroup = {
        path: group.path,
        members: members.length,
        ...(memory.currentBytes !== undefined ? { memoryCurrentBytes: memory.currentBytes } : {}),
        ...(memory.peakBytes !== undefined ? { memoryPeakBytes: memory.peakBytes } : {}),
        removed: false,
      };
    }
    if (report.after) judge(report, tracker, options);
    if (report.kept.length > 0 && report.tag) {
      // What the run kept stays kept for as long as it lives, whoever looks later (kept-registry.ts).
      const problem = await recordKept(options.state ?? stateDirectory(), report.tag, report.kept, (options.reader ?? platformReader()).readBootId?.());
      if (problem) logger.warn({ error: problem }, 'what the run kept could not be recorded: a later scan may take it for a leak');
    }
    if (group) {
      // Before any signal, what must not die with the group leaves it; what it starts is born outside.
      if (options.reap && report.orphans.length > 0) {
        const left = await separateGroup(group, { ...reapOptionsOf(options, tracker), only: new Set(report.orphans.map(identityKey)) });
        for (const l of left) logger.warn({ pid: l.pid, reason: l.reason, path: group.path }, 'left a process in the run\'s cgroup');
      } else {
        for (let round = 0; round < 3 && group.members().length > 0; round++) for (const pid of group.members()) group.moveOut(pid);
      }
    }
  } finally {
    if (frozen) group!.thaw();
  }
  if (report.after) {
    const verdicts = tracker.analyze();
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
  }
  if (report.orphans.length + report.suspects.length + (report.nonMcpOrphans?.length ?? 0) > 0) {
    await measureCosts([...report.orphans, ...report.suspects, ...(report.nonMcpOrphans ?? [])], { reader: options.reader });
    if (report.orphans.length > 0 && report.orphans.some((p) => p.cost?.pssBytes !== undefined)) report.leakCost = leakCostTotals(report.orphans);
  }
  if (failures.length > 0) report.error = failures.join('; ');
  if (options.reap) report.reaped = [];
  await options.onReport?.(report);
  if (options.reap && report.orphans.length > 0) {
    // What was born since the verdict stays in the group, and goes with it (releaseGroup).
    report.reaped = await reapOrphans(report.orphans, reapOptionsOf(options, tracker));
    const counts: Record<string, number> = {};
    for (const r of report.reaped) counts[r.result] = (counts[r.result] ?? 0) + 1;
    logger.info({ count: report.reaped.length, ...counts }, 'reaped leaked processes');
  }
  return report;
}
