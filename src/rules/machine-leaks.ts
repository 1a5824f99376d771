// Machine-wide leak analysis, for a machine that has run agents for days. Pure: a snapshot with
// environment markers in, leak groups out.
//   certain    processes carrying a task tag whose owning run is no longer alive; processes
//              carrying an agent session's markers whose session is over (its agent gone or
//              replaced), or that the follower saw in the tree of an agent registered for that
//              session; with the whole tree below them. One name per leak: they are grouped by
//              session where a session left them (whatever tag they also carry: the hook's tag is
//              the session's), by tag where none did, and a tree is never cut across groups
//   suspected  trees whose root was re-parented to init or a subreaper and looks like an agent's
//              helper (MCP/browser pattern, MCP servers, npx/npm exec, node, claude), listens on
//              a port and was started from someone's session (an orphaned dev server), or carries
//              an agent's presence variable (GEMINI_CLI=1) while no live agent could own it (liveness.ts)
//              (never what carries the tag of a run that kept something and was born after that run
//              judged: it may be what a kept process started — kept-runs.ts — a suspect at most)
//   kept       processes declared to outlive their task: shown, never counted as leaks
import type { AgentMarker, AttributedProcess, Evidence, ProcessInfo, ProcessSnapshot, TaskOwner } from '../types.js';
import type { AgentDefinition } from './agents.js';
import { ATTRIBUTING_EVIDENCE } from './attribution.js';
import { ownProcesses } from './gate.js';
import { byPid, identityKey, parentOf } from './identity.js';
import { judgeLiveness, markersOf, type Liveness, type SessionVerdict } from './liveness.js';
import { keptPids } from './keep.js';
import { memoryBytesOf, totalMemoryBytes, totalMemoryMB } from './memory.js';
import { isKernelThread, isReparented } from './orphans.js';
import { fullCommand, isAgentHelper } from './patterns.js';
import { processTree, subtree, type ProcessTree } from './tree.js';
import { evidenceNotWhole, lineageNotWhole, sharedEvidence, sharedHostKind, unreadableEvidence } from './whole-evidence.js';

/** Leaked processes that belong together: one tag's (certain) or one re-parented tree (suspected). */
export interface LeakGroup {
  /** The run's tag that names the group (certain leaks no agent session left). */
  tag?: string;
  /** The run that owned the tag (with `tag`). */
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
  /**
   * What the group costs, when it was measured (scanMachine does): PSS — what ending it gives back —
   * beside the RSS read with it (the group's totals are then that RSS: PSS ≤ RSS), and CPU.
   */
  cost?: { pssBytes: number; ussBytes: number; rssBytes: number; pssUnknown: number; spinning: number; cpuPercent: number };
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
  /**
   * How the session was found to be over: its agent pid is gone or held by another process, no live
   * agent holds the session's file, its agent is itself a leak, or the follower journalled what it
   * left (and it still runs).
   */
  over: 'agent-gone' | 'session-file-closed' | 'agent-leaked' | 'journalled';
}

/** What the session follower journalled as a session's leftovers (the journal's entries, by identity). */
export interface JournalledLeftovers {
  agent: string;
  sessionId: string;
  agentPid?: number;
  /** The leftovers' identities (`identityKey`), each with the evidence it was journalled with. */
  leaked: readonly { identity: string; evidence: readonly string[] }[];
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
  /**
   * Kept processes (the gate's look: by the snapshot, and below a kept process the follower's lineage
   * saw, which has exited since). Default: what the snapshot keeps.
   */
  kept?: ReadonlySet<number>;
  /**
   * What carries the tag of a run that kept something and was born after that run judged, with why
   * (rules/kept-runs.ts bornAfterKeeping): never certain, whatever else it carries — a suspect, the
   * root of its own tree where its parent is not one too.
   */
  bornAfterKept?: ReadonlyMap<number, string>;
  /** The sessions judged with what the hooks registered and the session files (default: judged from the snapshot and `agents`, `sessionHolder`). */
  liveness?: Liveness;
  /**
   * What the follower journalled as ended sessions' leftovers: those still running (the same
   * identity) are certain leaks of their session too, with what runs below them — unless in use now
   * (the session was resumed), kept or rtrack's own.
   */
  journalled?: readonly JournalledLeftovers[];
  /**
   * The session (Linux `sid`) of each process among `portCandidates()` that listens on a port: one
   * left by someone's session (`leftBySession`) is a suspect whatever its command.
   */
  listeningSessions?: ReadonlyMap<number, number>;
}

