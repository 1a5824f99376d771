// The seed's orphan rule, with identity: a process is new when (pid, startTime) was not there before.
import type { ProcessInfo, ProcessSnapshot } from '../types.js';
import { byPid, identitySet, identityKey, parentOf } from './identity.js';

export interface DetectOrphansOptions {
  /** Only return orphans whose command matches the MCP pattern. */
  logOrphanedMCPOnly?: boolean;
}

/**
 * New processes whose parent is init (PID 1) or no longer exists (or whose parent pid now belongs
 * to a process younger than them). Pure: no I/O.
 */
export function detectOrphans(
  before: ProcessSnapshot | undefined,
  after: ProcessSnapshot | undefined,
  options: DetectOrphansOptions = {},
): ProcessInfo[] {
  if (!before || !after) return [];
  const existed = identitySet(before);
  const live = byPid(after.processes);
  const orphans: ProcessInfo[] = [];
  for (const p of after.processes) {
    if (existed.has(identityKey(p))) continue;
    if (p.pid <= 1 || p.ppid < 0) continue; // ppid -1: the OS source has no parents (tasklist); never guess
    const orphaned = p.ppid === 1 || parentOf(p, live) === undefined;
    if (!orphaned) continue;
    if (options.logOrphanedMCPOnly && !p.isMCP) continue;
    orphans.push(p);
  }
  return orphans;
}
