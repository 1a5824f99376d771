// Agent sessions reported by the agents' hooks: what the hooks and the follower (session-follower.ts)
// write in the state directory — a session's record, its SessionEnd reasons, its lineage, the journal
// of what ended sessions left, hooks.log — and the follower's lock. The layout of that directory, its
// types and its readers are tracking/session-records.ts (the gate's look reads it there, below the
// reaper). Kept light: a hook loads this, not the follower.
import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { appendLine, appendRotated, generationPaths, writeFileAtomic, type Rotation } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import type { LineageRecord, ProcessIdentity, ReapOutcome } from '../types.js';
import {
  endsPath,
  JOURNAL_ROTATION,
  lineagePath,
  followerLockPath,
  ofThisNamespace,
  oldLineagePath,
  parseLock,
  readFollowerLock,
  readQuietly,
  readRecords,
  recordPath,
  sessionsDir,
  type JournalEntry,
  type LockHolder,
  type SessionRecord,
  type WatchReapRecord,
} from '../tracking/session-records.js';

/** How large hooks.log and follower.log grow before they are rotated, and how many older files are kept (the journal: JOURNAL_ROTATION). */
export const HOOKS_LOG_ROTATION: Rotation = { maxBytes: 256 << 10, keep: 1 };
export const FOLLOWER_LOG_ROTATION: Rotation = { maxBytes: 1 << 20, keep: 1 };

/**
 * Registers an agent process (SessionStart). `/clear` keeps the process and starts a new session
 * id: the record is replaced whole (no SessionEnd can write an older one back over it), and the
 * lineage (the follower's own file) is kept.
 */
export async function registerSession(state: string, record: SessionRecord): Promise<void> {
  const { endReason: _ignored, ...written } = record;
  mkdirSync(sessionsDir(state), { recursive: true, mode: 0o700 });
  await writeFileAtomic(recordPath(state, { pid: record.agentPid, startTime: record.agentStartTime }), `${JSON.stringify(written)}\n`, 0o600);
}

/** The first line of a lineage file: the boot it was written in. */
const lineageHeader = (bootId: string | undefined): string => `${JSON.stringify({ bootId: bootId ?? null })}\n`;
const lineageLines = (entries: readonly LineageRecord[]): string => entries.map((e) => `${JSON.stringify(e)}\n`).join('');

/** Writes a record's lineage whole (atomically): the boot's line, then the entries. */
export async function writeLineage(recordFile: string, bootId: string | undefined, entries: readonly LineageRecord[]): Promise<void> {
  await writeFileAtomic(lineagePath(recordFile), lineageHeader(bootId) + lineageLines(entries), 0o600);
  removeQuietly(oldLineagePath(recordFile));
}

/** Appends entries to a record's lineage (one write); the file must have been written whole first. */
export function appendLineage(recordFile: string, entries: readonly LineageRecord[]): void {
  appendLine(lineagePath(recordFile), lineageLines(entries));
}

/** Removes a record and every file that goes with it (its SessionEnd reasons, its lineage). */
export function removeRecord(recordFile: string): void {
  for (const file of [recordFile, endsPath(recordFile), lineagePath(recordFile), oldLineagePath(recordFile)]) removeQuietly(file);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already removed, or never written
  }
}

/**
 * Records a SessionEnd (SessionEnd): one line appended to the agent's file of ends, never a
 * rewrite of its record, so a SessionStart of `/clear` that runs meanwhile is never undone. False
 * when the agent was not registered. Never waits for anything.
 */
export async function recordSessionEnd(
  state: string,
  agent: ProcessIdentity,
  end: { sessionId: string; reason: string },
  options: { beforeWrite?: () => Promise<void> } = {},
): Promise<boolean> {
  const path = recordPath(state, agent);
  try {
    statSync(path);
  } catch {
    return false;
  }
  await options.beforeWrite?.();
  appendRotated(endsPath(path), `${JSON.stringify({ sessionId: end.sessionId, reason: end.reason })}\n`, { maxBytes: 64 << 10, keep: 0 });
  return true;
}