/**
 * The re-parented processes whose command does not look like an agent's helper: a listening port
 * makes them suspects, so their sockets — theirs only — are read for the scan.
 */
export function portCandidates(processes: readonly ProcessInfo[]): ProcessInfo[] {
  const live = byPid(processes);
  return processes.filter((p) => isReparented(p, live) && !isKernelThread(p, live) && !isAgentHelper(fullCommand(p)));
}

/**
 * Started from someone's session — a terminal's, an agent's shell's — rather than as a service: a
 * service manager makes each service the leader of a session of its own (systemd, daemon(3)). A
 * session outside the PID namespace (0) or not known says nothing.
 */
export function startedInASession(pid: number, session: number | undefined): boolean {
  return session !== undefined && session > 0 && session !== pid;
}

/**
 * Whether a re-parented process that listens on a port may have been left by someone's session
 * rather than run as a service: started from a session (startedInASession), or carrying what an
 * agent's session or a run gives what it starts — an agent's session markers, its presence
 * variable, rtrack's task tag — even as the leader of a session of its own (`setsid nohup python3
 * -m http.server &` in a tool command). A service's daemon(3)-style server carries none of them.
 */
export function leftBySession(p: ProcessInfo, session: number | undefined): boolean {
  return startedInASession(p.pid, session) || p.agent !== undefined || (p.startedBy?.length ?? 0) > 0 || Boolean(p.taskTag);
}

export function analyzeMachine(snapshot: ProcessSnapshot, options: ScanRuleOptions): MachineScan {
  const look = lookAtSnapshot(snapshot, options);
  // Each certain process with what found it (a tag, a session); the groups are assembled from these at the end.
  const claims: Claim[] = [];
  addRunClaims(look, claims);
  addSessionClaims(look, claims);
  addJournalledClaims(look, claims);
  const certain = assembleGroups(claims, { live: look.live, liveness: look.liveness, options });
  // In use by a live session (the agent, its tree, what hosts it, its processes): not reported. A
  // session that cannot be told over leaves its processes to the seed's rule: at most suspects.
  for (const pid of look.liveness.inUse.keys()) if (!look.certainPids.has(pid)) look.liveRun.add(pid);
  const suspected = suspectedTrees(look);

  const byMemory = (a: LeakGroup, b: LeakGroup): number => b.totalMemoryMB - a.totalMemoryMB || a.root.pid - b.root.pid;
  const { exclude, kept } = look;
  return {
    processCount: snapshot.processCount,
    totalMemoryMB: snapshot.totalMemoryMB,
    totalMemoryBytes: snapshot.totalMemoryBytes ?? totalMemoryBytes(snapshot.processes),
    ...mcpTotals(snapshot.processes),
    certain: certain.sort(byMemory),
    suspected: suspected.sort(byMemory),
    kept: snapshot.processes.filter((p) => kept.has(p.pid) && !exclude.has(p.pid)),
  };
}

/** The snapshot as analyzeMachine judges it, and the verdicts it gathers step by step. */
interface MachineLook {
  snapshot: ProcessSnapshot;
  options: ScanRuleOptions;
  live: Map<number, ProcessInfo>;
  tree: ProcessTree<ProcessInfo>;
  /** Never reported: the caller's, and rtrack's own. */
  exclude: ReadonlySet<number>;
  liveness: Liveness;
  ownerPid: (owner: TaskOwner, tag: string) => number | null | undefined;
  kept: ReadonlySet<number>;
  /** What may be a kept process's (ScanRuleOptions.bornAfterKept): never certain. */
  bornAfterKept: ReadonlyMap<number, string>;
  /** Whether a process's evidence was not read whole, or is a shared host's. */
  notWhole: (p: ProcessInfo) => boolean;
  /** Processes of runs that are still alive (and, once the certain leaks are found, what is in use): theirs, not leaks. */
  liveRun: Set<number>;
  /** The certain leaks found so far. */
  certainPids: Set<number>;
}

