// ResourceTracker: the seed's lifecycle (snapshotBefore → task → snapshotAfter → detectOrphans →
// checkMemoryGrowth → reset), wiring the platform reader, the pure rules and a logger.
import { validateConfig } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { attribute, type Attribution } from '../rules/attribution.js';
import { exceedsThreshold, memoryGrowth } from '../rules/memory.js';
import { detectOrphans } from '../rules/orphans.js';
import { unsettledProcesses } from '../rules/settling.js';
import { compileKeepPatterns } from '../rules/patterns.js';
import { takeSnapshot } from './snapshot.js';
import { Lineage } from './lineage.js';
import { registerRun, type RunRegistration } from './run-file.js';
import { formatTaskTag, newTagRandom, TASK_ENV_VAR, UNKNOWN_PID_NAMESPACE } from './task-tag.js';
import { type ProcessInfo, type ProcessSnapshot, type ResourceTrackerConfig } from '../types.js';

/** Options of a tracker that are not configuration. */
export interface ResourceTrackerOptions {
  /** The OS reader (default: this platform's); tests inject their own. */
  reader?: PlatformReader;
}

/** "chromium (PID=12345) [MCP]" — the seed's way of naming a process in a log line. */
export function describeProcess(p: ProcessInfo): string {
  return `${p.command} (PID=${p.pid})${p.isMCP ? ' [MCP]' : ''}`;
}

/** How long a process caught between fork and exec is given before it is read again, and how many times. */
const SETTLE_MS = 40;
const SETTLE_ROUNDS = 3;

/**
 * The seed's tracker: snapshot before a task, after it, then detect what it left and how memory grew.
 *
 * With `taskEnv()` and `followTask()` its verdicts carry evidence (tag, lineage); without them
 * `detectOrphans()` is exactly the seed's rule.
 */
export class ResourceTracker {
  readonly config: ResourceTrackerConfig;
  private readonly logger: Logger;
  private readonly reader: PlatformReader | undefined;
  private readonly keepPatterns: RegExp[];
  private before: ProcessSnapshot | undefined;
  private after: ProcessSnapshot | undefined;
  private taskTag: string | undefined;
  private run: RunRegistration | undefined;
  private lineage: Lineage | undefined;
  private attribution: Attribution | undefined;
  private cgroupMembers: ReadonlySet<number> | undefined;
  private readonly warned = new Set<string>();

