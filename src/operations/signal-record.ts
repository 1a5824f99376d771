// The record of every signal rtrack sends: `<state>/signals.jsonl` (rotated like the journal), one
// JSON line per signal, written before it is sent — by the reaper for each round, and before a
// run's cgroup is killed whole, one line per member. What rtrack did to a machine can then be read
// back whatever path asked (run, scan, watch, the follower, a library call), and a test can check
// that nothing it protects was ever signalled.
import { join } from 'node:path';
import { appendRotated, prepareStateDirectory, stateDirectory, type Rotation } from '../files.js';
import { identityKey } from '../rules/identity.js';
import type { AttributedProcess, ProcessInfo } from '../types.js';

/** Who asked for the signals: the command or the library call. */
export type SignalRequester = 'run' | 'scan' | 'watch' | 'follower' | 'library';

/** One line of `signals.jsonl`. */
export interface SignalRecord {
  /** When it was written (just before the signal), ISO 8601. */
  at: string;
  by: SignalRequester;
  pid: number;
  /** pid and start time in the OS's unit (`identityKey`): the process, not only its pid. */
  identity: string;
  signal: NodeJS.Signals;
  /** The command as the look saw it. */
  command: string;
  /** The evidence it was reaped on, where the caller gave it. */
  evidence?: readonly string[];
  /** `kill`: one process at a time; `cgroup.kill`: the run's group killed whole (every member listed). */
  via: 'kill' | 'cgroup.kill';
  /** The rtrack process that sent it. */
  rtrack: number;
}

/** How large signals.jsonl grows before it is rotated, and how many older files are kept. */
export const SIGNAL_RECORD_ROTATION: Rotation = { maxBytes: 1 << 20, keep: 3 };

export const signalRecordPath = (state: string): string => join(state, 'signals.jsonl');

/**
 * Appends the records of the signals about to be sent (one write). Undefined when written; the
 * reason in one line when not (a state directory that is not the user's alone, a full disk): the
 * signals are sent all the same — a record that cannot be written must not keep a leak alive.
 */
export function recordSignals(
  state: string | undefined,
  by: SignalRequester,
  processes: readonly (ProcessInfo | AttributedProcess)[],
  signal: NodeJS.Signals,
  via: SignalRecord['via'] = 'kill',
): string | undefined {
  if (processes.length === 0) return undefined;
  const dir = state ?? stateDirectory();
  const problem = prepareStateDirectory(dir);
  if (problem) return problem;
  const at = new Date().toISOString();
  const lines = processes.map((p) => {
    const record: SignalRecord = {
      at,
      by,
      pid: p.pid,
      identity: identityKey(p),
      signal,
      command: p.command,
      ...('evidence' in p && p.evidence.length > 0 ? { evidence: p.evidence } : {}),
      via,
      rtrack: process.pid,
    };
    return `${JSON.stringify(record)}\n`;
  });
  try {
    appendRotated(signalRecordPath(dir), lines.join(''), SIGNAL_RECORD_ROTATION);
    return undefined;
  } catch (err) {
    return `cannot write ${signalRecordPath(dir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}