/** The facts every step reads: the table, rtrack's own, the sessions' verdicts, who owns a tag, what is kept. */
function lookAtSnapshot(snapshot: ProcessSnapshot, options: ScanRuleOptions): MachineLook {
  const live = byPid(snapshot.processes);
  const tree = processTree(snapshot.processes);
  // rtrack's own processes (itself, its ancestors, a follower, a watch) are never reported.
  const exclude = new Set([...(options.exclude ?? []), ...ownProcesses(tree, live).keys()]);
  const unreadable = new Set(snapshot.unreadable ?? []);
  const liveness = options.liveness ?? judgeLiveness({ processes: snapshot.processes, unreadable: snapshot.unreadable, agents: options.agents ?? [], sessionHolder: options.sessionHolder });
  const ownerPid =
    options.ownerPid ??
    ((owner: TaskOwner): number | null => {
      const listed = live.get(owner.pid);
      return (listed && identityKey(listed) === identityKey(owner)) || unreadable.has(owner.pid) ? owner.pid : null;
    });

  const kept = options.kept ?? keptPids(tree, snapshot.processes);
  // What was not read whole, or is a shared host's (a multiplexer's server, a pane on its evidence
  // alone), is never certain: at most a suspect (whole-evidence.ts).
  const notWhole = (p: ProcessInfo): boolean => evidenceNotWhole(p, live);
  return { snapshot, options, live, tree, exclude, liveness, ownerPid, kept, bornAfterKept: options.bornAfterKept ?? new Map(), notWhole, liveRun: new Set(), certainPids: new Set() };
}

