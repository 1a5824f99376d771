// `scan`: one snapshot with every environment read, analysed for leaks of past sessions.
import { selfAndAncestors } from './ancestry.js';
import { BLOCK_MS, yieldToLoop } from './event-loop.js';
import { platformReader } from './platform/index.js';
import type { PlatformReader } from './platform/types.js';
import { byPid } from './rules/identity.js';
import { analyzeMachine, type MachineScan } from './rules/scan.js';
import { takeSnapshot } from './snapshot.js';
import { parseTaskTag } from './task/tag.js';
import type { ProcessSnapshot, TaskOwner } from './types.js';

export interface ScanOptions {
  /** Report every re-parented tree, not only agent-like ones. */
  all?: boolean;
  /** Keep patterns (regular expressions) for command lines. */
  keep?: readonly string[];
  reader?: PlatformReader;
}

export interface ScanReport extends MachineScan {
  timestamp: Date;
  /** The scan's own PID namespace (Linux): a tag owner's `pidNamespace` that differs ran inside a container. */
  pidNamespace?: string;
  /** Problems that limit the scan (e.g. environments unreadable on this OS: no certain leaks). */
  warnings: string[];
}

export async function scanMachine(options: ScanOptions = {}): Promise<ScanReport> {
  const reader = options.reader ?? platformReader();
  const snapshot = await takeSnapshot({ reader, environment: 'all', keep: options.keep });
  const exclude = await selfAndAncestors(reader);
  const now = Date.now();
  const pidNamespace = reader.readPidNamespace?.(process.pid)?.namespace;
  const analysis = analyzeMachine(snapshot, {
    all: options.all,
    exclude,
    ageSeconds: (startTime) => (now - reader.startTimeToEpochMs(startTime)) / 1000,
    parseTag: parseTaskTag,
    ownerPid: await ownerLocator(snapshot, reader, pidNamespace),
  });
  const warnings = [...(snapshot.warnings ?? [])];
  if (!reader.readsEnvironment) warnings.push(`task tags cannot be read from other processes on ${reader.platform}: no certain leaks, suspected trees only`);
  return { timestamp: snapshot.timestamp, ...(pidNamespace === undefined ? {} : { pidNamespace }), warnings, ...analysis };
}

/**
 * Finds the run that owns a tag as this scan sees it. A run in our own PID namespace is looked up
 * by pid and start time. A run in another namespace (inside a container) has a pid that means
 * something else here: it is looked up by its namespace and its pid there (`NSpid`), read only when
 * such tags exist. A namespace that no visible process is in lies outside our view (an enclosing
 * one): whether its run is alive cannot be told, so its tags count as no evidence.
 */
async function ownerLocator(
  snapshot: ProcessSnapshot,
  reader: PlatformReader,
  own: string | undefined,
): Promise<(owner: TaskOwner) => number | null | undefined> {
  const live = byPid(snapshot.processes);
  const sameNamespace = (owner: TaskOwner): boolean => owner.pidNamespace === undefined || owner.pidNamespace === own;
  const alive = (pid: number | undefined, owner: TaskOwner): number | null => (pid !== undefined && live.get(pid)?.startTime === owner.startTime ? pid : null);

  const foreign = new Set<string>();
  for (const p of snapshot.processes) {
    const owner = p.taskTag ? parseTaskTag(p.taskTag) : undefined;
    if (owner && !sameNamespace(owner)) foreign.add(owner.pidNamespace!);
  }
  const seen = new Set<string>();
  const byInnerPid = new Map<string, number>(); // `${namespace}/${pid there}` → pid here
  if (foreign.size > 0 && reader.readPidNamespace) {
    let blockStart = performance.now();
    for (const p of snapshot.processes) {
      if (performance.now() - blockStart > BLOCK_MS) {
        await yieldToLoop();
        blockStart = performance.now();
      }
      const ns = reader.readPidNamespace(p.pid);
      if (!ns || !foreign.has(ns.namespace)) continue;
      seen.add(ns.namespace);
      byInnerPid.set(`${ns.namespace}/${ns.innerPid}`, p.pid);
    }
  }
  return (owner) => {
    if (sameNamespace(owner)) return alive(owner.pid, owner);
    if (!seen.has(owner.pidNamespace!)) return undefined;
    return alive(byInnerPid.get(`${owner.pidNamespace}/${owner.pid}`), owner);
  };
}
