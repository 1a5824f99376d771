// Agent sessions reported by the agents' hooks: the records on disk that the hooks write and the
// follower (session-follower.ts) reads, its lock, and the journal of what ended sessions left. Kept
// light: a hook loads this, not the follower. All state is under the state directory (the user's
// alone: files.ts, prepareStateDirectory), so a follower that was killed is replaced by the next
// hook without losing what was recorded. Each file has one kind of writer, and no file is read,
// changed and written back by anyone:
//   sessions/<agent pid>-<start>.json  one registered agent process (its session, cwd, boot id),
//                                      written whole by SessionStart only (`/clear` replaces it)
//   sessions/<agent pid>-<start>.end.jsonl  the SessionEnd reasons, one line per SessionEnd
//                                      (`{ sessionId, reason }`), appended by SessionEnd only
//   sessions/<agent pid>-<start>.lineage.jsonl  what the follower saw of its tree that can still
//                                      leak: a line with the boot id, then one entry a line;
//                                      appended, and rewritten whole when it has grown to twice
//                                      what it keeps. Written by the follower only
//   follower.lock                      `<pid> <start time> <boot id>` of the follower that runs,
//                                      made with link(2); follower.lock.takeover-* while a stale
//                                      one is taken over
//   journal.jsonl (journal.1.jsonl …)  one JSON line per ended session that left something, and
//                                      one per outcome of its reaping; one per process `rtrack watch
//                                      --reap` handed to the reaper (`kind: "watch-reap"`, in the
//                                      watch's own state directory); rotated at 1 MiB
//   hooks.log, follower.log (… .1)     one line per hook that could not do its job (it still exits
//                                      0) and per follower that could not start; what the
//                                      follower did. Rotated
import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendLine, appendRotated, generationPaths, readGenerations, stateDirectoryDistrust, writeFileAtomic, type Rotation } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { mergeJournal, recordBoot, type BootInfo } from '../rules/follower-state.js';
import type { JournalledLeftovers } from '../rules/machine-leaks.js';
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
  /** The boot it was registered in (Linux's boot id): a record of another boot names no process of this one. */
  bootId?: string;
  /** The SessionStart `source` (startup, resume, clear, compact). */
  source?: string;
  /** The SessionEnd `reason` of this session id, when one ran (`clear` does not end the process). */
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
  /** The boot it ended in (Linux's boot id): its leftovers' identities name processes of that boot only. */
  bootId?: string;
  /**
   * What it left: `identity` (pid and start time, `identityKey`) tells whether one still runs later
   * (journalled by this version on); `command` is the 100-character display form, `commandLine` the
   * whole command line where that is longer.
   */
  leaked: { pid: number; identity?: string; command: string; commandLine?: string; memoryMB: number; memoryBytes?: number; evidence: string[]; cost?: LeakCost }[];
  /** Names the entry, for the line with its reaping's outcome (with `sessions.reap`). */
  id?: string;
  /**
   * Written before the first signal: reaping started. The outcome's line (`reaped`) replaces it when
   * the journal is read; an entry that still says so had its follower stop while reaping.
   */
  reaping?: 'started';
  /** With `sessions.reap`: what reaping did. */
  reaped?: ReapOutcome[];
}

/**
 * One process `rtrack watch --reap` handed to the reaper, and what reaping did: a line of the watch's
 * journal (`kind: "watch-reap"`), written once the reaper returned.
 */
export interface WatchReapRecord {
  kind: 'watch-reap';
  /** When the reaper returned (ISO 8601). */
  at: string;
  bootId?: string;
  /** The user it ran as (name, or uid when no name is known). */
  user?: string;
  pid: number;
  /** `identityKey`: pid and start time. */
  identity: string;
  command: string;
  evidence: string[];
  /** The agent session that left it (certain by agent markers or the follower's journal). */
  session?: { agent: string; sessionId: string };
  /** The task tag that made it certain (a tracked run that is over). */
  tag?: string;
  result: ReapOutcome['result'];
  signals: string[];
  /** Why the gate refused it, when it did. */
  reason?: string;
}

/** How large the journal, hooks.log and follower.log grow before they are rotated, and how many older files are kept. */
export const JOURNAL_ROTATION: Rotation = { maxBytes: 1 << 20, keep: 3 };
export const HOOKS_LOG_ROTATION: Rotation = { maxBytes: 256 << 10, keep: 1 };
export const FOLLOWER_LOG_ROTATION: Rotation = { maxBytes: 1 << 20, keep: 1 };

export const sessionsDir = (state: string): string => join(state, 'sessions');
const recordPath = (state: string, id: ProcessIdentity): string => join(sessionsDir(state), `${id.pid}-${id.startTime}.json`);
const endsPath = (recordFile: string): string => recordFile.replace(/\.json$/, '.end.jsonl');

