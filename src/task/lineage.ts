// Lineage: while the task runs, follow its process tree from the root, recording the identity of
// every descendant seen — so a child that scrubs its environment (env -i) is still the task's.
import type { PlatformReader, ProcessStatus } from '../platform/types.js';
import { identityKey } from '../rules/identity.js';
import type { LineageRecord } from '../types.js';

export class Lineage {
  /** Every descendant seen, by identity key (`pid:startTime`), the root included. */
  readonly seen = new Map<string, LineageRecord>();
  private tracked: LineageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly reader: PlatformReader,
    private readonly rootPid: number,
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    const root = await this.reader.readStatus(this.rootPid);
    if (root) await this.add(root);
    await this.poll();
    this.schedule();
  }

  /** Stops following after one last look, so children born just before the end are recorded. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.poll();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
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
    // Drop tracked pids that died or now belong to another process (pid reuse).
    const alive: LineageRecord[] = [];
    for (const record of this.tracked) {
      const status = await this.reader.readStatus(record.pid);
      if (status && status.alive && status.startTime === record.startTime) alive.push(record);
    }
    this.tracked = alive;
    let frontier = alive.map((r) => r.pid);
    // Descend level by level so grandchildren born between two polls are found in one poll.
    while (frontier.length > 0) {
      const children = await this.reader.readChildren(frontier);
      frontier = [];
      for (const child of children) {
        if (this.seen.has(identityKey(child))) continue;
        await this.add(child);
        frontier.push(child.pid);
      }
    }
  }
}
