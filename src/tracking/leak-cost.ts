// Reads what reported leaks cost — PSS/USS, CPU, listening ports — for those processes only, so a
// run that leaks nothing pays nothing. CPU share comes from two readings `sampleMs` apart, or, with
// no sample (0) where asked, from the CPU time a process has used since it started: free, no wait.
import { yieldToLoop } from '../event-loop.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { costTotals, cpuPercent, LIFETIME_SPINNING_MIN_AGE_MS, lifetimeCpuPercent, SPINNING_PERCENT, spinsOverSample } from '../rules/cost.js';
import { BYTES_PER_MB } from '../rules/memory.js';
import { identityKey } from '../rules/identity.js';
import type { AttributedProcess, LeakCost } from '../types.js';

/** Costs measured before, by identity key: `measureCosts` reuses one younger than `maxAgeMs`. */
export interface CostCache {
  maxAgeMs: number;
  entries: Map<string, { measuredAt: number; cost: LeakCost }>;
}

/** How many processes' costs are read between two turns of the event loop (each is several files). */
const COST_BATCH = 32;

/** Options of `measureCosts()`. */
export interface MeasureCostsOptions {
  reader?: PlatformReader;
  /** How long CPU use is sampled, in ms, for `cpuPercent` and `spinning` (default 200; 0: no sample, the costs come at once). */
  sampleMs?: number;
  /**
   * With no sample: `cpuPercent` (and `spinning`) as the CPU share since each process started — free
   * (`rtrack scan`); without it, no share is given (a task's report: its leaks have just started).
   */
  shareSinceStart?: boolean;
  /** Costs measured before (`rtrack watch`): reused while younger than `maxAgeMs`. */
  cache?: CostCache;
}

/**
 * Fills in `cost` on each process (in place); a process that cannot be read gets what could be.
 * Reads in batches with a turn of the event loop between them (a 1,000-process leak takes 100 ms).
 * `sampleMs` (default 200): how long CPU use is sampled; 0: no sample (with `shareSinceStart`, the
 * CPU share since each process started instead).
 * With a cache (`rtrack watch`), a process measured less than `maxAgeMs` ago keeps that cost, and the
 * cache forgets the processes not given.
 */
export async function measureCosts(processes: readonly AttributedProcess[], options: MeasureCostsOptions = {}): Promise<void> {
  const { cache } = options;
  const now = Date.now();
  let stale = processes;
  if (cache) {
    const given = new Set(processes.map(identityKey));
    for (const key of cache.entries.keys()) if (!given.has(key)) cache.entries.delete(key);
    stale = processes.filter((p) => {
      const hit = cache.entries.get(identityKey(p));
      if (hit && now - hit.measuredAt < cache.maxAgeMs) p.cost = hit.cost;
      return p.cost === undefined;
    });
  }
  if (stale.length === 0) return;
  const reader = options.reader ?? platformReader();
  if (!reader.readCpuSeconds && !reader.readMemoryFootprint) return; // this OS tells no more than RSS
  const sampleMs = options.sampleMs ?? 200;
  const before = new Map<number, number | undefined>();
  const runnableBefore = new Map<number, number | undefined>();
  if (sampleMs > 0) {
    for (let i = 0; i < stale.length; i += COST_BATCH) {
      if (i > 0) await yieldToLoop();
      for (const p of stale.slice(i, i + COST_BATCH)) {
        before.set(p.pid, reader.readCpuSeconds?.(p.pid));
        runnableBefore.set(p.pid, reader.readRunnableSeconds?.(p.pid));
      }
    }
  }
  const t0 = performance.now();
  if (sampleMs > 0) await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const elapsed = performance.now() - t0;
  const wallNow = Date.now();
  for (let i = 0; i < stale.length; i += COST_BATCH) {
    if (i > 0) await yieldToLoop();
    const batch = stale.slice(i, i + COST_BATCH);
    const listening = reader.readListeningSockets?.(batch.map((p) => p.pid)) ?? new Map();
    for (const p of batch) {
      const cost: LeakCost = {};
      const memory = reader.readMemoryFootprint?.(p.pid);
      if (memory) {
        cost.pssBytes = memory.pssBytes;
        cost.ussBytes = memory.ussBytes;
        if (memory.rssBytes !== undefined) cost.rssBytes = memory.rssBytes;
      } else cost.memoryUnreadable = true;
      const cpuBefore = before.get(p.pid);
      const cpuAfter = reader.readCpuSeconds?.(p.pid);
      if (cpuAfter !== undefined) cost.cpuSeconds = Math.round(cpuAfter * 100) / 100;
      if (cpuBefore !== undefined && cpuAfter !== undefined && sampleMs > 0) {
        cost.cpuPercent = Math.round(cpuPercent(cpuBefore, cpuAfter, elapsed));
        cost.cpuSampleMs = Math.round(elapsed);
        const runnable0 = runnableBefore.get(p.pid);
        const runnable1 = runnable0 === undefined ? undefined : reader.readRunnableSeconds?.(p.pid);
        cost.spinning = spinsOverSample(cost.cpuPercent, runnable0 !== undefined && runnable1 !== undefined ? cpuPercent(runnable0, runnable1, elapsed) : undefined);
      } else if (cpuAfter !== undefined && sampleMs === 0 && options.shareSinceStart) {
        const ageMs = wallNow - p.startTime;
        cost.cpuPercent = Math.round(lifetimeCpuPercent(cpuAfter, ageMs));
        cost.spinning = cost.cpuPercent >= SPINNING_PERCENT && ageMs >= LIFETIME_SPINNING_MIN_AGE_MS;
      }
      const ports = listening.get(p.pid);
      if (ports && ports.length > 0) cost.listening = ports;
      p.cost = cost;
      cache?.entries.set(identityKey(p), { measuredAt: now, cost });
    }
  }
}

/** What a set of leaked processes costs, in bytes and MB. */
export interface LeakCostTotals {
  pssBytes: number;
  pssMB: number;
  ussBytes: number;
  rssBytes: number;
  /** Processes whose PSS could not be read (their RSS is counted instead). */
  pssUnknown: number;
  /** Processes at 90 % of a core or more. */
  spinning: number;
  /** Their CPU share together, in % of one core. */
  cpuPercent: number;
}

/** The totals of a set of processes whose cost was measured. */
export function leakCostTotals(processes: readonly AttributedProcess[]): LeakCostTotals {
  const t = costTotals(processes);
  return { pssBytes: t.pssBytes, pssMB: t.pssBytes / BYTES_PER_MB, ussBytes: t.ussBytes, rssBytes: t.rssBytes, pssUnknown: t.pssUnknown, spinning: t.spinning, cpuPercent: t.cpuPercent };
}