/**
 * The agent registered for this session under one of these pids (a SessionEnd hook that runs after
 * its agent has exited, as a detached one may): its identity from the record; undefined when none is.
 */
export function registeredAgent(state: string, agent: string, sessionId: string, pids: readonly (number | undefined)[]): ProcessIdentity | undefined {
  const candidates = new Set(pids.filter((p): p is number => p !== undefined && Number.isSafeInteger(p) && p > 1));
  if (candidates.size === 0) return undefined;
  for (const { record } of readRecords(state)) {
    if (candidates.has(record.agentPid) && record.agent === agent && record.sessionId === sessionId) return { pid: record.agentPid, startTime: record.agentStartTime };
  }
  return undefined;
}

/** Appends one line to the journal (one write(2) on an O_APPEND file: lines never interleave), rotated at its bound. */
export function appendJournal(state: string, line: JournalEntry | { outcomeOf: string; reaped: ReapOutcome[] }): void {
  appendRotated(join(state, 'journal.jsonl'), `${JSON.stringify(line)}\n`, JOURNAL_ROTATION);
}

/** Appends what a watch reaped in one round, a line per process, with one write. */
export function appendWatchReaps(state: string, records: readonly WatchReapRecord[]): void {
  if (records.length > 0) appendRotated(join(state, 'journal.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''), JOURNAL_ROTATION);
}

/** One line in hooks.log (a hook must never fail the agent, so this is where its problems go). */
export function logHookProblem(state: string, message: string): void {
  try {
    mkdirSync(state, { recursive: true, mode: 0o700 });
    appendRotated(join(state, 'hooks.log'), `${new Date().toISOString()} ${message.replace(/\n/g, ' ')}\n`, HOOKS_LOG_ROTATION);
  } catch {
    // nowhere left to say it
  }
}

/** How a follower that could not start says so in hooks.log, and how it says it started in follower.log. */
export const FOLLOWER_FAILED = 'follower could not start: ';
export const FOLLOWER_STARTED = 'follower started';

/**
 * Why the last follower could not start (hooks.log), when no follower started after it
 * (follower.log): `at` is the line's time. Undefined when the last start went well.
 */
export function followerStartProblem(state: string): { at: string; message: string } | undefined {
  const lastLine = (file: string, rotation: Rotation, has: string): string | undefined => {
    for (const path of generationPaths(join(state, file), rotation).reverse()) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      const lines = text.split('\n');
      for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.includes(has)) return lines[i];
    }
    return undefined;
  };
  const failed = lastLine('hooks.log', HOOKS_LOG_ROTATION, FOLLOWER_FAILED);
  if (failed === undefined) return undefined;
  const at = failed.slice(0, failed.indexOf(' '));
  const started = lastLine('follower.log', FOLLOWER_LOG_ROTATION, ` ${FOLLOWER_STARTED}`);
  if (started !== undefined && started.slice(0, started.indexOf(' ')) >= at) return undefined;
  return { at, message: failed.slice(failed.indexOf(FOLLOWER_FAILED) + FOLLOWER_FAILED.length) };
}

/** Whether the process a lock names still holds it: the same boot, pid and start time (one that cannot be read: taken as alive). */
async function holderAlive(holder: LockHolder, reader: PlatformReader): Promise<boolean> {
  const boot = reader.readBootId?.();
  if (holder.bootId !== undefined && boot !== undefined && holder.bootId !== boot) return false;
  // Each namespace has a lock of its own (followerLockPath): one naming another namespace's follower
  // was not made by a follower of this one, and keeps nothing from running here.
  if (!ofThisNamespace(holder, reader.readPidNamespaceId?.(process.pid))) return false;
  try {
    const status = await reader.readStatus(holder.pid);
    return status !== undefined && status.alive && status.startTime === holder.startTime;
  } catch {
    return true; // exists, unreadable: take it as running
  }
}

