// The tracking process and its ancestors: never reported as leaks, never signalled.
import type { PlatformReader } from '../platform/types.js';
import { MAX_TREE_DEPTH } from '../rules/identity.js';

export async function selfAndAncestors(reader: PlatformReader): Promise<Set<number>> {
  const pids = new Set<number>([process.pid]);
  let pid = process.pid;
  for (let guard = 0; guard < MAX_TREE_DEPTH; guard++) {
    const status = await reader.readStatus(pid).catch(() => undefined); // unreadable: the chain ends here
    if (!status || status.ppid <= 0 || pids.has(status.ppid)) break;
    pids.add(status.ppid);
    pid = status.ppid;
  }
  return pids;
}
