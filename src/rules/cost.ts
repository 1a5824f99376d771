// What a leak costs: the memory you get back by ending it (PSS, USS), the CPU it burns, and the
// ports it holds. Pure (the /proc texts are parsed in platform/linux.ts).

import { memoryBytesOf } from './memory.js';

/** `127.0.0.1:3000`, `[::1]:3000`, `*:3000` for the wildcard addresses. */
export function formatEndpoint(s: { address: string; port: number }): string {
  if (s.address === '0.0.0.0' || s.address === '::') return `*:${s.port}`;
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** A leak burning at least this share of one core over the last interval is flagged as spinning. */
export const SPINNING_PERCENT = 90;

/**
 * Judged by its CPU share since it started (no sample), a process younger than this is not called
 * spinning: starting up (an interpreter loading its modules) burns a core for a moment.
 */
export const LIFETIME_SPINNING_MIN_AGE_MS = 10_000;

/**
 * Whether a process spins over a sample: it burned at least SPINNING_PERCENT of a core, or it was
 * running or waiting for a core (runnable) that share of the time — on a loaded machine a busy loop
 * gets less than a core, but never stops wanting one. `runnablePercent` is undefined where the OS
 * does not tell (then the CPU share alone decides).
 */
export function spinsOverSample(cpuPercentOfCore: number, runnablePercent: number | undefined): boolean {
  return cpuPercentOfCore >= SPINNING_PERCENT || (runnablePercent !== undefined && runnablePercent >= SPINNING_PERCENT);
}

/** CPU share of one core between two readings of a process's CPU time. */
export function cpuPercent(cpuSecondsBefore: number, cpuSecondsAfter: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.max(0, (100 * (cpuSecondsAfter - cpuSecondsBefore) * 1000) / elapsedMs);
}

/**
 * CPU share of one core since a process started: its CPU time over its age (free: no sample, no
 * wait). A process that burned a core only lately shows less than it burns now.
 */
export function lifetimeCpuPercent(cpuSeconds: number, ageMs: number): number {
  if (ageMs <= 0) return 0;
  return Math.max(0, (100 * cpuSeconds * 1000) / ageMs);
}

/**
 * Totals of a set of reported processes: PSS where it was read (RSS where not), USS, RSS, and the
 * spinning ones. Each process's PSS is paired with the RSS read with it (`cost.rssBytes`) where there
 * is one, so that both totals are over the same processes at the same moment: PSS ≤ RSS.
 */
export function costTotals(processes: readonly { memoryMB: number; memoryBytes?: number; cost?: { pssBytes?: number; ussBytes?: number; rssBytes?: number; spinning?: boolean; cpuPercent?: number } }[]): {
  pssBytes: number;
  ussBytes: number;
  rssBytes: number;
  /** Processes whose PSS could not be read: their RSS stands in, so the PSS total is an upper bound. */
  pssUnknown: number;
  spinning: number;
  cpuPercent: number;
} {
  const totals = { pssBytes: 0, ussBytes: 0, rssBytes: 0, pssUnknown: 0, spinning: 0, cpuPercent: 0 };
  for (const p of processes) {
    const pss = p.cost?.pssBytes;
    const rss = pss !== undefined && p.cost?.rssBytes !== undefined ? p.cost.rssBytes : memoryBytesOf(p);
    totals.rssBytes += rss;
    if (pss !== undefined) totals.pssBytes += pss;
    else {
      totals.pssBytes += rss;
      totals.pssUnknown++;
    }
    totals.ussBytes += p.cost?.ussBytes ?? 0;
    if (p.cost?.spinning) totals.spinning++;
    totals.cpuPercent += p.cost?.cpuPercent ?? 0;
  }
  return totals;
}
