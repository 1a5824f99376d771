// Machine-wide leak analysis, for a machine that has run agents for days. Pure: a snapshot with
// environment markers in, leak groups out.
//   certain    processes carrying a task tag whose owning run is no longer alive, grouped by tag
//   suspected  trees whose root was re-parented to init or a subreaper and looks like an agent's
//              helper (MCP/browser pattern, MCP servers, npx/npm exec, node, claude)
//   kept       processes declared to outlive their task: shown, never counted as leaks
import type { AttributedProcess, Evidence, ProcessInfo, ProcessSnapshot, TaskOwner } from '../types.js';
import { byPid, identityKey } from './identity.js';
import { keptPids } from './keep.js';
import { memoryBytesOf, totalMemoryBytes, totalMemoryMB } from './memory.js';
import { isKernelThread, isReparented } from './orphans.js';
import { fullCommand, isAgentHelper } from './patterns.js';
import { processTree, subtree } from './tree.js';

/** Leaked processes that belong together: one tag's (certain) or one re-parented tree (suspected). */
export interface LeakGroup {
  /** The tag shared by the group (certain leaks only). */
  tag?: string;
  /** The run that owned the tag (certain leaks only). */
  owner?: TaskOwner;
  /** The tree's root (the oldest process of a tag group). */
  root: ProcessInfo;
  /** Every process of the group, the root first, each with its evidence: `tag` (carries the tag), `lineage` (descends from a tagged process), `heuristic` (suspected trees). */
  processes: AttributedProcess[];
  totalMemoryMB: number;
  /** The same total in bytes. */
  totalMemoryBytes: number;
  /** Age of the root, in seconds. */
  ageSeconds: number;
}

/** The machine-wide verdicts, and the totals they are part of. */
export interface MachineScan {
  processCount: number;
  totalMemoryMB: number;
  totalMemoryBytes: number;
  /** Processes matching the seed's MCP/browser pattern, and their memory. */
  mcpProcessCount: number;
  mcpMemoryMB: number;
  mcpMemoryBytes: number;
  certain: LeakGroup[];
  suspected: LeakGroup[];
  kept: ProcessInfo[];
}

export interface ScanRuleOptions {
  /** Drop the agent-helper filter on suspected trees. */
  all?: boolean;
  /** Pids never reported: the scanning process and its ancestors. */
  exclude?: ReadonlySet<number>;
  /** Converts a start time (ms since the epoch) to an age in seconds. */
  ageSeconds: (startTime: number) => number;
  /** Parses a tag into its owner's identity; undefined for foreign values. */
  parseTag: (tag: string) => TaskOwner | undefined;
  /**
   * The pid, as this snapshot sees it, of a tag's owning run while it is alive; null when it is
   * gone; undefined when it cannot be told (a run in a PID namespace this scan cannot see into),
   * and then the tag is no evidence either way. Default: the owner's pid and start time are in the
   * snapshot.
   */
  ownerPid?: (owner: TaskOwner, tag: string) => number | null | undefined;
}

