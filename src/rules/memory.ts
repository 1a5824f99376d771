// Memory arithmetic on snapshots. Pure.
import type { ProcessInfo, ProcessSnapshot } from '../types.js';

/** Memory delta in MB, after − before; 0 when either snapshot is missing. */
export function memoryGrowth(before: ProcessSnapshot | undefined, after: ProcessSnapshot | undefined): number {
  if (!before || !after) return 0;
  return after.totalMemoryMB - before.totalMemoryMB;
}

/** The seed warns only when growth is strictly greater than the threshold. */
export function exceedsThreshold(deltaMB: number, thresholdMB: number): boolean {
  return deltaMB > thresholdMB;
}

export function totalMemoryMB(processes: readonly ProcessInfo[]): number {
  let sum = 0;
  for (const p of processes) sum += p.memoryMB;
  return sum;
}