/** Where the follower keeps the lineage of a registered agent's tree. */
export const lineagePath = (recordFile: string): string => recordFile.replace(/\.json$/, '.lineage.jsonl');
/** Where a follower before the lineage had a boot id kept it (one JSON array): read, then replaced. */
const oldLineagePath = (recordFile: string): string => recordFile.replace(/\.json$/, '.lineage.json');

/** This boot, as the reader tells it: its id, and when it started. */
export function bootInfo(reader: PlatformReader): BootInfo {
  const id = reader.readBootId?.();
  let startedAtMs: number | undefined;
  try {
    startedAtMs = reader.startTimeToEpochMs(0);
  } catch {
    startedAtMs = undefined;
  }
  return { ...(id ? { id } : {}), ...(startedAtMs !== undefined && Number.isFinite(startedAtMs) ? { startedAtMs } : {}) };
}

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

/**
 * The lineage the follower saved for a record: its entries, the boot it was saved in (null: on a
 * platform without boot ids; undefined: an older follower's file, or none), and its lines.
 */
export function readLineage(recordFile: string): { bootId?: string | null; entries: LineageRecord[]; lines: number } {
  let text: string;
  try {
    text = readFileSync(lineagePath(recordFile), 'utf8');
  } catch {
    try {
      return { entries: JSON.parse(readFileSync(oldLineagePath(recordFile), 'utf8')) as LineageRecord[], lines: 0 };
    } catch {
      return { entries: [], lines: 0 };
    }
  }
  const lines = text.split('\n').filter((l) => l !== '');
  let bootId: string | null | undefined;
  const entries: LineageRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      const value = JSON.parse(line) as Partial<LineageRecord> & { bootId?: string | null };
      if (i === 0 && 'bootId' in value) bootId = value.bootId;
      else if (typeof value.pid === 'number' && typeof value.startTime === 'number' && typeof value.ppid === 'number') entries.push(value as LineageRecord);
    } catch {
      // a line cut short by a crash: the rest stands
    }
  }
  return { ...(bootId === undefined ? {} : { bootId }), entries, lines: lines.length };
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

/**
 * Every record in the state directory, each with the reason of its session's SessionEnd when one
 * ran (the last one recorded for its session id). What the follower follows; see
 * registeredSessions for what others may trust.
 */
export function readRecords(state: string): { path: string; record: SessionRecord }[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(state));
  } catch {
    return [];
  }
  const present = new Set(names);
  const records: { path: string; record: SessionRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.endsWith('.lineage.json')) continue;
    const path = join(sessionsDir(state), name);
    let record: SessionRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as SessionRecord;
      if (typeof record?.sessionId !== 'string' || !Number.isSafeInteger(record.agentPid)) continue;
    } catch {
      continue; // being written (atomically, so only a leftover temporary file) or corrupt: skipped
    }
    const reason = present.has(name.replace(/\.json$/, '.end.jsonl')) ? endReasonOf(path, record.sessionId) : undefined;
    records.push({ path, record: reason === undefined ? record : { ...record, endReason: reason } });
  }
  return records;
}

/** The last SessionEnd reason recorded for this session id. */
function endReasonOf(recordFile: string, sessionId: string): string | undefined {
  let reason: string | undefined;
  try {
    for (const line of readFileSync(endsPath(recordFile), 'utf8').split('\n')) {
      try {
        const end = JSON.parse(line) as { sessionId?: unknown; reason?: unknown };
        if (end.sessionId === sessionId && typeof end.reason === 'string') reason = end.reason;
      } catch {
        // an empty or cut line
      }
    }
  } catch {
    // removed meanwhile
  }
  return reason;
}

/**
 * The records others may trust (the reaper's gate, scan, watch): none from a state directory that is
 * not the user's alone (whoever else can write there could make any process an agent, or a live
 * session's agent dead), and none of another boot (they name processes of that boot). `uid`: whose
 * the directory must be (default: this process's user).
 */
export function registeredSessions(state: string, reader: PlatformReader, uid?: number): { path: string; record: SessionRecord }[] {
  if (stateDirectoryDistrust(state, uid ?? process.getuid?.())) return [];
  const boot = bootInfo(reader);
  return readRecords(state).filter(({ record }) => recordBoot(record, boot) === 'this');
}

/**
 * What the journal says ended sessions left, by identity — for scan, which reports those still
 * running as certain leaks: from a state directory that is the user's alone, of this boot only.
 */