/** The tagged processes of runs that are over, by tag (the processes of runs still alive go to `liveRun`). */
function tagsOfOverRuns(look: MachineLook, groupTag: ReadonlyMap<number, string>): Map<string, { owner: TaskOwner; processes: ProcessInfo[] }> {
  const { snapshot, options, kept, bornAfterKept, exclude, liveness, notWhole, ownerPid, liveRun } = look;
  // Processes of runs that are still alive are theirs, not leaks.
  const certainByTag = new Map<string, { owner: TaskOwner; processes: ProcessInfo[] }>();
  const tagOf = (p: ProcessInfo): string | undefined => p.taskTag || groupTag.get(p.pid);
  for (const p of snapshot.processes) {
    const tag = tagOf(p);
    if (!tag || p.taskTag === '' || kept.has(p.pid) || bornAfterKept.has(p.pid) || exclude.has(p.pid) || liveness.inUse.has(p.pid) || notWhole(p)) continue;
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
  return certainByTag;
}

/** Runs that are over: what carries their tag (or sits in their leftover run group), with the untagged tree below. */
function addRunClaims(look: MachineLook, claims: Claim[]): void {
  const { options, live, tree, kept, bornAfterKept, exclude, liveness, certainPids } = look;
  // A leftover run group (`rtrack-<tag>`) names its run as a tag does, for every process in it.
  const groupTag = new Map<number, string>();
  for (const g of options.runGroups ?? []) for (const pid of g.pids) groupTag.set(pid, g.tag);
  const certainByTag = tagsOfOverRuns(look, groupTag);
  for (const group of certainByTag.values()) for (const p of group.processes) certainPids.add(p.pid);
  for (const [tag, group] of certainByTag) {
    // Untagged descendants (a child that scrubbed its environment) belong to the same leak; one
    // whose environment could not be read might carry a live run's tag, and is left out.
    const members: AttributedProcess[] = group.processes.map((p) => ({
      ...p,
      evidence: [...(p.taskTag === tag ? (['tag'] as const) : []), ...(groupTag.get(p.pid) === tag ? (['cgroup'] as const) : [])],
    }));
    for (const p of group.processes) {
      const below = subtree(tree, p, (d) => d === p || !(certainPids.has(d.pid) || kept.has(d.pid) || bornAfterKept.has(d.pid) || exclude.has(d.pid) || liveness.inUse.has(d.pid) || d.taskTag || lineageNotWhole(d, live)));
      for (const d of below.slice(1)) {
        certainPids.add(d.pid);
        members.push(withEvidence(d, 'lineage'));
      }
    }
    for (const member of members) claims.push({ member, tag, owner: group.owner });
  }
}

/** Agent sessions: over (certain), live (theirs, not leaks), or unknown (the seed's rule may suspect). */
function addSessionClaims(look: MachineLook, claims: Claim[]): void {
  const { live, tree, liveness, kept, bornAfterKept, exclude, certainPids, liveRun } = look;
  for (const session of liveness.sessions) {
    if (session.status !== 'over' || (session.members.length === 0 && session.lineage.length === 0)) continue;
    const members = sessionLeftovers(session, { live, tree, inUse: liveness.inUse, kept, bornAfterKept, exclude, taken: certainPids, liveRun, session: liveness.session });
    if (members.length === 0) continue;
    const ref: AgentSessionRef = { agent: session.agent.name, sessionId: session.sessionId, over: session.over ?? 'agent-gone' };
    if (session.agentPid !== undefined) ref.agentPid = session.agentPid;
    for (const member of members) claims.push({ member, session: ref });
  }
}

/** What the follower journalled and still runs: certain, with what runs below it (by lineage). */
function addJournalledClaims(look: MachineLook, claims: Claim[]): void {
  const { snapshot, options, live, tree, liveness, kept, bornAfterKept, exclude, certainPids, liveRun, notWhole } = look;
  if (options.journalled && options.journalled.length > 0) {
    const byIdentity = new Map(snapshot.processes.map((p) => [identityKey(p), p] as const));
    const goesOn = (d: ProcessInfo): boolean => markersOf(d).some((m) => (liveness.session(m.agent, m.sessionId)?.status ?? 'over') !== 'over');
    // Journalled leftovers were judged whole when the follower closed their session (its lineage never runs through a server).
    const skip = (d: ProcessInfo): boolean => certainPids.has(d.pid) || kept.has(d.pid) || bornAfterKept.has(d.pid) || exclude.has(d.pid) || liveness.inUse.has(d.pid) || liveRun.has(d.pid) || goesOn(d) || lineageNotWhole(d, live);
    for (const entry of options.journalled) {
      // A session resumed since (live), or one that cannot be told over: what it left is its again.
      const verdict = liveness.session(entry.agent, entry.sessionId);
      if (verdict && verdict.status !== 'over') continue;
      const members: AttributedProcess[] = [];
      for (const left of entry.leaked) {
        const p = byIdentity.get(left.identity);
        if (!p || skip(p)) continue;
        certainPids.add(p.pid);
        const evidence = left.evidence.filter((e): e is Evidence => ATTRIBUTING_EVIDENCE.includes(e as Evidence));
        members.push({ ...p, evidence: evidence.length > 0 ? evidence : ['lineage'] });
      }
      for (const root of [...members]) {
        for (const d of subtree(tree, live.get(root.pid)!, (q) => q.pid === root.pid || !skip(q)).slice(1)) {
          certainPids.add(d.pid);
          members.push(withEvidence(d, 'lineage'));
        }
      }
      if (members.length === 0) continue;
      // The session's name as the table judged it, when it did; else as the follower journalled it.
      const same = claims.find((c) => c.session?.agent === entry.agent && c.session.sessionId === entry.sessionId)?.session;
      const ref = same ?? { agent: entry.agent, sessionId: entry.sessionId, ...(entry.agentPid !== undefined ? { agentPid: entry.agentPid } : {}), over: 'journalled' as const };
      for (const member of members) claims.push({ member, session: ref });
    }
  }
}

/** The re-parented trees that are suspects (neither certain, kept, a live run's, in use nor rtrack's own). */
function suspectedTrees(look: MachineLook): LeakGroup[] {
  const { snapshot, options, live, tree, kept, bornAfterKept, exclude, certainPids, liveRun } = look;
  const suspected: LeakGroup[] = [];
  for (const p of snapshot.processes) {
    if (kept.has(p.pid) || certainPids.has(p.pid) || liveRun.has(p.pid) || exclude.has(p.pid)) continue;
    // What may be a kept process's is a suspect, the root of its tree where its parent is not one too.
    const mayBeKepts = bornAfterKept.has(p.pid) && !bornAfterKept.has(parentOf(p, live)?.pid ?? 0);
    if (!mayBeKepts && (!isReparented(p, live) || isKernelThread(p, live))) continue;
    const listens = options.listeningSessions?.has(p.pid) === true && leftBySession(p, options.listeningSessions.get(p.pid));
    // GEMINI_CLI=1 names no session: never certain on that alone, a suspect once no live Gemini CLI
    // could own it (one that could is in use: liveness.ts).
    const startedByAgent = p.startedBy !== undefined && p.startedBy.length > 0;
    // A multiplexer's server an over session or run started: never certain (whole-evidence.ts), shown.
    const leftHost = sharedHostKind(p) !== undefined && leftByOver(look, p);
    if (!options.all && !isAgentHelper(fullCommand(p)) && !listens && !startedByAgent && !leftHost && !mayBeKepts) continue;
    const members = subtree(tree, p, (q) => !(kept.has(q.pid) || certainPids.has(q.pid) || liveRun.has(q.pid) || exclude.has(q.pid)));
    suspected.push(toGroup(members.map((q) => suspectOf(look, q)), options, {}));
  }
  return suspected;
}

/** Whether a process carries the markers of a session that is over, or the tag of a run that is over. */
function leftByOver(look: MachineLook, p: ProcessInfo): boolean {
  if (markersOf(p).some((m) => look.liveness.session(m.agent, m.sessionId)?.status === 'over')) return true;
  const owner = p.taskTag ? look.options.parseTag(p.taskTag) : undefined;
  return owner !== undefined && look.ownerPid(owner, p.taskTag!) === null;
}

/** A suspect, with why it is not certain where it carries what would have made it so. */
function suspectOf(look: MachineLook, q: ProcessInfo): AttributedProcess {
  const mayBeKepts = look.bornAfterKept.get(q.pid);
  if (mayBeKepts !== undefined) return { ...withEvidence(q, 'heuristic'), suspectBecause: mayBeKepts };
  const why = unreadableEvidence(q) ?? sharedEvidence(q, look.live);
  return why !== undefined && (leftByOver(look, q) || q.environmentUnreadable) ? { ...withEvidence(q, 'heuristic'), suspectBecause: why } : withEvidence(q, 'heuristic');
}

/** The processes matching the seed's MCP/browser pattern, and their memory. */
function mcpTotals(processes: readonly ProcessInfo[]): Pick<MachineScan, 'mcpProcessCount' | 'mcpMemoryMB' | 'mcpMemoryBytes'> {
  let mcpProcessCount = 0;
  let mcpMemoryMB = 0;
  let mcpMemoryBytes = 0;
  for (const p of processes) {
    if (!p.isMCP) continue;
    mcpProcessCount++;
    mcpMemoryMB += p.memoryMB;
    mcpMemoryBytes += memoryBytesOf(p);
  }
  return { mcpProcessCount, mcpMemoryMB, mcpMemoryBytes };
}

/** A certain process, with what found it: its run's tag (and the run), or the session it was left by. */
interface Claim {
  member: AttributedProcess;
  tag?: string;
  owner?: TaskOwner;
  session?: AgentSessionRef;
}

const sessionKey = (m: { agent: string; sessionId: string }): string => `${m.agent}\0${m.sessionId}`;

/**
 * One name per leak: the certain processes, however each was found, assembled into groups. A
 * process and its parent are in one group (a tree is never cut in two), and so are the processes of
 * one session and those of one tag. A group is named by the session it was left by — whatever other
 * evidence its processes carry — and by a run's tag only when no session left it: a process that
 * carries the markers of a session that is over is that session's, and a tag owned by the agent
 * whose markers its processes carry (the tag Claude Code's SessionStart hook gives Bash-tool
 * commands) is the session's, never a run's name.
 */
function assembleGroups(claims: readonly Claim[], ctx: { live: ReadonlyMap<number, ProcessInfo>; liveness: Liveness; options: ScanRuleOptions }): LeakGroup[] {
  const { live, liveness, options } = ctx;
  const { refs, over, sessionOf } = sessionNames(claims, liveness);
  const groups: LeakGroup[] = [];
  for (const members of connectedClaims(claims, live, sessionOf)) {
    members.sort((a, b) => a.member.startTime - b.member.startTime || a.member.pid - b.member.pid);
    const named = members.map(sessionOf).find((k) => k !== undefined);
    const session = named !== undefined ? refs.get(named) : undefined;
    const processes = members.map((c) => {
      // One that carries the markers of the session that is over names it as evidence too.
      if (!session || c.member.evidence.includes('agent') || !markersOf(c.member).some((m) => sessionKey(m) === named && over(m))) return c.member;
      return { ...c.member, evidence: [...c.member.evidence, 'agent' as const] };
    });
    if (session) groups.push(toGroup(processes, options, { session }));
    else {
      const tagged = members.find((c) => c.tag !== undefined)!;
      groups.push(toGroup(processes, options, { tag: tagged.tag!, owner: tagged.owner! }));
    }
  }
  return groups;
}

/**
 * The sessions that name groups (`refs`, by sessionKey): those the claims were found by, and the
 * over sessions whose markers claimed processes carry; `sessionOf`: the session a claim names its
 * group by, if any.
 */
function sessionNames(claims: readonly Claim[], liveness: Liveness): { refs: Map<string, AgentSessionRef>; over: (m: AgentMarker) => boolean; sessionOf: (c: Claim) => string | undefined } {
  const refs = new Map<string, AgentSessionRef>();
  for (const c of claims) if (c.session && !refs.has(sessionKey(c.session))) refs.set(sessionKey(c.session), c.session);
  const over = (m: AgentMarker): boolean => liveness.session(m.agent, m.sessionId)?.status === 'over';
  /** A session that is over, by its markers, named as its verdict says (`agentPid`: the pid a tag names, where the verdict has none). */
  const refOf = (m: AgentMarker, agentPid?: number): string => {
    const key = sessionKey(m);
    if (!refs.has(key)) {
      const verdict = liveness.session(m.agent, m.sessionId);
      const pid = verdict?.agentPid ?? agentPid;
      refs.set(key, { agent: m.agent, sessionId: m.sessionId, ...(pid !== undefined ? { agentPid: pid } : {}), over: verdict?.over ?? 'agent-gone' });
    }
    return key;
  };
  // A hook's tag: owned by the agent process named by the session markers its processes carry.
  const hookSession = new Map<string, string>();
  for (const c of claims) {
    if (!c.tag || !c.owner || hookSession.has(c.tag)) continue;
    const m = markersOf(c.member).find((x) => x.agentPid === c.owner!.pid);
    if (m) hookSession.set(c.tag, refOf(m, c.owner.pid));
  }
  /** The session a claim names its group by, if any: its own, its tag's, or the over session whose markers it carries. */
  const sessionOf = (c: Claim): string | undefined => {
    if (c.session) return sessionKey(c.session);
    const hook = c.tag !== undefined ? hookSession.get(c.tag) : undefined;
    if (hook !== undefined) return hook;
    const m = markersOf(c.member).find(over);
    return m ? refOf(m) : undefined;
  };
  return { refs, over, sessionOf };
}

/** Union-find over the claims: parent and child, one session, one tag; the claims of each group, in the order first found. */
function connectedClaims(claims: readonly Claim[], live: ReadonlyMap<number, ProcessInfo>, sessionOf: (c: Claim) => string | undefined): Claim[][] {
  const index = new Map<number, number>();
  claims.forEach((c, i) => index.set(c.member.pid, i));
  const up = claims.map((_, i) => i);
  const find = (i: number): number => {
    while (up[i] !== i) i = up[i] = up[up[i]!]!;
    return i;
  };
  const union = (a: number, b: number): void => {
    up[find(a)] = find(b);
  };
  const firstWith = new Map<string, number>();
  const join = (key: string, i: number): void => {
    const j = firstWith.get(key);
    if (j === undefined) firstWith.set(key, i);
    else union(i, j);
  };
  claims.forEach((c, i) => {
    const parent = parentOf(c.member, live);
    const j = parent && index.get(parent.pid);
    if (j !== undefined) union(i, j);
    if (c.tag !== undefined) join(`tag\0${c.tag}`, i);
    const session = sessionOf(c);
    if (session !== undefined) join(`session\0${session}`, i);
  });
  const components = new Map<number, Claim[]>();
  claims.forEach((c, i) => {
    const root = find(i);
    const list = components.get(root);
    if (list) list.push(c);
    else components.set(root, [c]);
  });
  return [...components.values()];
}

/**
 * What a session that is over left: its marked processes that were left behind — re-parented (to
 * init, a subreaper) — and what the follower saw in its registered agent's tree that still lives,
 * and the whole tree below each (children that scrubbed their environment, a leaked sub-agent's own
 * sessions), evidence `agent` (carries the session's markers) or `lineage`. A marked process whose
 * parent lives on (a shell the user kept, which inherited the markers) is not a leak by its markers,
 * and nothing in use, kept, excluded or already `taken` is included.
 */
export function sessionLeftovers(
  session: SessionVerdict,
  ctx: {
    live: ReadonlyMap<number, ProcessInfo>;
    tree: ProcessTree<ProcessInfo>;
    inUse: ReadonlyMap<number, string>;
    kept: ReadonlySet<number>;
    /** What may be a kept process's (kept-runs.ts): never a session's leftover either. */
    bornAfterKept?: ReadonlyMap<number, string>;
    exclude: ReadonlySet<number>;
    taken: Set<number>;
    liveRun?: ReadonlySet<number>;
    /** Every session's verdict: a process that also carries a session that is not over is not this one's leak. */
    session: Liveness['session'];
  },
): AttributedProcess[] {
  const otherSessionGoesOn = (d: ProcessInfo): boolean => markersOf(d).some((m) => (ctx.session(m.agent, m.sessionId)?.status ?? 'over') !== 'over');
  // Markers say a process is the session's only where they are its own (not a multiplexer's server's,
  // read whole); the follower's lineage only where what it saw was read whole and is no server
  // itself; what runs below either, up to a server.
  const skip = (d: ProcessInfo): boolean =>
    ctx.taken.has(d.pid) || ctx.kept.has(d.pid) || ctx.bornAfterKept?.has(d.pid) === true || ctx.exclude.has(d.pid) || ctx.inUse.has(d.pid) || ctx.liveRun?.has(d.pid) === true || otherSessionGoesOn(d) || lineageNotWhole(d, ctx.live);
  const carries = (d: ProcessInfo): boolean => markersOf(d).some((m) => m.agent === session.agent.name && m.sessionId === session.sessionId);
  const roots = session.members.filter((p) => isReparented(p, ctx.live) && !skip(p) && !evidenceNotWhole(p, ctx.live));
  for (const p of session.lineage) if (!roots.includes(p) && !skip(p)) roots.push(p);
  const members: AttributedProcess[] = [];
  for (const p of roots) {
    ctx.taken.add(p.pid);
    members.push(withEvidence(p, carries(p) ? 'agent' : 'lineage'));
  }
  for (const p of roots) {
    for (const d of subtree(ctx.tree, p, (q) => q === p || !skip(q)).slice(1)) {
      ctx.taken.add(d.pid);
      members.push(withEvidence(d, carries(d) ? 'agent' : 'lineage'));
    }
  }
  members.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  return members;
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
