// Attribution: which new processes are the task's, and on what evidence. Pure: snapshots and the
// task's tag and lineage in, verdicts out.
//   tag        the process carries the task's RESOURCE_TRACKER_TASK value
//   lineage    it was seen in the task's tree, or descends from a process that was
//   heuristic  the seed's rule: new, and its parent is PID 1, gone, or an init/subreaper
// Orphans have tag or lineage evidence; suspects only the heuristic; kept processes are declared
// to outlive the task (environment marker or keep pattern, or a kept ancestor) and are neither.
import type { AttributedProcess, Evidence, LineageRecord, ProcessInfo, ProcessSnapshot } from '../types.js';
import { byPid, identityKey, identitySet, MAX_TREE_DEPTH, parentOf } from './identity.js';
import { keptInLineage, keptPids, lineageByPid } from './keep.js';
import { isReparented, seedOrphans } from './orphans.js';
import { processTree } from './tree.js';
import { sharedEvidence, unreadableAbove, unreadableEvidence } from './whole-evidence.js';

/** The task's own evidence, beside the two snapshots. */
export interface AttributionInput {
  /** The task's tag, when the task was started with one. */
  tag?: string;
  /** Descendants seen while following the task, by identity key. */
  lineage?: ReadonlyMap<string, LineageRecord>;
  /** Pids in the task's control group, read right after the after snapshot. */
  cgroupMembers?: ReadonlySet<number>;
}

/** Evidence that makes a process the task's (or a session's), not merely suspected. */
export const ATTRIBUTING_EVIDENCE: readonly Evidence[] = ['tag', 'lineage', 'agent', 'cgroup'];

/** Whether any of this evidence attributes the process (more than the seed's heuristic). */
export function attributes(evidence: readonly Evidence[]): boolean {
  return evidence.some((e) => ATTRIBUTING_EVIDENCE.includes(e));
}

/** What the chain of new processes up from one says of it (attribute's walk). */
interface Chain {
  /** Attributed to the task (tag, lineage, cgroup) itself or through a new ancestor. */
  task: boolean;
  /** Kept by itself or a new ancestor, now or in the lineage. */
  kept: boolean;
  /** The seed's heuristic points at it or a new ancestor. */
  suspect: boolean;
  /** The lineage saw it or a new ancestor: where it came from is known. */
  seen: boolean;
  /** The chain's top: its topmost new ancestor (itself when its parent is not new). */
  top: ProcessInfo;
}

/** What a task left, by verdict, each process with its evidence. */
export interface Attribution {
  /** Processes the task left: tag or lineage evidence. */
  orphans: AttributedProcess[];
  /** New processes only the seed's rule points at: shown, never treated as the task's. */
  suspects: AttributedProcess[];
  /** Processes declared to outlive the task: never orphans, never suspects, never reaped. */
  kept: AttributedProcess[];
}

/**
 * Attributes every new process of `after` to the task, with evidence (pure): orphans (tag or
 * lineage), suspects (only the seed's heuristic) and kept processes.
 */
