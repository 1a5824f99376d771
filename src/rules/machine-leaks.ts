// Machine-wide leak analysis, for a machine that has run agents for days. Pure: a snapshot with
// environment markers in, leak groups out.
//   certain    processes carrying a task tag whose owning run is no longer alive, grouped by tag;
//              and processes carrying an agent session's markers whose session is over (its
//              agent gone or replaced), grouped by session, with the whole tree below them
//   suspected  trees whose root was re-parented to init or a subreaper and looks like an agent's
//              helper (MCP/browser pattern, MCP servers, npx/npm exec, node, claude)
//   kept       processes declared to outlive their task: shown, never counted as leaks
import type { AttributedProcess, Evidence, ProcessInfo, ProcessSnapshot, TaskOwner } from '../types.js';
import { agentPidVerdict, isAgentProcess, type AgentDefinition } from './agents.js';
import { byPid, identityKey, MAX_TREE_DEPTH, parentOf } from './identity.js';
import { keptPids } from './keep.js';
import { memoryBytesOf, totalMemoryBytes, totalMemoryMB } from './memory.js';
import { isKernelThread, isReparented } from './orphans.js';
import { fullCommand, isAgentHelper } from './patterns.js';
import { processTree, subtree, type ProcessTree } from './tree.js';

/** Leaked processes that belong together: one tag's (certain) or one re-parented tree (suspected). */
export interface LeakGroup {
  /** The tag shared by the group (certain leaks only). */
  tag?: string;
  /** The run that owned the tag (certain leaks only). */
  owner?: TaskOwner;
  /** The agent session the group was left by (certain leaks found by agent markers). */
  session?: AgentSessionRef;
  /** The tree's root (the oldest process of a tag group). */
  root: ProcessInfo;
  /** Every process of the group, the root first, each with its evidence: `tag` (carries the tag), `lineage` (descends from a tagged process), `heuristic` (suspected trees). */
  processes: AttributedProcess[];
  totalMemoryMB: number;
  /** The same total in bytes. */
  totalMemoryBytes: number;
  /** Age of the root, in seconds. */
  ageSeconds: number;
  /** What the group costs, when it was measured (scanMachine does): PSS — what ending it gives back — and CPU. */
  cost?: { pssBytes: number; ussBytes: number; pssUnknown: number; spinning: number; cpuPercent: number };
}

