// ResourceTracker: the seed's lifecycle (snapshotBefore → task → snapshotAfter → detectOrphans →
// checkMemoryGrowth → reset), wiring the platform reader, the pure rules and a logger.
import type { ChildProcess } from 'node:child_process';
import { validateConfig } from '../config.js';
import { TrackerStateError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { measureCosts } from './leak-cost.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { attribute, attributes, detectOrphans, type Attribution } from '../rules/attribution.js';
import { identityKey } from '../rules/identity.js';
import { exceedsThreshold, memoryGrowth, totalMemoryBytes } from '../rules/memory.js';
import { unsettledProcesses } from '../rules/settling.js';
import { compileKeepPatterns } from '../rules/patterns.js';
import { checkDuration, checkFunction, checkOptionsObject, checkPid } from '../validate.js';
import { concurrentRuns, type RunEvidence, type RunHandle } from './concurrent-runs.js';
import { takeSnapshot } from './snapshot.js';
import { Lineage } from './lineage.js';
import { registerRun, type RunRegistration } from './run-file.js';
import { TaskAccountant, taskAccount, type CgroupFigures, type TaskAccount } from './task-account.js';
import { formatTaskTag, newTagRandom, parseTaskTag, TASK_ENV_VAR, UNKNOWN_PID_NAMESPACE } from './task-tag.js';
import { isRunGroupName, RUN_GROUP_PREFIX } from '../platform/cgroup.js';
import { type AttributedProcess, type LineageRecord, type ProcessInfo, type ProcessSnapshot, type ResourceTrackerConfig } from '../types.js';

/** Options of a tracker that are not configuration. */
export interface ResourceTrackerOptions {
  /** The OS reader (default: this platform's); tests inject their own. */
  reader?: PlatformReader;
}

/** A process of the task that left the task's tree while the task still runs: its parent exited, it lives on. */
export interface RunningLeak {
  pid: number;
  /** Its parent now (1, or a subreaper). */
  ppid: number;
  /** Its command line as read when it was heard of ('' when it could not be read). */
  command: string;
  /** When it started, in ms since the epoch. */
  startTime: number;
  /** Its identity, as `identityKey()` gives it: compare with the report's orphans. */
  identity: string;
  /** The tag of the run it belongs to, when the run has one. */
  tag?: string;
}

/** Options of `followTask()`. */
export interface FollowTaskOptions {
  /**
   * Called when a process of the task leaves its tree while the task runs — re-parented because its
   * parent exited (a daemon's double fork, a server a script started and left): heard within one
   * `lineageIntervalMs` of it. Only processes the lineage saw while their parent lived; one born and
   * orphaned between two looks is found by the after snapshot only. An exception it throws is ignored.
   */
  onLeak?: (leak: RunningLeak) => void;
}

/** Options of `analyze()`. */
export interface AnalyzeOptions {
  /** How long the CPU use of what the task left is sampled, in ms, for `cost.cpuPercent` and `spinning` (default 0: none). */
  cpuSampleMs?: number;
  /** `false`: the verdicts alone, their costs not read (yet): a later `analyze()` reads them. Default true. */
  costs?: boolean;
}

/** "chromium (PID=12345) [MCP]" — the seed's way of naming a process in a log line. */
export function describeProcess(p: ProcessInfo): string {
  return `${p.command} (PID=${p.pid})${p.isMCP ? ' [MCP]' : ''}`;
}

/** How long a process caught between fork and exec is given before it is read again, and how many times. */
const SETTLE_MS = 40;
const SETTLE_ROUNDS = 3;

type Phase = 'idle' | 'before' | 'after';

/**
 * The seed's tracker: snapshot before a task, after it, then detect what it left and how memory grew.
 *
 * With `taskEnv()` and `followTask()` its verdicts carry evidence (tag, lineage); without them
 * `detectOrphans()` is exactly the seed's rule. Calls out of order throw a `TrackerStateError`.
 * Silent unless given a logger.
 */
export class ResourceTracker {
  readonly config: ResourceTrackerConfig;
  private readonly logger: Logger;
  private readonly reader: PlatformReader | undefined;
  private readonly keepPatterns: RegExp[];
  private phase: Phase = 'idle';
  private before: ProcessSnapshot | undefined;
  private after: ProcessSnapshot | undefined;
  private excluded: ReadonlySet<number> = new Set();
  private taskTag: string | undefined;
  private run: RunRegistration | undefined;
  private lineage: Lineage | undefined;
  private accountant: TaskAccountant | undefined;
  private attribution: Attribution | undefined;
  private costsMeasured: Promise<void> | undefined;
  private cgroupMembers: ReadonlySet<number> | undefined;
  private cgroupFigures: CgroupFigures | undefined;
  private registered: RunHandle | undefined;
  private thresholdWarned = false;
  private readonly warned = new Set<string>();
  /** What the other runs of this process may ask of this one (held weakly by the registry). */
  private readonly evidence: RunEvidence = {
    tag: () => this.taskTag,
    lineage: () => this.lineage?.seen,
    cgroupMembers: () => this.cgroupMembers,
    before: () => this.before,
    after: () => this.after,
  };

  constructor(config: Partial<ResourceTrackerConfig> = {}, logger?: Logger, options: ResourceTrackerOptions = {}) {
    this.config = validateConfig(config); // one ConfigError naming the key, as loadConfig gives
    if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.info !== 'function' || typeof logger.error !== 'function')) {
      throw new TypeError('new ResourceTracker(config, logger): logger must have info, warn and error methods (a pino logger, createLogger(), silentLogger)');
    }
    checkOptionsObject('new ResourceTracker(config, logger, options): options', options);
    this.logger = logger ?? silentLogger;
    this.reader = options.reader;
    this.keepPatterns = compileKeepPatterns(this.config.keep);
  }

  /** The snapshot taken by `snapshotBefore()`, until `reset()`. */
  get beforeSnapshot(): ProcessSnapshot | undefined {
    return this.before;
  }

  /** The snapshot taken by `snapshotAfter()`, until `reset()`. */
  get afterSnapshot(): ProcessSnapshot | undefined {
    return this.after;
  }

  /** The task tag, once `taskEnv()` created it. */
  get tag(): string | undefined {
    return this.taskTag;
  }

  private getReader(): PlatformReader {
    return this.reader ?? platformReader();
  }

  private requirePhase(call: string, phase: Phase): void {
    if (this.phase === phase) return;
    const first: Record<Phase, string> = {
      idle: 'reset() first (the previous task is not over)',
      before: this.phase === 'idle' ? 'snapshotBefore() first' : 'it belongs before snapshotAfter(); reset() for the next task',
      after: this.phase === 'idle' ? 'snapshotBefore(), the task, then snapshotAfter() first' : 'snapshotAfter() first',
    };
    throw new TrackerStateError(`ResourceTracker.${call}: called out of order: ${first[phase]}`);
  }

  /**
   * Takes the snapshot before the task (logs one INFO line); undefined when tracking is disabled.
   * `exclude`: pids that belong to the task although they exist already (its first process, started
   * and held until the snapshot is taken).
   */
  async snapshotBefore(options: { exclude?: readonly number[] } = {}): Promise<ProcessSnapshot | undefined> {
    checkOptionsObject('snapshotBefore(options)', options);
    for (const pid of options.exclude ?? []) checkPid('snapshotBefore: options.exclude[]', pid);
    this.requirePhase('snapshotBefore()', 'idle');
    if (!this.config.enabled) {
      this.phase = 'before';
      return undefined;
    }
    const before = await takeSnapshot({ reader: this.getReader(), keep: this.keepPatterns, keepSharedDaemons: this.config.keepSharedDaemons, exclude: options.exclude, shared: true });
    this.requirePhase('snapshotBefore()', 'idle'); // another call made while this one read the table
    this.before = before;
    this.excluded = new Set(options.exclude ?? []);
    this.phase = 'before';
    this.registered = concurrentRuns.begin(this.evidence);
    this.logSnapshot('before', this.before);
    return this.before;
  }

  /**
   * Ends the run (its tag stops counting as a live run's), stops following the task, and takes the
   * snapshot after it (incremental: only new processes are read in full). `settle` waits before a
   * process caught between fork and exec is read again (default: a timer; a run whose group is
   * frozen thaws it meanwhile, so that the process can exec). `endRun: false` leaves the run in
   * progress for others (its tag still a live run's) until `endRun()`: runTracked ends it once what
   * the run kept is recorded, so that no scan takes a kept process for an over run's leak meanwhile.
   */
  async snapshotAfter(options: { settle?: (ms: number) => Promise<void>; endRun?: boolean } = {}): Promise<ProcessSnapshot | undefined> {
    this.requirePhase('snapshotAfter()', 'before');
    if (!this.config.enabled) {
      this.phase = 'after';
      return undefined;
    }
    if (options.endRun !== false) this.endRun();
    await this.lineage?.stop();
    // Incremental: unchanged identities take their command from the before snapshot; only new
    // processes have cmdline (and, when a tag is in use, environ) read.
    // New processes' command lines are read whole where the table cut them: the verdicts rest on them.
    const read = { reader: this.getReader(), environment: this.taskTag !== undefined ? ('new' as const) : ('none' as const), keep: this.keepPatterns, keepSharedDaemons: this.config.keepSharedDaemons, wholeCommandLines: 'read' as const, shared: true };
    let after = await takeSnapshot({ ...read, previous: this.before });
    // A process caught between fork and exec is read again once it has had a moment to exec
    // (a task that backgrounds a kept server and exits at once): judged by what it runs.
    // Not what other runs of this host are starting now (tasks run at once): this process's own
    // children (the task has exited) and processes carrying another run's tag are never this task's.
    const host = this.getReader().selfIdentity().pid;
    const mayBeOurs = (p: ProcessInfo): boolean => p.ppid !== host && !this.isAnotherRunsTag(p.taskTag);
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      const unsettled = unsettledProcesses(this.before ?? after, after).filter(mayBeOurs);
      if (unsettled.length === 0) break;
      await (options.settle ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))))(SETTLE_MS);
      after = await takeSnapshot({ ...read, previous: after, reread: new Set(unsettled.map((p) => p.pid)) });
    }
    this.requirePhase('snapshotAfter()', 'before'); // reset() while this one read the table
    this.after = after;
    this.phase = 'after';
    this.attribution = undefined;
    this.registered?.end();
    this.logSnapshot('after', this.after);
    return this.after;
  }

  private logSnapshot(which: 'before' | 'after', snapshot: ProcessSnapshot): void {
    this.logger.info(
      { processes: snapshot.processCount, memory_mb: round1(snapshot.totalMemoryMB) },
      `resource snapshot taken (${which})`,
    );
    for (const warning of snapshot.warnings ?? []) {
      if (this.warned.has(warning)) continue; // one clear warning, not one per snapshot
      this.warned.add(warning);
      this.logger.warn({ platform: this.getReader().platform }, warning);
    }
  }

  /**
   * Environment for the task: adds RESOURCE_TRACKER_TASK=<tag>, which every descendant inherits,
   * so what the task leaves can be told from bystanders. Before `snapshotAfter()` only.
   */
  taskEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    checkOptionsObject('taskEnv(env): env', env);
    if (this.phase === 'after') this.requirePhase('taskEnv()', 'before');
    if (this.taskTag === undefined) {
      const reader = this.getReader();
      // A Linux reader that cannot read our namespace writes "unknown", never "ours" (the tag could
      // then be matched against a process of another namespace that has our pid).
      const pidNamespace = reader.readPidNamespace ? (readOwnNamespace(reader) ?? UNKNOWN_PID_NAMESPACE) : undefined;
      const random = newTagRandom();
      // The run is in progress while this process holds its run file: it ends at snapshotAfter()
      // or reset(), even though this process (an orchestrator, say) lives on.
      this.run = registerRun(random);
      this.taskTag = formatTaskTag({ ...reader.selfIdentity(), pidNamespace, registered: this.run !== undefined }, random);
    }
    return { ...env, [TASK_ENV_VAR]: this.taskTag };
  }

  /** The run is over: its tag no longer counts as a live run's, so what it left is a certain leak for `scan` (snapshotAfter does it unless asked not to; idempotent). */
  endRun(): void {
    this.run?.close();
    this.run = undefined;
  }

  /**
   * Starts following the task's process tree from its first process until `snapshotAfter()`: what it
   * starts gets `lineage` evidence, and its memory and CPU are sampled for `taskAccount()`. Pass the
   * `ChildProcess` you spawned (a task that has exited already is fine), or its pid: a whole number,
   * a live process started after `snapshotBefore()` — anything else is a RangeError or TypeError,
   * since following a bystander would blame (and let reapOrphans kill) what it starts.
   */
  async followTask(task: number | Pick<ChildProcess, 'pid' | 'exitCode' | 'signalCode'>, options: FollowTaskOptions = {}): Promise<void> {
    checkOptionsObject('followTask(task, options): options', options);
    checkFunction('followTask: options.onLeak', options.onLeak);
    let pid: number;
    let mayHaveExited = false;
    if (typeof task === 'object' && task !== null) {
      if (task.pid === undefined) {
        this.requirePhase('followTask()', 'before');
        return; // it never started (the spawn failed): nothing to follow
      }
      checkPid('followTask: task.pid', task.pid, { notInit: true });
      pid = task.pid;
      mayHaveExited = true;
    } else {
      checkPid('followTask(pid)', task, { notInit: true });
      pid = task;
    }
    this.requirePhase('followTask()', 'before');
    if (!this.config.enabled) return;
    const reader = this.getReader();
    this.accountant ??= new TaskAccountant(); // the account exists even for a task that has exited already
    const status = await reader.readStatus(pid).catch(() => null);
    if (status === undefined || status?.alive === false) {
      if (mayHaveExited) return; // the task has exited already: its tag and cgroup still tell
      throw new RangeError(`followTask(${pid}): no such process (pass the ChildProcess to follow a task that may have exited already)`);
    }
    if (status && !this.excluded.has(pid) && this.before?.processes.some((p) => p.pid === pid && identityKey(p) === identityKey(status))) {
      throw new RangeError(`followTask(${pid}): that process was running before snapshotBefore(): it is not the task (start the task after snapshotBefore())`);
    }
    await this.lineage?.stop();
    this.accountant = new TaskAccountant();
    const onLeak = options.onLeak;
    const lineage: Lineage = new Lineage(
      reader,
      pid,
      this.config.lineageIntervalMs,
      (err) => {
        // Counted always, logged once per kind of failure: a poll every 250 ms must not flood the log.
        const key = `lineage:${err.message}`;
        if (this.warned.has(key)) return;
        this.warned.add(key);
        this.logger.warn({ error: err.message, failed_polls: lineage.failedPolls }, 'following the task\'s process tree failed; going on');
      },
      { patterns: this.keepPatterns, sharedDaemons: this.config.keepSharedDaemons },
      {
        account: this.accountant,
        ...(onLeak
          ? {
              onLeak: (record: LineageRecord, now) => {
                const leak: RunningLeak = {
                  pid: record.pid,
                  ppid: now.ppid,
                  command: reader.readCommandLine?.(record.pid) ?? '',
                  startTime: reader.startTimeToEpochMs(record.startTime),
                  identity: identityKey(record),
                };
                if (this.taskTag !== undefined) leak.tag = this.taskTag;
                onLeak(leak);
              },
            }
          : {}),
      },
    );
    this.lineage = lineage;
    await this.lineage.start();
  }

  /** Attribution and the separation from concurrent runs, once per task. */
  private verdicts(call: string): Attribution {
    this.requirePhase(call, 'after');
    if (this.attribution) return this.attribution;
    if (!this.config.enabled || !this.before || !this.after) return { orphans: [], suspects: [], kept: [] };
    const verdicts = attribute(this.before, this.after, {
      tag: this.taskTag,
      lineage: this.lineage?.seen,
      cgroupMembers: this.cgroupMembers,
    });
    verdicts.suspects = this.ownSuspects(verdicts.suspects);
    verdicts.kept = this.ownSuspects(verdicts.kept, true);
    this.attribution = verdicts;
    return verdicts;
  }

  /**
   * The suspects (and unattributed kept processes) that are this run's to name: not another run's by
   * its tag, its cgroup or (another run of this process) its lineage; and, when several runs of this
   * process were in progress as it started, only if no other report named it first — then with the
   * runs it could belong to.
   */
  private ownSuspects(list: AttributedProcess[], attributedStay = false): AttributedProcess[] {
    const reader = this.getReader();
    const self = this.registered?.entry;
    const mine: AttributedProcess[] = [];
    for (const p of list) {
      if (attributedStay && attributes(p.evidence)) {
        mine.push(p);
        continue;
      }
      if (this.isAnotherRunsTag(p.taskTag)) continue; // another run's, by its tag
      const group = reader.readCgroup?.(p.pid);
      const groupName = group?.slice(group.lastIndexOf('/') + 1);
      if (groupName !== undefined && isRunGroupName(groupName) && groupName !== `${RUN_GROUP_PREFIX}${this.taskTag}`) continue; // in another run's cgroup
      if (self && concurrentRuns.claimedByAnother(p, self)) continue;
      if (!this.config.enabled || !self) {
        mine.push(p);
        continue;
      }
      const candidates = concurrentRuns.candidates(p, self);
      if (candidates.length > 1) {
        if (!concurrentRuns.nameOnce(p, candidates)) continue; // named in another run's report
        p.couldBelongTo = concurrentRuns.tagsOf(candidates);
      }
      mine.push(p);
    }
    return mine;
  }

  /** A task tag that is not this run's (and not the empty keep marker). */
  private isAnotherRunsTag(tag: string | undefined): boolean {
    return tag !== undefined && tag !== '' && tag !== this.taskTag && parseTaskTag(tag) !== undefined;
  }

  /**
   * What the task left, with evidence: orphans (tag, lineage, cgroup), suspects (the seed's rule
   * only) and kept processes — each with what it costs (`cost`: PSS, USS, CPU time, ports; with
   * `cpuSampleMs`, its CPU share over that sample). After `snapshotAfter()`.
   */
  async analyze(options: AnalyzeOptions = {}): Promise<Attribution> {
    checkOptionsObject('analyze(options)', options);
    checkDuration('analyze: options.cpuSampleMs', options.cpuSampleMs);
    const verdicts = this.verdicts('analyze()');
    if (options.costs === false) return verdicts;
    this.costsMeasured ??= measureCosts([...verdicts.orphans, ...verdicts.suspects], { reader: this.reader, sampleMs: options.cpuSampleMs ?? 0 });
    await this.costsMeasured;
    return verdicts;
  }

  /**
   * The task's orphans, logged as one WARN line (with a logger). Without a task tag, lineage or
   * cgroup this is exactly the seed's rule (evidence `heuristic`); with them, only processes that
   * evidence attributes. The same as the pure `detectOrphans()` on this tracker's snapshots. After
   * `snapshotAfter()`.
   */
  detectOrphans(): AttributedProcess[] {
    const verdicts = this.verdicts('detectOrphans()');
    if (!this.config.enabled || !this.before || !this.after) return [];
    const attributed = this.taskTag !== undefined || this.lineage !== undefined || this.cgroupMembers !== undefined;
    let orphans = attributed ? verdicts.orphans : detectOrphans(this.before, this.after);
    if (this.config.logOrphanedMCPOnly) orphans = orphans.filter((p) => p.isMCP);
    if (orphans.length > 0) {
      this.logger.warn(
        { count: orphans.length, processes: orphans.map(describeProcess).join(', ') },
        'orphaned processes detected',
      );
    }
    return orphans;
  }

  /** Machine-wide memory delta in MB (after − before, the seed's); logs a WARN line when it is strictly above the threshold. After `snapshotAfter()`. */
  checkMemoryGrowth(): number {
    this.requirePhase('checkMemoryGrowth()', 'after');
    if (!this.config.enabled || !this.before || !this.after) return 0;
    const delta = memoryGrowth(this.before, this.after);
    if (exceedsThreshold(delta, this.config.memoryThresholdMB)) {
      this.logger.warn(
        {
          delta_mb: round1(delta),
          threshold_mb: this.config.memoryThresholdMB,
          before_mb: round1(this.before.totalMemoryMB),
          after_mb: round1(this.after.totalMemoryMB),
        },
        'memory growth exceeded threshold',
      );
    }
    return delta;
  }

  /**
   * The task's own account: the memory its tree held (peak and last, sampled through its lineage;
   * exact from its cgroup where runTracked gave it one), its CPU time, and what its leaks still hold
   * (PSS once `analyze()` measured it, RSS until then; `leaks`: which processes those are, default
   * the orphans). Logs a WARN line once when the config's
   * `taskMemoryThresholdMB` is exceeded. Undefined when the task was not followed (`followTask()`) or
   * where the OS tells no more than RSS of single processes (macOS, Windows); a task that ended before
   * its first sample has `memory.source: 'none'`. After `snapshotAfter()`.
   */
  taskAccount(leaks?: readonly AttributedProcess[]): TaskAccount | undefined {
    const verdicts = this.verdicts('taskAccount()');
    const sampled = this.accountant?.result();
    // Where the OS tells no more than RSS of single processes (macOS, Windows), there is no account.
    if (!sampled || (!sampled.measured && !this.getReader().readMemoryFootprint && this.cgroupFigures === undefined)) return undefined;
    const orphans = leaks ?? verdicts.orphans;
    let pss = 0;
    for (const p of orphans) pss += p.cost?.pssBytes ?? p.memoryBytes ?? 0;
    const account = taskAccount(sampled, this.cgroupFigures, { processes: orphans.length, rssBytes: totalMemoryBytes(orphans), pssBytes: pss }, this.config.taskMemoryThresholdMB);
    if (account.memory.exceeded && !this.thresholdWarned) {
      this.thresholdWarned = true;
      this.logger.warn(
        { peak_mb: round1(account.memory.peakMB), threshold_mb: account.memory.thresholdMB, source: account.memory.source, ...(this.taskTag ? { tag: this.taskTag } : {}) },
        'task memory exceeded threshold',
      );
    }
    return account;
  }

  /**
   * The pids in the task's control group after it ended, and the group's own figures (runTracked reads
   * them): evidence `cgroup`, and the exact memory and CPU of the account.
   * @internal
   */
  recordCgroupMembers(pids: ReadonlySet<number>, figures?: CgroupFigures): void {
    this.cgroupMembers = pids;
    if (figures) this.cgroupFigures = figures;
    this.attribution = undefined;
    this.costsMeasured = undefined;
  }

  /** Clears snapshots, tag and lineage for the next task (ends the run if it is in progress). */
  reset(): void {
    this.endRun();
    void this.lineage?.stop();
    this.registered?.release();
    this.registered = undefined;
    this.lineage = undefined;
    this.accountant = undefined;
    this.before = undefined;
    this.after = undefined;
    this.excluded = new Set();
    this.taskTag = undefined;
    this.attribution = undefined;
    this.costsMeasured = undefined;
    this.cgroupMembers = undefined;
    this.cgroupFigures = undefined;
    this.thresholdWarned = false;
    this.phase = 'idle';
  }
}

function readOwnNamespace(reader: PlatformReader): string | undefined {
  try {
    return reader.readPidNamespace?.(process.pid)?.namespace;
  } catch {
    return undefined;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
