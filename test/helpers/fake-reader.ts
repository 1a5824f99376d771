// A PlatformReader over plain data, for tests of the tracker's wiring without the OS.
import type { PlatformReader, ProcessStatus, RawProcess } from '../../src/platform/types.js';

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
