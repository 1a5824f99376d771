// `scan`: one snapshot with every environment read, analysed for leaks of past sessions.
import { selfAndAncestors } from './ancestry.js';
import { platformReader } from './platform/index.js';
import type { PlatformReader } from './platform/types.js';
import { analyzeMachine, type MachineScan } from './rules/scan.js';
import { takeSnapshot } from './snapshot.js';
import { parseTaskTag } from './task/tag.js';

export interface ScanOptions {
  /** Report every re-parented tree, not only agent-like ones. */
  all?: boolean;
  /** Keep patterns (regular expressions) for command lines. */
  keep?: readonly string[];
  reader?: PlatformReader;
}

export interface ScanReport extends MachineScan {
  timestamp: Date;
  /** Problems that limit the scan (e.g. environments unreadable on this OS: no certain leaks). */
  warnings: string[];
}

export async function scanMachine(options: ScanOptions = {}): Promise<ScanReport> {
  const reader = options.reader ?? platformReader();
  const snapshot = await takeSnapshot({ reader, environment: 'all', keep: options.keep });
  const exclude = await selfAndAncestors(reader);
  const now = Date.now();
  const analysis = analyzeMachine(snapshot, {
    all: options.all,
    exclude,
    ageSeconds: (startTime) => (now - reader.startTimeToEpochMs(startTime)) / 1000,
    parseTag: parseTaskTag,
  });
  const warnings = [...(snapshot.warnings ?? [])];
  if (!reader.readsEnvironment) warnings.push(`task tags cannot be read from other processes on ${reader.platform}: no certain leaks, suspected trees only`);
  return { timestamp: snapshot.timestamp, warnings, ...analysis };
}
