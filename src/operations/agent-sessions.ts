// Agent sessions reported by the agents' hooks, followed by one follower per user, and the journal
// of what ended sessions left. All state is on disk under the state directory, so a follower that
// was killed is replaced by the next hook without losing what was recorded:
//   sessions/<agent pid>-<start>.json  one registered agent process (its session, cwd, lineage)
//   follower.lock                      `<pid> <start time>` of the follower that runs, made with link(2)
//   journal.jsonl                      one JSON line per ended session that left something
//   hooks.log                          one line per hook that could not do its job (it still exits 0)
import { appendFileSync, linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files.js';
import type { Logger } from '../log.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { agentDefinitions } from '../rules/agents.js';
import { byPid, identityKey } from '../rules/identity.js';
import { keptPids } from '../rules/keep.js';
import { processTree, subtree } from '../rules/tree.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import type { AgentConfig, AttributedProcess, LineageRecord, ProcessIdentity } from '../types.js';
import { selfAndAncestors } from './ancestry.js';
import { reapOrphans, type ReapOutcome } from './reap.js';

/** One agent process registered by its SessionStart hook. */
export interface SessionRecord {
  agent: string;
  sessionId: string;
  cwd?: string;
  transcriptPath?: string;
  /** The agent process: pid and start time in the OS's unit (its identity). */
  agentPid: number;
  agentStartTime: number;
  startedAt: string;
  /** The SessionStart `source` (startup, resume, clear, compact). */
  source?: string;
  /** The last SessionEnd `reason` (clear does not end the process). */
  endReason?: string;
  /** Every descendant the follower saw while the agent ran. */
  lineage?: LineageRecord[];
}

/** One ended session that left something: a line of the journal. */
export interface JournalEntry {
  agent: string;
  sessionId: string;
  cwd?: string;
  agentPid: number;
  startedAt: string;
  endedAt: string;
  /** The SessionEnd reason, or `agent exited` when no SessionEnd hook ran (a crash, SIGKILL). */
  reason: string;
  leaked: { pid: number; command: string; memoryMB: number; memoryBytes?: number; evidence: string[] }[];
  /** With `sessions.reap`: what reaping did. */
  reaped?: ReapOutcome[];
}

const sessionsDir = (state: string): string => join(state, 'sessions');
const recordPath = (state: string, id: ProcessIdentity): string => join(sessionsDir(state), `${id.pid}-${id.startTime}.json`);

/** Registers an agent process (SessionStart): a new record, or the same process's record kept with its lineage. */
export async function registerSession(state: string, record: SessionRecord): Promise<void> {
  mkdirSync(sessionsDir(state), { recursive: true, mode: 0o700 });
  const path = recordPath(state, { pid: record.agentPid, startTime: record.agentStartTime });
  let previous: SessionRecord | undefined;
  try {
    previous = JSON.parse(readFileSync(path, 'utf8')) as SessionRecord;
  } catch {
    previous = undefined;
  }
  // `/clear` keeps the process and starts a new session id: follow the process, keep its lineage.
  await writeFileAtomic(path, `${JSON.stringify({ ...record, lineage: previous?.lineage ?? [] })}\n`, 0o600);
}

/** Records a SessionEnd reason on the agent's record, if it is registered. Never waits for anything. */
export async function recordSessionEnd(state: string, agent: ProcessIdentity, reason: string): Promise<boolean> {
  const path = recordPath(state, agent);
  let record: SessionRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as SessionRecord;
  } catch {
    return false;
  }
  await writeFileAtomic(path, `${JSON.stringify({ ...record, endReason: reason })}\n`, 0o600);
  return true;
}

function readRecords(state: string): { path: string; record: SessionRecord }[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(state));
  } catch {
    return [];
  }
  const records: { path: string; record: SessionRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(sessionsDir(state), name);
    try {
      records.push({ path, record: JSON.parse(readFileSync(path, 'utf8')) as SessionRecord });
    } catch {
      // being written (atomically, so only a leftover temporary file) or corrupt: skipped
    }
  }
  return records;
}

/** Appends one line to the journal (one write(2) on an O_APPEND file: lines never interleave). */
export function appendJournal(state: string, entry: JournalEntry): void {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  appendFileSync(join(state, 'journal.jsonl'), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/** The journal's entries, oldest first; a corrupt line is skipped and counted, never fatal. */
export function readJournal(state: string): { entries: JournalEntry[]; corrupt: number } {
  let text: string;
  try {
    text = readFileSync(join(state, 'journal.jsonl'), 'utf8');
  } catch {
    return { entries: [], corrupt: 0 };
  }
  const entries: JournalEntry[] = [];
  let corrupt = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (typeof entry?.sessionId !== 'string' || !Array.isArray(entry.leaked)) throw new Error('not an entry');
      entries.push(entry);
    } catch {
      corrupt++;
    }
  }
  return { entries, corrupt };
}