export function analyzeMachine(snapshot: ProcessSnapshot, options: ScanRuleOptions): MachineScan {
  const live = byPid(snapshot.processes);
  const exclude = options.exclude ?? new Set<number>();
  const tree = processTree(snapshot.processes);
  const unreadable = new Set(snapshot.unreadable ?? []);
  const ownerPid =
    options.ownerPid ??
    ((owner: TaskOwner): number | null => {
      const listed = live.get(owner.pid);
      return (listed && identityKey(listed) === identityKey(owner)) || unreadable.has(owner.pid) ? owner.pid : null;
    });

  const kept = keptPids(tree, snapshot.processes);

  // Processes of runs that are still alive are theirs, not leaks.
  const liveRun = new Set<number>();
  const certainByTag = new Map<string, { owner: TaskOwner; processes: ProcessInfo[] }>();
  for (const p of snapshot.processes) {
    if (!p.taskTag || kept.has(p.pid) || exclude.has(p.pid)) continue;
    const owner = options.parseTag(p.taskTag);
    if (!owner) continue;
    const runPid = ownerPid(owner, p.taskTag);
    if (runPid === undefined) continue; // no evidence either way: the seed's rule alone may still suspect it
    if (runPid !== null) {
      liveRun.add(p.pid);
      liveRun.add(runPid); // the tracking run itself is not a leak either
      continue;
    }
    const group = certainByTag.get(p.taskTag);
    if (group) group.processes.push(p);
    else certainByTag.set(p.taskTag, { owner, processes: [p] });
  }
  const certainPids = new Set<number>();
  for (const group of certainByTag.values()) for (const p of group.processes) certainPids.add(p.pid);
  const certain: LeakGroup[] = [];
  for (const [tag, group] of certainByTag) {
    // Untagged descendants (a child that scrubbed its environment) belong to the same leak; one
    // whose environment could not be read might carry a live run's tag, and is left out.
    const members: AttributedProcess[] = group.processes.map((p) => withEvidence(p, 'tag'));
    for (const p of group.processes) {
      const below = subtree(tree, p, (d) => d === p || !(certainPids.has(d.pid) || kept.has(d.pid) || exclude.has(d.pid) || d.taskTag || d.environmentUnreadable));
      for (const d of below.slice(1)) {
        certainPids.add(d.pid);
        members.push(withEvidence(d, 'lineage'));
      }
    }
    members.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
    certain.push(toGroup(members, options, { tag, owner: group.owner }));
  }

  const suspected: LeakGroup[] = [];
  for (const p of snapshot.processes) {
    if (kept.has(p.pid) || certainPids.has(p.pid) || liveRun.has(p.pid) || exclude.has(p.pid)) continue;
    if (!isReparented(p, live) || isKernelThread(p, live)) continue;
    if (!options.all && !isAgentHelper(fullCommand(p))) continue;
    const members = subtree(tree, p, (q) => !(kept.has(q.pid) || certainPids.has(q.pid) || liveRun.has(q.pid) || exclude.has(q.pid)));
    suspected.push(toGroup(members.map((q) => withEvidence(q, 'heuristic')), options, {}));
  }

  const byMemory = (a: LeakGroup, b: LeakGroup): number => b.totalMemoryMB - a.totalMemoryMB || a.root.pid - b.root.pid;
  let mcpProcessCount = 0;
  let mcpMemoryMB = 0;
  let mcpMemoryBytes = 0;
  for (const p of snapshot.processes) {
    if (!p.isMCP) continue;
    mcpProcessCount++;
    mcpMemoryMB += p.memoryMB;
    mcpMemoryBytes += memoryBytesOf(p);
  }
  return {
    processCount: snapshot.processCount,
    totalMemoryMB: snapshot.totalMemoryMB,
    totalMemoryBytes: snapshot.totalMemoryBytes ?? totalMemoryBytes(snapshot.processes),
    mcpProcessCount,
    mcpMemoryMB,
    mcpMemoryBytes,
    certain: certain.sort(byMemory),
    suspected: suspected.sort(byMemory),
    kept: snapshot.processes.filter((p) => kept.has(p.pid) && !exclude.has(p.pid)),
  };
}

function withEvidence(p: ProcessInfo, evidence: Evidence): AttributedProcess {
  return { ...p, evidence: [evidence] };
}

function toGroup(processes: AttributedProcess[], options: ScanRuleOptions, extra: { tag?: string; owner?: TaskOwner }): LeakGroup {
  const root = processes[0]!;
  return {
    ...extra,
    root,
    processes,
    totalMemoryMB: totalMemoryMB(processes),
    totalMemoryBytes: totalMemoryBytes(processes),
    ageSeconds: Math.max(0, Math.round(options.ageSeconds(root.startTime))),
  };
}