  constructor(config: Partial<ResourceTrackerConfig> = {}, logger?: Logger, options: ResourceTrackerOptions = {}) {
    this.config = validateConfig(config); // one ConfigError naming the key, as loadConfig gives
    this.logger = logger ?? createLogger();
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

  /** The task tag, once `taskEnv()` or `followTask()` created it. */
  get tag(): string | undefined {
    return this.taskTag;
  }

  private getReader(): PlatformReader {
    return this.reader ?? platformReader();
  }

  /**
   * Takes the snapshot before the task (logs one INFO line); undefined when tracking is disabled.
   * `exclude`: pids that belong to the task although they exist already (its first process, started
   * and held until the snapshot is taken).
   */
  async snapshotBefore(options: { exclude?: readonly number[] } = {}): Promise<ProcessSnapshot | undefined> {
    if (!this.config.enabled) return undefined;
    this.before = await takeSnapshot({ reader: this.getReader(), keep: this.keepPatterns, keepSharedDaemons: this.config.keepSharedDaemons, exclude: options.exclude });
    this.logSnapshot('before', this.before);
    return this.before;
  }

  /**
   * Ends the run (its tag stops counting as a live run's), stops following the task, and takes the
   * snapshot after it (incremental: only new processes are read in full). `settle` waits before a
   * process caught between fork and exec is read again (default: a timer; a run whose group is
   * frozen thaws it meanwhile, so that the process can exec).
   */
  async snapshotAfter(options: { settle?: (ms: number) => Promise<void> } = {}): Promise<ProcessSnapshot | undefined> {
    if (!this.config.enabled) return undefined;
    this.endRun();
    await this.lineage?.stop();
    // Incremental: unchanged identities take their command from the before snapshot; only new
    // processes have cmdline (and, when a tag is in use, environ) read.
    // New processes' command lines are read whole where the table cut them: the verdicts rest on them.
    const read = { reader: this.getReader(), environment: this.taskTag !== undefined ? ('new' as const) : ('none' as const), keep: this.keepPatterns, keepSharedDaemons: this.config.keepSharedDaemons, wholeCommandLines: 'read' as const };
    this.after = await takeSnapshot({ ...read, previous: this.before });
    // A process caught between fork and exec is read again once it has had a moment to exec
    // (a task that backgrounds a kept server and exits at once): judged by what it runs.
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      const unsettled = unsettledProcesses(this.before ?? this.after, this.after);
      if (unsettled.length === 0) break;
      await (options.settle ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))))(SETTLE_MS);
      this.after = await takeSnapshot({ ...read, previous: this.after, reread: new Set(unsettled.map((p) => p.pid)) });
    }
    this.attribution = undefined;
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
   * so what the task leaves can be told from bystanders.
   */
  taskEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
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

  /** The run is over: its tag no longer counts as a live run's, so what it left is a certain leak for `scan`. */
  private endRun(): void {
    this.run?.close();
    this.run = undefined;
  }

  /** Starts following the task's process tree from its root pid until `snapshotAfter()`. */
  async followTask(rootPid: number): Promise<void> {
    if (!this.config.enabled) return;
    await this.lineage?.stop();
    const lineage: Lineage = new Lineage(this.getReader(), rootPid, this.config.lineageIntervalMs, (err) => {
      // Counted always, logged once per kind of failure: a poll every 250 ms must not flood the log.
      const key = `lineage:${err.message}`;
      if (this.warned.has(key)) return;
      this.warned.add(key);
      this.logger.warn({ error: err.message, failed_polls: lineage.failedPolls }, 'following the task\'s process tree failed; going on');
    }, { patterns: this.keepPatterns, sharedDaemons: this.config.keepSharedDaemons });
    this.lineage = lineage;
    await this.lineage.start();
  }

  /** What the task left, with evidence: orphans (tag/lineage), suspects (seed rule only) and kept processes. */
  analyze(): Attribution {
    if (this.attribution) return this.attribution;
    if (!this.config.enabled || !this.before || !this.after) return { orphans: [], suspects: [], kept: [] };
    this.attribution = attribute(this.before, this.after, {
      tag: this.taskTag,
      lineage: this.lineage?.seen,
      cgroupMembers: this.cgroupMembers,
    });
    return this.attribution;
  }

  /**
   * Orphaned processes, logged as one WARN line. Without a task tag or lineage this is exactly the
   * seed's rule; when the task was tagged or followed, only processes with that evidence count.
   */
  detectOrphans(): ProcessInfo[] {
    if (!this.config.enabled || !this.before || !this.after) return [];
    const attributed = this.taskTag !== undefined || this.lineage !== undefined || this.cgroupMembers !== undefined;
    let orphans: ProcessInfo[] = attributed
      ? this.analyze().orphans
      : detectOrphans(this.before, this.after).filter((p) => p.keepReason === undefined);
    if (this.config.logOrphanedMCPOnly) orphans = orphans.filter((p) => p.isMCP);
    if (orphans.length > 0) {
      this.logger.warn(
        { count: orphans.length, processes: orphans.map(describeProcess).join(', ') },
        'orphaned processes detected',
      );
    }
    return orphans;
  }

  /** Memory delta in MB (after − before); logs a WARN line when it is strictly above the threshold. */
  checkMemoryGrowth(): number {
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

  /** The pids in the task's control group after it ended (runTracked reads them): evidence `cgroup`. */
  recordCgroupMembers(pids: ReadonlySet<number>): void {
    this.cgroupMembers = pids;
    this.attribution = undefined;
  }

  /** Clears snapshots, tag and lineage for the next task. */
  reset(): void {
    this.endRun();
    void this.lineage?.stop();
    this.lineage = undefined;
    this.before = undefined;
    this.after = undefined;
    this.taskTag = undefined;
    this.attribution = undefined;
    this.cgroupMembers = undefined;
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
