// Agent sessions reported by the agents' hooks: the records on disk that the hooks write and the
// follower (session-follower.ts) reads, its lock, and the journal of what ended sessions left. Kept
// light: a hook loads this, not the follower. All state is under the state directory, so a
// follower that was killed is replaced by the next hook without losing what was recorded:
//   sessions/<agent pid>-<start>.json  one registered agent process (its session, cwd, end reason),
//                                      written by the hooks only
//   sessions/<agent pid>-<start>.lineage.json  what the follower saw of its tree, written by the
//                                      follower only (two writers of one file would lose updates)
//   follower.lock                      `<pid> <start time>` of the follower that runs, made with link(2)
//   journal.jsonl                      one JSON line per ended session that left something
//   hooks.log                          one line per hook that could not do its job (it still exits 0)
import { appendFileSync, linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import type { LeakCost, LineageRecord, ProcessIdentity } from '../types.js';
import type { ReapOutcome } from './reap.js';

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
  leaked: { pid: number; command: string; memoryMB: number; memoryBytes?: number; evidence: string[]; cost?: LeakCost }[];
  /** With `sessions.reap`: what reaping did. */
  reaped?: ReapOutcome[];
}

const sessionsDir = (state: string): string => join(state, 'sessions');
const recordPath = (state: string, id: ProcessIdentity): string => join(sessionsDir(state), `${id.pid}-${id.startTime}.json`);

/** Where the follower keeps the lineage of a registered agent's tree. */
export const lineagePath = (recordFile: string): string => recordFile.replace(/\.json$/, '.lineage.json');

/**
 * Registers an agent process (SessionStart). `/clear` keeps the process and starts a new session
 * id: the record is replaced, and the lineage (the follower's own file) is kept.
 */
export async function registerSession(state: string, record: SessionRecord): Promise<void> {
  mkdirSync(sessionsDir(state), { recursive: true, mode: 0o700 });
  await writeFileAtomic(recordPath(state, { pid: record.agentPid, startTime: record.agentStartTime }), `${JSON.stringify(record)}\n`, 0o600);
}

/** The lineage the follower saved for a record; [] when none was saved yet. */
export function readLineage(recordFile: string): LineageRecord[] {
  try {
    return JSON.parse(readFileSync(lineagePath(recordFile), 'utf8')) as LineageRecord[];
  } catch {
    return [];
  }
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

export function readRecords(state: string): { path: string; record: SessionRecord }[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(state));
  } catch {
    return [];
  }
  const records: { path: string; record: SessionRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.endsWith('.lineage.json')) continue;
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

/** The identity the follower lock names (alive or not); undefined when there is no lock. */
export function readFollowerLock(state: string): ProcessIdentity | undefined {
  let text: string;
  try {
    text = readFileSync(join(state, 'follower.lock'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, startTime] = text.trim().split(' ').map(Number);
  return Number.isSafeInteger(pid) && Number.isFinite(startTime) ? { pid: pid!, startTime: startTime! } : undefined;
}

/** The follower that holds the lock, when it is alive (identity-checked: a reused pid is not it). */
export async function runningFollower(state: string, reader: PlatformReader = platformReader()): Promise<ProcessIdentity | undefined> {
  const lock = readFollowerLock(state);
  if (!lock) return undefined;
  try {
    const status = await reader.readStatus(lock.pid);
    return status && status.alive && status.startTime === lock.startTime ? lock : undefined;
  } catch {
    return lock; // exists, unreadable: take it as running
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

export function releaseFollowerLock(state: string, reader: PlatformReader): void {
  const lock = join(state, 'follower.lock');
  try {
    const self = reader.selfIdentity();
    if (readFileSync(lock, 'utf8').trim() === `${self.pid} ${self.startTime}`) unlinkSync(lock);
  } catch {
    // already gone
  }
}