export function attribute(before: ProcessSnapshot, after: ProcessSnapshot, input: AttributionInput = {}): Attribution {
  const existed = identitySet(before);
  const live = byPid(after.processes);
  const lineage = input.lineage ?? new Map<string, LineageRecord>();
  const isNew = (p: ProcessInfo): boolean => p.pid > 1 && !existed.has(identityKey(p));
  const adopters = adoptersOf(after.processes, lineage);
  const kept = keptPids(processTree(after.processes), after.processes);
  const direct = directEvidence(after.processes, { input, lineage, live, adopters, isNew });
  const resolve = chainResolver({ direct, kept, lineage, live, isNew });
  const { keeper, mayBeKepts } = keptMayHaveStarted(after.processes, { input, lineage, live, adopters, kept, isNew });

  const result: Attribution = { orphans: [], suspects: [], kept: [] };
  for (const p of after.processes) {
    if (!isNew(p)) continue;
    const verdict = resolve(p, 0);
    const evidence = [...(direct.get(p.pid) ?? [])];
    if (verdict.task && !attributes(evidence)) evidence.splice(0, 0, 'lineage');
    if (!verdict.task && verdict.suspect && !evidence.includes('heuristic')) evidence.push('heuristic');
    if (evidence.length === 0) continue; // a new process with a live, unrelated parent: not ours
    const attributed: AttributedProcess = { ...p, evidence };
    // Whole evidence or none: what was not read whole, or is a shared host's, is at most a suspect.
    const unknownOrigin = verdict.task && !verdict.kept && mayBeKepts(verdict) ? `its parent exited before the run saw where it came from, and the run kept pid ${keeper}: it may be what that process started` : undefined;
    const doubt = verdict.task && !verdict.kept ? (unreadableEvidence(p) ?? unreadableAbove(p, live) ?? sharedEvidence(p, live) ?? unknownOrigin) : undefined;
    if (verdict.kept) result.kept.push(attributed);
    else if (doubt !== undefined) result.suspects.push({ ...attributed, suspectBecause: doubt });
    else if (verdict.task) result.orphans.push(attributed);
    else result.suspects.push(attributed);
  }
  return result;
}

/**
 * A process that adopted one of the task's descendants (its parent now differs from the one we
 * saw) is a subreaper, whatever its name.
 */
function adoptersOf(processes: readonly ProcessInfo[], lineage: ReadonlyMap<string, LineageRecord>): Set<number> {
  const adopters = new Set<number>();
  for (const p of processes) {
    const seen = lineage.get(identityKey(p));
    if (seen && seen.ppid !== p.ppid && p.ppid > 1) adopters.add(p.ppid);
  }
  return adopters;
}

/** Each new process's own evidence: the task's tag, the lineage, the task's cgroup, the seed's heuristic. */
function directEvidence(
  processes: readonly ProcessInfo[],
  ctx: { input: AttributionInput; lineage: ReadonlyMap<string, LineageRecord>; live: ReadonlyMap<number, ProcessInfo>; adopters: ReadonlySet<number>; isNew: (p: ProcessInfo) => boolean },
): Map<number, Evidence[]> {
  const { input, lineage, live, adopters, isNew } = ctx;
  const direct = new Map<number, Evidence[]>();
  for (const p of processes) {
    if (!isNew(p)) continue;
    const evidence: Evidence[] = [];
    if (input.tag && p.taskTag === input.tag) evidence.push('tag');
    if (lineage.has(identityKey(p))) evidence.push('lineage');
    if (input.cgroupMembers?.has(p.pid)) evidence.push('cgroup');
    if (isReparented(p, live, adopters)) evidence.push('heuristic');
    direct.set(p.pid, evidence);
  }
  return direct;
}

/**
 * Walks each new process's chain of new ancestors: leaked children of a leaked process are part of
 * the leak (lineage). A kept ancestor keeps its whole subtree: in the snapshot (keptPids), or in
 * the lineage when the chain's top was re-parented.
 */
function chainResolver(ctx: {
  direct: ReadonlyMap<number, Evidence[]>;
  kept: ReadonlySet<number>;
  lineage: ReadonlyMap<string, LineageRecord>;
  live: ReadonlyMap<number, ProcessInfo>;
  isNew: (p: ProcessInfo) => boolean;
}): (p: ProcessInfo, depth: number) => Chain {
  const { direct, kept, lineage, live, isNew } = ctx;
  const lineagePids = lineageByPid(lineage.values());
  const inherited = new Map<number, Chain>();
  const resolve = (p: ProcessInfo, depth: number): Chain => {
    const cached = inherited.get(p.pid);
    if (cached) return cached;
    const own = direct.get(p.pid) ?? [];
    const result: Chain = {
      task: attributes(own),
      kept: kept.has(p.pid),
      suspect: own.includes('heuristic'),
      seen: lineage.has(identityKey(p)),
      top: p,
    };
    // A keep marker the lineage saw stays with the process for its life: in its own record (a title
    // rewrite may have overwritten it since), or its recorded ancestors' (a parent gone since).
    result.kept ||= keptInLineage(lineage.get(identityKey(p)), lineagePids);
    const parent = parentOf(p, live);
    if (parent && isNew(parent) && depth < MAX_TREE_DEPTH) {
      const up = resolve(parent, depth + 1);
      result.task ||= up.task;
      result.kept ||= up.kept;
      result.suspect ||= up.suspect;
      result.seen ||= up.seen;
      result.top = up.top;
    }
    inherited.set(p.pid, result);
    return result;
  };
  return resolve;
}