export function journalledLeftovers(state: string, reader: PlatformReader, uid?: number): JournalledLeftovers[] {
  if (stateDirectoryDistrust(state, uid ?? process.getuid?.())) return [];
  const boot = bootInfo(reader);
  return readJournal(state)
    .entries.filter((e) => recordBoot({ ...(e.bootId ? { bootId: e.bootId } : {}), startedAt: e.endedAt }, boot) === 'this')
    .map((e) => ({
      agent: e.agent,
      sessionId: e.sessionId,
      agentPid: e.agentPid,
      leaked: e.leaked.flatMap((p) => (p.identity ? [{ identity: p.identity, evidence: p.evidence }] : [])),
    }))
    .filter((e) => e.leaked.length > 0);
}

/** Appends one line to the journal (one write(2) on an O_APPEND file: lines never interleave), rotated at its bound. */
export function appendJournal(state: string, line: JournalEntry | { outcomeOf: string; reaped: ReapOutcome[] }): void {
  appendRotated(join(state, 'journal.jsonl'), `${JSON.stringify(line)}\n`, JOURNAL_ROTATION);
}

/** Appends what a watch reaped in one round, a line per process, with one write. */
export function appendWatchReaps(state: string, records: readonly WatchReapRecord[]): void {
  if (records.length > 0) appendRotated(join(state, 'journal.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''), JOURNAL_ROTATION);
}

/**
 * The journal's entries, oldest first, read across its rotated files: an entry and the outcome of
 * its reaping merged (rules/follower-state.ts, mergeJournal); a corrupt line is skipped and counted,
 * never fatal.
 */
export function readJournal(state: string): { entries: JournalEntry[]; corrupt: number; watchReaps: WatchReapRecord[] } {
  const lines = readGenerations(join(state, 'journal.jsonl'), JOURNAL_ROTATION).flatMap((text) => text.split('\n'));
  const { entries, corrupt, records } = mergeJournal<JournalEntry, WatchReapRecord | { kind: string }>(lines);
  return { entries, corrupt, watchReaps: records.filter((r): r is WatchReapRecord => r.kind === 'watch-reap') };
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

/** What a follower lock says: its holder, and the boot it was taken in (none in a lock of an older rtrack). */
export interface LockHolder extends ProcessIdentity {
  bootId?: string;
}

function parseLock(text: string): LockHolder | undefined {
  const [pid, startTime, bootId] = text.trim().split(' ');
  const holder = { pid: Number(pid), startTime: Number(startTime) };
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0 || !Number.isFinite(holder.startTime)) return undefined;
  return bootId ? { ...holder, bootId } : holder;
}

function readQuietly(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The identity the follower lock names (alive or not); undefined when there is no lock. */
export function readFollowerLock(state: string): LockHolder | undefined {
  const text = readQuietly(join(state, 'follower.lock'));
  return text === undefined ? undefined : parseLock(text);
}

/** Whether the process a lock names still holds it: the same boot, pid and start time (one that cannot be read: taken as alive). */
async function holderAlive(holder: LockHolder, reader: PlatformReader): Promise<boolean> {
  const boot = reader.readBootId?.();
  if (holder.bootId !== undefined && boot !== undefined && holder.bootId !== boot) return false;
  try {
    const status = await reader.readStatus(holder.pid);
    return status !== undefined && status.alive && status.startTime === holder.startTime;
  } catch {
    return true; // exists, unreadable: take it as running
  }
}

/** The follower that holds the lock, when it is alive (identity-checked: a reused pid, or another boot's, is not it). */
export async function runningFollower(state: string, reader: PlatformReader = platformReader()): Promise<ProcessIdentity | undefined> {
  const lock = readFollowerLock(state);
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
  const lock = join(state, 'follower.lock');
  const self = reader.selfIdentity();
  const bootId = reader.readBootId?.();
  const candidate = `${lock}.${self.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  writeFileSync(candidate, `${self.pid} ${self.startTime}${bootId ? ` ${bootId}` : ''}\n`, { mode: 0o600, flag: 'wx' });
  try {
    const held = await takeLock(lock, candidate, reader, options, Date.now() + (options.waitMs ?? 5000), 0);
    if (held) removeLeftovers(state);
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
function removeLeftovers(state: string): void {
  let names: string[];
  try {
    names = readdirSync(state);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith('follower.lock.')) continue;
    const path = join(state, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > LEFTOVER_MS) unlinkSync(path);
    } catch {
      // gone already
    }
  }
}

export function releaseFollowerLock(state: string, reader: PlatformReader): void {
  const lock = join(state, 'follower.lock');
  const self = reader.selfIdentity();
  const held = readFollowerLock(state);
  // Only a take-over removes a lock not its holder's, and only a stale one: ours stays ours until then.
  if (held && held.pid === self.pid && held.startTime === self.startTime) removeQuietly(lock);
}