/** One line in hooks.log (a hook must never fail the agent, so this is where its problems go). */
export function logHookProblem(state: string, message: string): void {
  try {
    mkdirSync(state, { recursive: true, mode: 0o700 });
    appendFileSync(join(state, 'hooks.log'), `${new Date().toISOString()} ${message.replace(/\n/g, ' ')}\n`, { mode: 0o600 });
  } catch {
    // nowhere left to say it
  }
}

/** The follower that holds the lock, when it is alive (identity-checked: a reused pid is not it). */
export async function runningFollower(state: string, reader: PlatformReader = platformReader()): Promise<ProcessIdentity | undefined> {
  let text: string;
  try {
    text = readFileSync(join(state, 'follower.lock'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, startTime] = text.trim().split(' ').map(Number);
  if (!Number.isSafeInteger(pid) || !Number.isFinite(startTime)) return undefined;
  try {
    const status = await reader.readStatus(pid!);
    return status && status.alive && status.startTime === startTime ? { pid: pid!, startTime: startTime! } : undefined;
  } catch {
    return { pid: pid!, startTime: startTime! }; // exists, unreadable: take it as running
  }
}

/**
 * Takes the follower lock for this process: link(2) of a complete file, so two followers starting
 * at once cannot both succeed; a lock whose holder is gone is replaced. False when another runs.
 */
export async function acquireFollowerLock(state: string, reader: PlatformReader = platformReader()): Promise<boolean> {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const lock = join(state, 'follower.lock');
  const self = reader.selfIdentity();
  const temporary = `${lock}.${process.pid}`;
  writeFileSync(temporary, `${self.pid} ${self.startTime}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temporary, lock);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await runningFollower(state, reader)) return false;
        try {
          unlinkSync(lock); // stale: its follower is gone
        } catch {
          // another follower replaced it first; the next attempt decides
        }
      }
    }
    return false;
  } finally {
    unlinkSync(temporary);
  }
}

function releaseFollowerLock(state: string, reader: PlatformReader): void {
  const lock = join(state, 'follower.lock');
  try {
    const self = reader.selfIdentity();
    if (readFileSync(lock, 'utf8').trim() === `${self.pid} ${self.startTime}`) unlinkSync(lock);
  } catch {
    // already gone
  }
}

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
          const seen = new Map((record.lineage ?? []).map((r) => [identityKey(r), r] as const));
          followed.set(path, { record, seen, saved: seen.size });
        } else followed.get(path)!.record = record; // a SessionEnd reason may have arrived
      }
      for (const path of followed.keys()) if (!records.some((r) => r.path === path)) followed.delete(path);

      let table;
      try {
        table = await reader.readProcessTable({ isKnown: (pid, startTime) => known.has(`${pid}:${startTime}`) });
      } catch (err) {
        options.logger.warn({ error: (err as Error).message }, 'reading the process table failed; trying again next tick');
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        continue;
      }
      known = new Set(table.processes.map((p) => `${p.pid}:${p.startTime}`));
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
            await writeFileAtomic(path, `${JSON.stringify({ ...record, lineage: [...entry.seen.values()] })}\n`, 0o600).catch(() => undefined);
          }
        } else if (now - entry.endedAt >= lingerMs) {
          await closeSession(record, [...entry.seen.values()], new Date(entry.endedAt), options, reader);
          try {
            unlinkSync(path);
          } catch {
            // already removed
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
  const entry: JournalEntry = {
    agent: record.agent,
    sessionId: record.sessionId,
    ...(record.cwd ? { cwd: record.cwd } : {}),
    agentPid: record.agentPid,
    startedAt: record.startedAt,
    endedAt: endedAt.toISOString(),
    reason: record.endReason ?? 'agent exited',
    leaked: leaked.map((p) => ({ pid: p.pid, command: p.command, memoryMB: p.memoryMB, memoryBytes: p.memoryBytes, evidence: p.evidence })),
  };
  if (options.reap) entry.reaped = await reapOrphans(leaked, { reader, graceMs: options.graceMs });
  appendJournal(options.state, entry);
  options.logger.info({ agent: record.agent, session: record.sessionId, leaked: leaked.length, reaped: entry.reaped?.length ?? 0 }, 'agent session ended and left processes');
}