/** An agent session, as a leak group names it. */
export interface AgentSessionRef {
  /** The agent's name (`claude-code`, `codex`, …). */
  agent: string;
  sessionId: string;
  /** The agent's pid as its processes carried it (CLAUDE_PID), when they did. */
  agentPid?: number;
  /** The working directory of the group's oldest process, where it could be read. */
  cwd?: string;
  /** How the session was found to be over: its agent pid is gone or held by another process, or no live agent holds the session's file. */
  over: 'agent-gone' | 'session-file-closed' | 'agent-leaked';
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
  /** Leftover run groups (`rtrack-<tag>`) and the pids in them: members of a run that is over are certain leaks (evidence `cgroup`). */
  runGroups?: readonly { tag: string; pids: readonly number[] }[];
  /** Agents whose session markers count (default: none). */
  agents?: readonly AgentDefinition[];
  /**
   * For an agent that holds a session file open (Codex): the pid of the live agent holding this
   * session's file, null when no agent process holds it, undefined when that cannot be told (an
   * agent process whose open files could not be read).
   */
  sessionHolder?: (agent: AgentDefinition, sessionId: string) => number | null | undefined;
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
  // A leftover run group (`rtrack-<tag>`) names its run as a tag does, for every process in it.
  const groupTag = new Map<number, string>();
  for (const g of options.runGroups ?? []) for (const pid of g.pids) groupTag.set(pid, g.tag);
  const tagOf = (p: ProcessInfo): string | undefined => p.taskTag || groupTag.get(p.pid);
  for (const p of snapshot.processes) {
    const tag = tagOf(p);
    if (!tag || p.taskTag === '' || kept.has(p.pid) || exclude.has(p.pid)) continue;
    const owner = options.parseTag(tag);
    if (!owner) continue;
    const runPid = ownerPid(owner, tag);
    if (runPid === undefined) continue; // no evidence either way: the seed's rule alone may still suspect it
    if (runPid !== null) {
      liveRun.add(p.pid);
      liveRun.add(runPid); // the tracking run itself is not a leak either
      continue;
    }
    const group = certainByTag.get(tag);
    if (group) group.processes.push(p);
    else certainByTag.set(tag, { owner, processes: [p] });
  }
  const certainPids = new Set<number>();
  for (const group of certainByTag.values()) for (const p of group.processes) certainPids.add(p.pid);
  const certain: LeakGroup[] = [];
  for (const [tag, group] of certainByTag) {
    // Untagged descendants (a child that scrubbed its environment) belong to the same leak; one
    // whose environment could not be read might carry a live run's tag, and is left out.
    const members: AttributedProcess[] = group.processes.map((p) => ({
      ...p,
      evidence: [...(p.taskTag === tag ? (['tag'] as const) : []), ...(groupTag.get(p.pid) === tag ? (['cgroup'] as const) : [])],
    }));
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

  // Agent sessions: over (certain), live (theirs, not leaks), or unknown (the seed's rule may suspect).
  const liveSession = new Set<number>();
  const sessions = agentSessions(snapshot.processes, options, { live, tree, unreadable, kept, exclude, certainPids });
  // Over sessions first: a live session whose every agent turns out to be a leak itself (a
  // sub-agent left running by a session that is over) is over too — its dev servers included.
  const ordered = [...sessions.filter((s) => s.status === 'over'), ...sessions.filter((s) => s.status !== 'over')];
  for (const session of ordered) {
    if (session.status === 'live' && session.agentPids.length > 0 && session.agentPids.every((pid) => certainPids.has(pid))) {
      session.status = 'over';
      session.ref.over = 'agent-leaked';
    }
    if (session.status === 'live') {
      for (const p of session.members) liveSession.add(p.pid);
      for (const pid of session.agentPids) liveSession.add(pid);
      continue;
    }
    if (session.status !== 'over') continue;
    // Leaked are the marked processes that were left behind — re-parented (to init, a subreaper) —
    // and the whole tree below each: children that scrubbed their environment, and a leaked
    // sub-agent's own sessions (it is alive, but a leak itself). A marked process whose parent
    // lives on (a shell the user kept, which inherited the markers) is not a leak by its markers.
    const roots = session.members.filter((p) => isReparented(p, live));
    const members: AttributedProcess[] = [];
    for (const p of roots) {
      if (certainPids.has(p.pid)) continue;
      certainPids.add(p.pid);
      members.push(withEvidence(p, 'agent'));
    }
    for (const p of roots) {
      const below = subtree(tree, p, (d) => d === p || !(certainPids.has(d.pid) || kept.has(d.pid) || exclude.has(d.pid) || liveRun.has(d.pid) || d.environmentUnreadable));
      for (const d of below.slice(1)) {
        certainPids.add(d.pid);
        members.push(withEvidence(d, d.agent?.sessionId === session.ref.sessionId ? 'agent' : 'lineage'));
      }
    }
    if (members.length === 0) continue;
    members.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
    certain.push(toGroup(members, options, { session: session.ref }));
  }
  for (const pid of liveSession) if (!certainPids.has(pid)) liveRun.add(pid);

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

interface SessionVerdict {
  ref: AgentSessionRef;
  status: 'live' | 'over' | 'unknown';
  members: ProcessInfo[];
  /** The live agent processes of the session (not leaks, whatever they look like). */
  agentPids: number[];
}

/**
 * Every agent session with marked processes, and whether it is over. A session is live when one of
 * its processes names a live agent pid (the agent's own process, started no later than it), when
 * a live agent holds its session file, or when one of its processes descends from a live agent
 * process; over when its agent pid is gone or held by another process, or no live agent holds its
 * session file; unknown otherwise (an agent pid that cannot be read, no evidence at all).
 */
function agentSessions(
  processes: readonly ProcessInfo[],
  options: ScanRuleOptions,
  ctx: { live: Map<number, ProcessInfo>; tree: ProcessTree<ProcessInfo>; unreadable: Set<number>; kept: Set<number>; exclude: ReadonlySet<number>; certainPids: Set<number> },
): SessionVerdict[] {
  const agents = new Map((options.agents ?? []).map((a) => [a.name, a]));
  if (agents.size === 0) return [];
  const definitions = [...agents.values()];
  const sessions = new Map<string, { agent: AgentDefinition; sessionId: string; members: ProcessInfo[] }>();
  for (const p of processes) {
    if (!p.agent || ctx.kept.has(p.pid) || ctx.exclude.has(p.pid) || ctx.certainPids.has(p.pid)) continue;
    const agent = agents.get(p.agent.agent);
    if (!agent) continue;
    const key = `${agent.name}\0${p.agent.sessionId}`;
    const session = sessions.get(key);
    if (session) session.members.push(p);
    else sessions.set(key, { agent, sessionId: p.agent.sessionId, members: [p] });
  }
  const holderOf = (pid: number): { commandLine: string; startTime: number } | 'unreadable' | undefined => {
    const p = ctx.live.get(pid);
    if (p) return { commandLine: fullCommand(p), startTime: p.startTime };
    return ctx.unreadable.has(pid) ? 'unreadable' : undefined;
  };
  /** A live agent process among the ancestors (any agent's: sessions nest). */
  const liveAgentAbove = (p: ProcessInfo): number | undefined => {
    let q = parentOf(p, ctx.live);
    for (let depth = 0; q && depth < MAX_TREE_DEPTH; depth++) {
      const here = q;
      if (definitions.some((a) => isAgentProcess(a, fullCommand(here)))) return here.pid;
      q = parentOf(here, ctx.live);
    }
    return undefined;
  };

  const verdicts: SessionVerdict[] = [];
  for (const { agent, sessionId, members } of sessions.values()) {
    const withPid = members.filter((m) => m.agent!.agentPid !== undefined);
    const pidVerdicts = withPid.map((m) => ({ pid: m.agent!.agentPid!, verdict: agentPidVerdict(agent, m, holderOf(m.agent!.agentPid!)) }));
    const ref: AgentSessionRef = { agent: agent.name, sessionId, over: 'agent-gone' };
    if (withPid.length > 0) ref.agentPid = withPid[0]!.agent!.agentPid!;
    let status: SessionVerdict['status'];
    const agentPids: number[] = [];
    if (pidVerdicts.some((v) => v.verdict === 'live')) {
      status = 'live';
      for (const v of pidVerdicts) if (v.verdict === 'live') agentPids.push(v.pid);
    } else if (pidVerdicts.some((v) => v.verdict === 'unknown')) status = 'unknown';
    else if (pidVerdicts.length > 0) status = 'over';
    else if (agent.sessionFile && options.sessionHolder) {
      const holder = options.sessionHolder(agent, sessionId);
      status = holder === undefined ? 'unknown' : holder === null ? 'over' : 'live';
      if (typeof holder === 'number') agentPids.push(holder);
      ref.over = 'session-file-closed';
    } else status = 'unknown';
    // A process under a live agent is that agent's, whatever its markers say; an agent process
    // itself marked by a session that is over (a sub-agent left running) is that session's leak.
    if (status !== 'live') {
      const above = members.map(liveAgentAbove).filter((pid): pid is number => pid !== undefined);
      if (above.length > 0 && (status === 'unknown' || above.length === members.length)) {
        status = 'live';
        agentPids.push(...above);
      }
    }
    verdicts.push({ ref, status, members, agentPids });
  }
  return verdicts;
}

function withEvidence(p: ProcessInfo, evidence: Evidence): AttributedProcess {
  return { ...p, evidence: [evidence] };
}

function toGroup(processes: AttributedProcess[], options: ScanRuleOptions, extra: { tag?: string; owner?: TaskOwner; session?: AgentSessionRef }): LeakGroup {
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
