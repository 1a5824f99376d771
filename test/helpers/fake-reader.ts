// A PlatformReader over plain data, for tests of the tracker's wiring without the OS.
import type { PlatformReader, ProcessStatus, RawProcess } from '../../src/platform/types.js';

/** A process of a scripted tick: identity, parent, and the session it is in (when the test says). */
export type TickProcess = { pid: number; ppid: number; startTime: number; session?: number };

export interface FakeProcess {
  pid: number;
  ppid: number;
  command?: string;
  rssMB?: number;
  startTime?: number;
  task?: string;
  keep?: boolean;
}

export function fakeReader(tables: FakeProcess[][]): PlatformReader & { reads: number } {
  let index = 0;
  const toRaw = (p: FakeProcess): RawProcess => ({
    pid: p.pid,
    ppid: p.ppid,
    name: (p.command ?? `proc${p.pid}`).split(' ')[0]!,
    commandLine: p.command ?? `proc${p.pid}`,
    rssBytes: (p.rssMB ?? 1) * 1024 * 1024,
    startTime: p.startTime ?? p.pid,
    ...(p.task !== undefined || p.keep ? { env: { task: p.task, keep: p.keep ?? false } } : {}),
  });
  const current = (): FakeProcess[] => tables[Math.min(index, tables.length - 1)] ?? [];
  const status = (p: FakeProcess): ProcessStatus => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime ?? p.pid, alive: true });
  const reader = {
    platform: 'linux' as const,
    readsEnvironment: true,
    reads: 0,
    async readProcessTable() {
      const table = current();
      index++;
      reader.reads++;
      return { processes: table.map(toRaw), warnings: [] };
    },
    async readStatus(pid: number) {
      const p = current().find((q) => q.pid === pid);
      return p ? status(p) : undefined;
    },
    async readStatuses(pids: readonly number[]) {
      const statuses = new Map<number, ProcessStatus | null>();
      for (const p of current()) if (pids.includes(p.pid)) statuses.set(p.pid, status(p));
      return statuses;
    },
    async readChildren(pids: readonly number[]) {
      return current().filter((p) => pids.includes(p.ppid)).map(status);
    },
    async readEnvMarkers(pid: number) {
      const p = current().find((q) => q.pid === pid);
      return p ? { task: p.task, keep: p.keep ?? false } : undefined;
    },
    selfIdentity: () => ({ pid: 4242, startTime: 7 }),
    startTimeToEpochMs: (t: number) => t,
  };
  return reader;
}

/** A log sink that records lines. */
export function memoryStream(): { write(chunk: string): boolean; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    write(chunk: string) {
      lines.push(...chunk.split('\n').filter((l) => l.length > 0));
      return true;
    },
  };
}

/**
 * A reader that plays ticks of the follower: each `listPids` call moves to the next table (the last
 * one stays); reads answer from the current one. `onTick` runs at each tick; `epochOf` says when a
 * process started, in ms since the epoch, by start time (default: the start time itself). Counts
 * its reads (`statusReads`, `tableReads`).
 */
export function scriptedReader(
  ticks: TickProcess[][],
  options: { onTick?: (index: number) => void; epochOf?: Record<number, number> } = {},
): PlatformReader & { statusReads: number[]; tableReads: number } {
  let index = -1;
  const table = (): TickProcess[] => ticks[Math.max(0, Math.min(index, ticks.length - 1))]!;
  const status = (p: TickProcess): ProcessStatus => ({ ...p, alive: true });
  const statusReads: number[] = [];
  const reader = {
    platform: 'linux' as const,
    readsEnvironment: true,
    statusReads,
    tableReads: 0,
    async listPids() {
      index++;
      options.onTick?.(index);
      return table().map((p) => p.pid);
    },
    async readProcessTable() {
      if (index < 0) index = 0;
      reader.tableReads++;
      return { processes: table().map((p) => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, name: `p${p.pid}`, commandLine: `p${p.pid}`, rssBytes: 1 << 20, env: { keep: false } })), warnings: [] };
    },
    async readStatus(pid: number) {
      statusReads.push(pid);
      const p = table().find((q) => q.pid === pid);
      return p && status(p);
    },
    async readStatuses(pids: readonly number[]) {
      statusReads.push(...pids);
      return new Map(table().filter((p) => pids.includes(p.pid)).map((p) => [p.pid, status(p)] as const));
    },
    async readChildren() {
      return [];
    },
    async readEnvMarkers() {
      return { keep: false };
    },
    selfIdentity: () => ({ pid: 4242, startTime: 7 }),
    startTimeToEpochMs: (t: number) => options.epochOf?.[t] ?? t,
  } satisfies PlatformReader & { statusReads: number[]; tableReads: number };
  return reader;
}
