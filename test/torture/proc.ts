// /proc as the torture driver reads it: small and self-contained (the driver runs bundled inside a
// world's PID namespace). A process is known by its identity: pid and start time in clock ticks
// (/proc/<pid>/stat field 22), `pid:start` — the same key rtrack's identities use.
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface Stat {
  pid: number;
  ppid: number;
  state: string;
  start: number;
}

export const keyOf = (pid: number, start: number): string => `${pid}:${start}`;

export function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' '); // [0] is field 3
  return { pid, state: fields[0]!, ppid: Number(fields[1]), start: Number(fields[19]) };
}

/** Whether the process with this identity runs (a zombie is gone). */
export function aliveKey(pid: number, start: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.start === start && s.state !== 'Z' && s.state !== 'X';
}

export function pids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** The command line, NULs as spaces, at most `max` characters. */
export function commandLine(pid: number, max = 160): string {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    const text = raw.replace(/\0+$/, '').replace(/\0/g, ' ');
    return text.length > max ? `${text.slice(0, max)}…` : text || `[${readFileSync(`/proc/${pid}/comm`, 'latin1').trim()}]`;
  } catch {
    return '';
  }
}

export function ownerUid(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

export interface Seen {
  pid: number;
  start: number;
  ppid: number;
  uid: number | undefined;
  command: string;
  firstSeen: number;
  lastSeen: number;
}

/** Every process seen by the sweeps, by identity. */
export class Sweeper {
  readonly seen = new Map<string, Seen>();
  /** The sweep times, in order. */
  readonly times: number[] = [];

  sweep(): number {
    const now = Date.now();
    for (const pid of pids()) {
      const s = readStat(pid);
      if (!s || s.state === 'Z') continue;
      const key = keyOf(pid, s.start);
      const known = this.seen.get(key);
      if (known) {
        known.lastSeen = now;
        // Read again each time: a process seen between its fork and its exec showed its parent's (a hook's) command line.
        known.command = commandLine(pid) || known.command;
      } else this.seen.set(key, { pid, start: s.start, ppid: s.ppid, uid: ownerUid(pid), command: commandLine(pid), firstSeen: now, lastSeen: now });
    }
    this.times.push(now);
    return now;
  }

  /** The latest process seen with this pid at `at` (or last). */
  byPid(pid: number, at?: number): Seen | undefined {
    let best: Seen | undefined;
    for (const s of this.seen.values()) {
      if (s.pid !== pid) continue;
      if (at !== undefined && s.firstSeen > at + 50) continue;
      if (!best || s.firstSeen > best.firstSeen) best = s;
    }
    return best;
  }
}
