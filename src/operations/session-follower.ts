// The session follower: one per user, started by the first SessionStart hook. It follows every
// registered agent process (one look at the process table per tick for all of them), records each
// agent's tree, and when an agent exits journals — and with `reap`, reaps — what its session left.
import { unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../files.js';
import type { Logger } from '../log.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { agentDefinitions } from '../rules/agents.js';
import { byPid, identityKey } from '../rules/identity.js';
import { keptPids } from '../rules/keep.js';
import { processTree, subtree } from '../rules/tree.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import type { AgentConfig, AttributedProcess, LineageRecord } from '../types.js';
import { acquireFollowerLock, appendJournal, lineagePath, readLineage, readRecords, releaseFollowerLock, type JournalEntry, type SessionRecord } from './agent-sessions.js';
import { selfAndAncestors } from './ancestry.js';
import { measureCosts } from './leak-cost.js';
import { reapOrphans } from './reap.js';

export interface FollowOptions {
  state: string;
  /** How often agents are checked and their trees followed, in ms (default 1000). */
  intervalMs?: number;
  /** How long after an agent exits its session's leftovers are looked at, in ms (default 3000). */
  lingerMs?: number;
  /** Reap what an ended session left (identity-checked, keep rules honoured). */
  reap?: boolean;
  graceMs?: number;
  keep?: readonly string[];
  keepSharedDaemons?: boolean;
  agents?: readonly AgentConfig[];
  logger: Logger;
  reader?: PlatformReader;
}

interface Followed {
  record: SessionRecord;
  /** Descendants seen while the agent ran, by identity key. */
  seen: Map<string, LineageRecord>;
  saved: number;
  endedAt?: number;
}

/**
 * The follower: follows every registered agent process, records the lineage of its tree while it
 * runs, and when it exits waits `lingerMs` and journals (and with `reap`, reaps) what its session
 * left. One look at the process table per tick serves every agent (its cost does not grow with the
 * number of agents). Returns when it follows nothing (or another follower holds the lock).
 */
export async function followSessions(options: FollowOptions): Promise<void> {
  const reader = options.reader ?? platformReader();
  const intervalMs = options.intervalMs ?? 1000;
  const lingerMs = options.lingerMs ?? 3000;
  if (!(await acquireFollowerLock(options.state, reader))) return;
  const followed = new Map<string, Followed>();
  // Identities already read in full: later ticks read only /proc/[pid]/stat for them.
  let known = new Set<string>();
  try {
    for (;;) {
      const records = readRecords(options.state);
      if (records.length === 0 && followed.size === 0) return;
      for (const { path, record } of records) {
        if (!followed.has(path)) {
          const seen = new Map(readLineage(path).map((r) => [identityKey(r), r] as const));
          followed.set(path, { record, seen, saved: seen.size });
        } else followed.get(path)!.record = record; // a SessionEnd reason may have arrived
      }
      for (const path of followed.keys()) if (!records.some((r) => r.path === path)) followed.delete(path);

      let table;
      try {
        table = await reader.readProcessTable({ isKnown: (pid, startTime) => known.has(identityKey({ pid, startTime })) });
      } catch (err) {
        options.logger.warn({ error: (err as Error).message }, 'reading the process table failed; trying again next tick');
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        continue;
      }
      known = new Set(table.processes.map(identityKey));
      const unreadable = new Set(table.unreadable ?? []);
      const children = new Map<number, { pid: number; ppid: number; startTime: number }[]>();
      const alive = new Map<number, number>(); // pid → start time
      for (const p of table.processes) {
        alive.set(p.pid, p.startTime);
        const list = children.get(p.ppid);
        if (list) list.push(p);
        else children.set(p.ppid, [p]);
      }
      const now = Date.now();
      for (const [path, entry] of followed) {
        const { record } = entry;
        if (entry.endedAt === undefined) {
          const start = alive.get(record.agentPid);
          if (start !== record.agentStartTime && !unreadable.has(record.agentPid)) {
            entry.endedAt = now;
            continue;
          }
          // The agent's whole tree now: a child younger than its parent's pid holder is not its child.
          const stack = [{ pid: record.agentPid, startTime: record.agentStartTime }];
          while (stack.length > 0) {
            const parent = stack.pop()!;
            for (const c of children.get(parent.pid) ?? []) {
              if (c.startTime < parent.startTime) continue;
              const key = identityKey(c);
              if (!entry.seen.has(key)) entry.seen.set(key, { pid: c.pid, ppid: c.ppid, startTime: c.startTime });
              stack.push(c);
            }
          }
          if (entry.seen.size !== entry.saved) {
            entry.saved = entry.seen.size;
            await writeFileAtomic(lineagePath(path), `${JSON.stringify([...entry.seen.values()])}\n`, 0o600).catch(() => undefined);
          }
        } else if (now - entry.endedAt >= lingerMs) {
          await closeSession(record, [...entry.seen.values()], new Date(entry.endedAt), options, reader);
          for (const file of [path, lineagePath(path)]) {
            try {
              unlinkSync(file);
            } catch {
              // already removed, or never written
            }
          }
          followed.delete(path);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    releaseFollowerLock(options.state, reader);
  }
}

/** What an ended session left: its lineage still alive, its marked processes, and everything below them. */
async function closeSession(record: SessionRecord, lineage: LineageRecord[], endedAt: Date, options: FollowOptions, reader: PlatformReader): Promise<void> {
  const snapshot = await takeSnapshot({
    reader,
    environment: 'all',
    keep: options.keep,
    keepSharedDaemons: options.keepSharedDaemons,
    agents: agentDefinitions(options.agents),
  });
  const exclude = await selfAndAncestors(reader);
  const tree = processTree(snapshot.processes);
  const kept = keptPids(tree, snapshot.processes);
  const seen = new Set(lineage.map(identityKey));
  const agentKey = identityKey({ pid: record.agentPid, startTime: record.agentStartTime });
  const live = byPid(snapshot.processes);
  const evidence = new Map<number, Set<string>>();
  const add = (pid: number, why: string): void => {
    const set = evidence.get(pid) ?? new Set<string>();
    set.add(why);
    evidence.set(pid, set);
  };
  for (const p of snapshot.processes) {
    if (kept.has(p.pid) || exclude.has(p.pid) || identityKey(p) === agentKey) continue;
    if (seen.has(identityKey(p))) add(p.pid, 'lineage');
    if (p.agent?.agent === record.agent && p.agent.sessionId === record.sessionId) add(p.pid, 'agent');
  }
  for (const pid of [...evidence.keys()]) {
    for (const d of subtree(tree, live.get(pid)!, (q) => !kept.has(q.pid) && !exclude.has(q.pid) && !q.environmentUnreadable).slice(1)) add(d.pid, 'lineage');
  }
  if (evidence.size === 0) return;
  const leaked: AttributedProcess[] = [...evidence].map(([pid, why]) => ({ ...live.get(pid)!, evidence: [...why].sort() as AttributedProcess['evidence'] }));
  leaked.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  await measureCosts(leaked, { reader });
  const entry: JournalEntry = {
    agent: record.agent,
    sessionId: record.sessionId,
    ...(record.cwd ? { cwd: record.cwd } : {}),
    agentPid: record.agentPid,
    startedAt: record.startedAt,
    endedAt: endedAt.toISOString(),
    reason: record.endReason ?? 'agent exited',
    leaked: leaked.map((p) => ({ pid: p.pid, command: p.command, memoryMB: p.memoryMB, memoryBytes: p.memoryBytes, evidence: p.evidence, ...(p.cost ? { cost: p.cost } : {}) })),
  };
  if (options.reap) entry.reaped = await reapOrphans(leaked, { reader, graceMs: options.graceMs });
  appendJournal(options.state, entry);
  options.logger.info({ agent: record.agent, session: record.sessionId, leaked: leaked.length, reaped: entry.reaped?.length ?? 0 }, 'agent session ended and left processes');
}
