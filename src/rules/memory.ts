// Memory arithmetic on snapshots. Pure.
import type { ProcessInfo, ProcessSnapshot } from '../types.js';

/** Memory figures are in MB of 1024 × 1024 bytes, as the seed reports them. */
export const BYTES_PER_MB = 1024 * 1024;

/** Memory delta in MB, after − before; 0 when either snapshot is missing. */
export function memoryGrowth(before: ProcessSnapshot | undefined, after: ProcessSnapshot | undefined): number {
  if (!before || !after) return 0;
  return after.totalMemoryMB - before.totalMemoryMB;
}

/** The seed warns only when growth is strictly greater than the threshold. */
export function exceedsThreshold(deltaMB: number, thresholdMB: number): boolean {
  return deltaMB > thresholdMB;
}

/** A process's RSS in bytes (from `memoryBytes`, else from `memoryMB`). */
export function memoryBytesOf(p: Pick<ProcessInfo, 'memoryMB' | 'memoryBytes'>): number {
  return p.memoryBytes ?? Math.round(p.memoryMB * BYTES_PER_MB);
}

/** Total RSS of the processes, in bytes. */
export function totalMemoryBytes(processes: readonly ProcessInfo[]): number {
  let sum = 0;
  for (const p of processes) sum += memoryBytesOf(p);
  return sum;
}

/** Total RSS of the processes, in MB. */
export function totalMemoryMB(processes: readonly ProcessInfo[]): number {
  let sum = 0;
  for (const p of processes) sum += p.memoryMB;
  return sum;
}
