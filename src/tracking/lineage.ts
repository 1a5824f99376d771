// Lineage: while the task runs, follow its process tree from the root, recording the identity of
// every descendant seen — so a child that scrubs its environment (env -i) is still the task's.
// A failed poll never ends the host process: it is counted and reported through `onError`, and
// the next poll (or the last one in stop()) goes on.
import type { PlatformReader, ProcessStatus } from '../platform/types.js';
import { identityKey } from '../rules/identity.js';
import { keepReasonOf, type KeepRules } from '../rules/keep.js';
import { mayNotHaveExeced } from '../rules/settling.js';
import type { LineageRecord } from '../types.js';
import type { TaskAccountant, TreeSample } from './task-account.js';

/** What a lineage does besides recording: add up the tree's memory and CPU, hear of a process leaving the tree. */
export interface LineageHooks {
  /** Fed one sample of the tree's live processes at every poll. */
  account?: TaskAccountant;
  /**
   * A process of the tree was re-parented out of it while the task runs (its parent exited, it lives
   * on: a leak in the making), with its status as read now. Once per process.
   */
  onLeak?: (record: LineageRecord, status: ProcessStatus) => void;
}

/** The share of the time followed that reading PSS for the account may take. */
const PSS_BUDGET = 0.02;

export class Lineage {
  /** Every descendant seen, by identity key (`pid:startTime`), the root included. */
  readonly seen = new Map<string, LineageRecord>();
  /** Polls that failed (each reported through onError). */
  failedPolls = 0;
  private tracked: LineageRecord[] = [];
  /** Records not kept when first seen that may not have exec'd yet: judged again at the next poll. */
  private unsettled: LineageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly reader: PlatformReader,
    private readonly rootPid: number,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void = () => {},
    /** What keeps a process (its environment's markers always): a kept process's descendants stay kept after it exits. */
    private readonly keep: KeepRules = { patterns: [], sharedDaemons: false },
    private readonly hooks: LineageHooks = {},
  ) {}

  /** Processes already told to onLeak, by identity key. */
  private readonly left = new Set<string>();
  /** Time spent reading PSS for the account, and since when: it is read while that stays under PSS_BUDGET of the time. */
  private pssSpentMs = 0;
  private readonly since = performance.now();

  async start(): Promise<void> {
    await this.safePoll(async () => {
      const root = await this.reader.readStatus(this.rootPid);
      if (root) await this.add(root);
    });
    await this.safePoll(() => this.poll());
    this.schedule();
  }

  /** Stops following after one last look, so children born just before the end are recorded. Never rejects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.safePoll(() => this.poll());
  }

  private async safePoll(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.failedPolls++;
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.safePoll(() => this.poll()).finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Whether a process is kept by itself (its environment's markers, its command line), and what it runs. */
  private async keptNow(pid: number): Promise<{ keep: boolean; command: string | undefined }> {
    const markers = await this.reader.readEnvMarkers(pid);
    const command = this.reader.readCommandLine?.(pid);
    return { keep: keepReasonOf(command ?? '', markers, this.keep) !== undefined, command };
  }

  private async add(status: ProcessStatus): Promise<void> {
    const record: LineageRecord = { pid: status.pid, ppid: status.ppid, startTime: status.startTime };
    const { keep, command } = await this.keptNow(status.pid);
    if (keep) record.keep = true;
    // A fork caught before its exec carries its parent's command line and environment, not the keep marker it execs with.
    else if (this.reader.readCommandLine && mayNotHaveExeced(command, this.reader.readCommandLine(status.ppid))) this.unsettled.push(record);
    this.seen.set(identityKey(record), record);
    this.tracked.push(record);
  }

  private async poll(): Promise<void> {
    // Drop tracked pids that died or now belong to another process (pid reuse). One that cannot
    // be read is kept: it may well be alive.
    const statuses = await this.reader.readStatuses(this.tracked.map((r) => r.pid));
    const { account } = this.hooks;
    this.tracked = this.tracked.filter((r) => {
      const status = statuses.get(r.pid);
      const same = status === null || (status !== undefined && status.alive && status.startTime === r.startTime);
      if (!same) account?.vanished(identityKey(r));
      return same;
    });
    const live = new Map<LineageRecord, ProcessStatus>();
    for (const r of this.tracked) {
      const status = statuses.get(r.pid);
      if (status) live.set(r, status);
    }
    const unsettled = this.unsettled;
    this.unsettled = [];
    for (const r of unsettled) if (this.tracked.includes(r) && (await this.keptNow(r.pid)).keep) r.keep = true;
    let frontier = this.tracked;
    // Descend level by level so grandchildren born between two polls are found in one poll.
    while (frontier.length > 0) {
      const children = await this.reader.readChildren(frontier.map((r) => r.pid));
      // Children are read by bare pid: a parent that was replaced by another process (pid reuse)
      // since we checked it would lend its children our lineage. Check the parents again now.
      const after = await this.reader.readStatuses(frontier.map((r) => r.pid));
      const sameParent = new Set<number>();
      for (const r of frontier) {
        const status = after.get(r.pid);
        // Gone is fine (the children were read while it lived, or are re-parented by now); a
        // different start time, or one we cannot read, is not.
        if (status === undefined || (status !== null && status.startTime === r.startTime)) sameParent.add(r.pid);
      }
      const next: LineageRecord[] = [];
      for (const child of children) {
        if (!sameParent.has(child.ppid) || this.seen.has(identityKey(child))) continue;
        await this.add(child);
        const record = this.tracked.at(-1)!;
        live.set(record, child);
        next.push(record);
      }
      frontier = next;
    }
    if (account || this.hooks.onLeak) await this.observe(live);
  }

  /** The tree's live processes after a poll: a sample for the account, and any that left the tree while the task runs. */
  private async observe(live: ReadonlyMap<LineageRecord, ProcessStatus>): Promise<void> {
    const inTree = new Set<number>();
    for (const r of live.keys()) inTree.add(r.pid);
    const root = this.tracked[0]?.pid === this.rootPid ? this.tracked[0] : undefined;
    const rootAlive = root !== undefined && live.has(root);
    const samples: TreeSample[] = [];
    // PSS costs a walk of each process's page tables (3.6 ms for a 300 MB process here): read at a
    // sample only while the time spent on it stays under PSS_BUDGET of the time followed, the
    // interval ahead counted.
    const readPss = this.reader.readMemoryFootprint !== undefined && this.pssSpentMs <= PSS_BUDGET * (performance.now() - this.since + this.intervalMs);
    const t0 = performance.now();
    for (const [r, status] of live) {
      const isRoot = r === root;
      const parentInTree = isRoot || inTree.has(status.ppid);
      if (!parentInTree && status.ppid !== r.ppid && rootAlive) this.tellLeak(r, status);
      if (!this.hooks.account) continue;
      const sample: TreeSample = { key: identityKey(r), status, parentInTree };
      if (readPss) {
        const memory = this.reader.readMemoryFootprint!(r.pid);
        if (memory) sample.pssBytes = memory.pssBytes;
        else if (!(await this.stillThere(r))) continue; // exited since its status was read
      }
      samples.push(sample);
    }
    if (readPss) this.pssSpentMs += performance.now() - t0;
    this.hooks.account?.sample(rootAlive, samples, readPss);
  }

  /** Whether a process is still the one recorded (read once more, after a failed read of its memory). */
  private async stillThere(r: LineageRecord): Promise<boolean> {
    try {
      const status = await this.reader.readStatus(r.pid);
      return status !== undefined && status.alive && status.startTime === r.startTime;
    } catch {
      return true; // it exists but cannot be read: its memory is unknown
    }
  }

  private tellLeak(r: LineageRecord, status: ProcessStatus): void {
    const key = identityKey(r);
    if (this.left.has(key)) return;
    this.left.add(key);
    try {
      this.hooks.onLeak?.(r, status);
    } catch {
      // the caller's callback failed: following the task goes on
    }
  }
}