/**
 * When the task kept something, a process of its that scrubbed its environment (no tag: the
 * cgroup alone says it is the task's) and whose parent exited before any look saw where it came
 * from (no lineage anywhere up its chain) may be one of the kept ones' — a kept launcher's daemon
 * that scrubbed its environment and double-forked at once. What carries the tag was started by a
 * process without the keep marker (a marked one passes it on), so it is the task's own.
 * `keeper`: the kept process named in the doubt.
 */
function keptMayHaveStarted(
  processes: readonly ProcessInfo[],
  ctx: { input: AttributionInput; lineage: ReadonlyMap<string, LineageRecord>; live: ReadonlyMap<number, ProcessInfo>; adopters: ReadonlySet<number>; kept: ReadonlySet<number>; isNew: (p: ProcessInfo) => boolean },
): { keeper: number | undefined; mayBeKepts: (chain: Chain) => boolean } {
  const { input, lineage, live, adopters, kept, isNew } = ctx;
  const keptNew = processes.filter((p) => isNew(p) && kept.has(p.pid) && p.keepReason !== undefined);
  const keptSeen = [...lineage.values()].filter((r) => r.keep);
  const keeper = keptNew[0]?.pid ?? keptSeen[0]?.pid;
  const mayBeKepts = (chain: Chain): boolean =>
    keeper !== undefined && !chain.seen && isReparented(chain.top, live, adopters) && (!input.tag || chain.top.taskTag !== input.tag);
  return { keeper, mayBeKepts };
}

/** Options of `detectOrphans()`: the task's evidence, as `attribute()` takes it, and the seed's MCP filter. */
export interface DetectOrphansOptions extends AttributionInput {
  /** Only return orphans whose command matches the MCP pattern. */
  logOrphanedMCPOnly?: boolean;
}

/**
 * The orphans a task left (pure), one meaning whoever asks: with the task's evidence (`tag`,
 * `lineage`, `cgroupMembers`), the new processes that evidence attributes to it (`attribute()`'s
 * orphans); without any, exactly the seed's rule — new processes whose parent is init or gone — each
 * with evidence `heuristic`, which `reapOrphans()` refuses unless told otherwise. Kept processes are
 * never orphans. `ResourceTracker.detectOrphans()` is this function on the tracker's own snapshots
 * and evidence.
 */
export function detectOrphans(before: ProcessSnapshot, after: ProcessSnapshot, options: DetectOrphansOptions = {}): AttributedProcess[] {
  if (!isSnapshot(before) || !isSnapshot(after)) throw new TypeError('detectOrphans(before, after): both must be process snapshots (takeSnapshot() before and after the task)');
  const evidence = options.tag !== undefined || options.lineage !== undefined || options.cgroupMembers !== undefined;
  let orphans: AttributedProcess[];
  if (evidence) orphans = attribute(before, after, options).orphans;
  else {
    const kept = keptPids(processTree(after.processes), after.processes);
    orphans = seedOrphans(before, after)
      .filter((p) => !kept.has(p.pid))
      .map((p) => ({ ...p, evidence: ['heuristic'] }));
  }
  if (options.logOrphanedMCPOnly) orphans = orphans.filter((p) => p.isMCP);
  return orphans;
}

function isSnapshot(s: unknown): s is ProcessSnapshot {
  return typeof s === 'object' && s !== null && Array.isArray((s as ProcessSnapshot).processes);
}
