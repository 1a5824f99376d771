// Runs of tasks at once that end together share one read of the process table (snapshot.ts
// `shared`): each still gets a read that started after it asked, and what one of them does not know
// is read in full for all.
import { describe, expect, it } from 'vitest';
import type { PlatformReader, ReadTableOptions } from '../../src/platform/types.js';
import { takeSnapshot } from '../../src/tracking/snapshot.js';
import { fakeReader } from '../helpers/fake-reader.js';

function countingReader(): PlatformReader & { calls: ReadTableOptions[] } {
  const base = fakeReader([[{ pid: 1, ppid: 0, command: 'init' }, { pid: 5, ppid: 1, command: 'old' }, { pid: 9, ppid: 1, command: 'new' }]]);
  const calls: ReadTableOptions[] = [];
  return {
    ...base,
    calls,
    async readProcessTable(options: ReadTableOptions = {}) {
      calls.push(options);
      const table = await base.readProcessTable();
      // as a real reader: a known process comes without its command line
      return { ...table, processes: table.processes.map((p) => (options.isKnown?.(p.pid, p.startTime) ? { ...p, commandLine: undefined } : p)) };
    },
  };
}

describe('shared snapshots', () => {
  it('calls made in one turn share one read; a call made after it started gets a read of its own', async () => {
    const reader = countingReader();
    const [a, b, c] = await Promise.all([takeSnapshot({ reader, shared: true }), takeSnapshot({ reader, shared: true }), takeSnapshot({ reader, shared: true })]);
    expect(reader.calls).toHaveLength(1);
    expect(a.processCount).toBe(3);
    expect(b.processes).not.toBe(a.processes);
    expect(c.processes.map((p) => p.command)).toEqual(['init', 'old', 'new']);
    await takeSnapshot({ reader, shared: true });
    expect(reader.calls).toHaveLength(2);
  });

  it('a process one call knows and another does not is read in full, and each call keeps what it knew', async () => {
    const reader = countingReader();
    const knowsOld = await takeSnapshot({ reader });
    const knowsNothing = { ...knowsOld, processes: knowsOld.processes.filter((p) => p.pid === 1) };
    reader.calls.length = 0;
    const [x, y] = await Promise.all([takeSnapshot({ reader, shared: true, previous: knowsOld }), takeSnapshot({ reader, shared: true, previous: knowsNothing })]);
    expect(reader.calls).toHaveLength(1);
    expect(reader.calls[0]!.isKnown!(5, 5)).toBe(false); // only one of them knew it
    expect(reader.calls[0]!.isKnown!(1, 1)).toBe(true); // both did
    for (const s of [x, y]) expect(s.processes.map((p) => p.command)).toEqual(['init', 'old', 'new']);
  });
});
