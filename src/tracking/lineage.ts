// Lineage: while the task runs, follow its process tree from the root, recording the identity of
// every descendant seen — so a child that scrubs its environment (env -i) is still the task's.
// A failed poll never ends the host process: it is counted and reported through `onError`, and
// the next poll (or the last one in stop()) goes on.
import type { PlatformReader, ProcessStatus } from '../platform/types.js';
import { identityKey } from '../rules/identity.js';
import type { LineageRecord } from '../types.js';

export class Lineage {
  /** Every descendant seen, by identity key (`pid:startTime`), the root included. */
  readonly seen = new Map<string, LineageRecord>();
  /** Polls that failed (each reported through onError). */
  failedPolls = 0;
  private tracked: LineageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly reader: PlatformReader,
    private readonly rootPid: number,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

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

  private async add(status: ProcessStatus): Promise<void> {
    const markers = await this.reader.readEnvMarkers(status.pid);
    const record: LineageRecord = { pid: status.pid, ppid: status.ppid, startTime: status.startTime };
    if (markers && (markers.keep || markers.task === '')) record.keep = true;
    this.seen.set(identityKey(record), record);
    this.tracked.push(record);
  }

  private async poll(): Promise<void> {
    // Drop tracked pids that died or now belong to another process (pid reuse). One that cannot
    // be read is kept: it may well be alive.
    const statuses = await this.reader.readStatuses(this.tracked.map((r) => r.pid));
    this.tracked = this.tracked.filter((r) => {
      const status = statuses.get(r.pid);
      return status === null || (status !== undefined && status.alive && status.startTime === r.startTime);
    });
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
        next.push(this.tracked.at(-1)!);
      }
      frontier = next;
    }
  }
}
