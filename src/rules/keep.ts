// Kept processes: declared to outlive their task (an environment marker, a keep pattern, a shared
// per-user daemon). A process is kept when it or any ancestor is — in the snapshot, or in the
// lineage recorded while the task ran, where a scrubbed child's kept parent may be gone by now.
// Never leaks, never suspects, never signalled. Pure.
import type { LineageRecord, ProcessInfo } from '../types.js';
import { MAX_TREE_DEPTH } from './identity.js';
import { subtree, type ProcessTree } from './tree.js';

/** Pids of every process with a keep reason, and of all their descendants. */
export function keptPids(tree: ProcessTree<ProcessInfo>, processes: readonly ProcessInfo[]): Set<number> {
  const kept = new Set<number>();
  for (const p of processes) {
    if (!p.keepReason || kept.has(p.pid)) continue;
    for (const q of subtree(tree, p, (d) => !kept.has(d.pid))) kept.add(q.pid);
  }
  return kept;
}

/** Whether a lineage record or one of its recorded ancestors carried the keep marker. */
export function keptInLineage(record: LineageRecord | undefined, byPid: ReadonlyMap<number, LineageRecord>): boolean {
  for (let depth = 0; record && depth < MAX_TREE_DEPTH; depth++) {
    if (record.keep) return true;
    const parent = byPid.get(record.ppid);
    if (!parent || parent.startTime > record.startTime) return false;
    record = parent;
  }
  return false;
}