/** The follower that holds the lock, when it is alive (identity-checked: a reused pid, or another boot's, is not it). */
export async function runningFollower(state: string, reader: PlatformReader = platformReader()): Promise<ProcessIdentity | undefined> {
  const lock = readFollowerLock(state, reader.readPidNamespaceId?.(process.pid));
  return lock && (await holderAlive(lock, reader)) ? { pid: lock.pid, startTime: lock.startTime } : undefined;
}

export interface LockOptions {
  /** Runs between finding a lock stale and taking it over (tests widen that window). */
  beforeTakeOver?: () => Promise<void>;
  /** How long to wait for another process that is taking a stale lock over (default 5 s). */
  waitMs?: number;
}

/** How deep take-overs of take-overs go (each level needs a process that died while taking one over). */
const MAX_TAKEOVER_DEPTH = 4;
/** Leftovers of starters that died (their candidates, their take-overs) older than this are removed by the holder. */
const LEFTOVER_MS = 60_000;

/**
 * Takes the follower lock for this process; false when another follower holds it. The lock is made
 * with link(2) of a complete file, so two followers starting at once cannot both make it. A stale
 * lock (its holder gone, or of another boot) is taken over exclusively: only the process that
 * holds `follower.lock.takeover-<stale holder>` — made the same way — may remove it, and removes
 * it only if it still names that holder; then all race to make the lock again, and one wins. A
 * take-over whose taker died is itself a stale lock, taken over the same way.
 */
export async function acquireFollowerLock(state: string, reader: PlatformReader = platformReader(), options: LockOptions = {}): Promise<boolean> {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const ns = reader.readPidNamespaceId?.(process.pid);
  const lock = followerLockPath(state, ns);
  const self = reader.selfIdentity();
  const bootId = reader.readBootId?.();
  const candidate = `${lock}.${self.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  writeFileSync(candidate, `${self.pid} ${self.startTime}${bootId || ns ? ` ${bootId || '-'}` : ''}${ns ? ` ${ns}` : ''}\n`, { mode: 0o600, flag: 'wx' });
  try {
    const held = await takeLock(lock, candidate, reader, options, Date.now() + (options.waitMs ?? 5000), 0);
    if (held) removeLeftovers(state, lock);
    return held;
  } finally {
    removeQuietly(candidate);
  }
}

async function takeLock(path: string, candidate: string, reader: PlatformReader, options: LockOptions, deadline: number, depth: number): Promise<boolean> {
  for (;;) {
    try {
      linkSync(candidate, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = readQuietly(path);
    if (text !== undefined) {
      const holder = parseLock(text);
      if (holder && (await holderAlive(holder, reader))) return false;
      // Stale (or not a lock at all: every lock is complete before it is linked).
      await options.beforeTakeOver?.();
      const takeover = `${path}.takeover-${holder ? `${holder.pid}-${holder.startTime}` : 'unreadable'}`;
      if (depth < MAX_TAKEOVER_DEPTH && (await takeLock(takeover, candidate, reader, options, deadline, depth + 1))) {
        // Only the holder of this take-over removes the lock while it names that holder, and no
        // lock is made while one is there: if it still says so, it is the stale one.
        if (readQuietly(path) === text) removeQuietly(path);
        removeQuietly(takeover);
        continue;
      }
    }
    // Removed meanwhile, or another process is taking it over: look again shortly.
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
  }
}

/** Candidates and take-overs of starters that died: removed by the holder (a take-over of a lock that is not there cannot remove anything). */
function removeLeftovers(state: string, lock: string): void {
  let names: string[];
  try {
    names = readdirSync(state);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${basename(lock)}.`)) continue;
    const path = join(state, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > LEFTOVER_MS) unlinkSync(path);
    } catch {
      // gone already
    }
  }
}

export function releaseFollowerLock(state: string, reader: PlatformReader): void {
  const ns = reader.readPidNamespaceId?.(process.pid);
  const lock = followerLockPath(state, ns);
  const self = reader.selfIdentity();
  const held = readFollowerLock(state, ns);
  // Only a take-over removes a lock not its holder's, and only a stale one: ours stays ours until then.
  if (held && held.pid === self.pid && held.startTime === self.startTime) removeQuietly(lock);
}
