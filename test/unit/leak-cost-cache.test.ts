// `rtrack watch` scans every few seconds: a leak's cost (smaps_rollup, descriptors, sockets: 100 µs a
// process) is read again only once it is older than the cache's age, and never blocks the event loop
// for a whole large leak.
import { describe, expect, it } from 'vitest';
import { measureCosts, type CostCache } from '../../src/tracking/leak-cost.js';
import type { AttributedProcess } from '../../src/types.js';
import { fakeReader } from '../helpers/fake-reader.js';

const leaked = (pid: number): AttributedProcess =>
  ({ pid, ppid: 1, name: 'sleep', command: 'sleep', commandLine: 'sleep', memoryMB: 1, memoryBytes: 1 << 20, startTime: pid * 10, evidence: ['tag'] }) as unknown as AttributedProcess;

function countingReader(): { reader: ReturnType<typeof fakeReader>; reads: number[] } {
  const reads: number[] = [];
  const reader = Object.assign(fakeReader([[]]), {
    readMemoryFootprint(pid: number) {
      reads.push(pid);
      return { pssBytes: pid * 1000, ussBytes: pid * 500 };
    },
    readCpuSeconds: () => 1,
    readListeningSockets: (pids: readonly number[]) => new Map(pids.map((pid) => [pid, []])),
  });
  return { reader, reads };
}

describe('measureCosts with a cache', () => {
  it('reuses a cost younger than the age, reads it again after, and forgets processes no longer given', async () => {
    const { reader, reads } = countingReader();
    const cache: CostCache = { maxAgeMs: 60_000, entries: new Map() };
    const first = [leaked(10), leaked(11)];
    await measureCosts(first, { reader, sampleMs: 0, cache });
    expect(reads).toEqual([10, 11]);
    const second = [leaked(10), leaked(11), leaked(12)];
    await measureCosts(second, { reader, sampleMs: 0, cache });
    expect(reads).toEqual([10, 11, 12]); // only the new one
    expect(second.map((p) => p.cost?.pssBytes)).toEqual([10_000, 11_000, 12_000]);
    // 11 is no longer reported: forgotten
    await measureCosts([leaked(10), leaked(12)], { reader, sampleMs: 0, cache });
    expect([...cache.entries.keys()].length).toBe(2);
    // older than the age: read again
    for (const entry of cache.entries.values()) entry.measuredAt -= 60_001;
    await measureCosts([leaked(10), leaked(12)], { reader, sampleMs: 0, cache });
    expect(reads).toEqual([10, 11, 12, 10, 12]);
  });

  it('a large leak is read in batches with turns of the event loop between them', async () => {
    const { reader } = countingReader();
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const many = Array.from({ length: 200 }, (_, i) => leaked(1000 + i));
    let blocked = 0;
    const slow = Object.assign(reader, {
      readMemoryFootprint(pid: number) {
        const t0 = performance.now();
        while (performance.now() - t0 < 0.2); // 0.2 ms a process: 40 ms in all
        blocked++;
        return { pssBytes: pid, ussBytes: pid };
      },
    });
    const turnsAt: number[] = [];
    const spy = Object.assign(slow, {
      readListeningSockets: (pids: readonly number[]) => {
        turnsAt.push(turns);
        return new Map(pids.map((pid) => [pid, []]));
      },
    });
    await measureCosts(many, { reader: spy, sampleMs: 0 });
    clearInterval(ticking);
    expect(blocked).toBe(200);
    expect(turnsAt.length).toBeGreaterThan(5);
    // the timer ran between batches: the loop was not held for the whole leak
    expect(turnsAt[turnsAt.length - 1]!).toBeGreaterThan(turnsAt[0]!);
  });
});
