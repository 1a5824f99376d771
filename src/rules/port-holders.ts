// Who holds a port (`rtrack scan --port N`): every process that listens on it, each named for what
// the machine scan made of it — a certain leak, a suspected one, a kept process, or none of these.
// Pure: the scan's verdicts and the processes' listening sockets in, holders out.
import type { AttributedProcess, ProcessInfo } from '../types.js';
import { byPid, parentOf } from './identity.js';
import type { LeakGroup, MachineScan } from './machine-leaks.js';
import type { NotReaped } from './not-reaped.js';

/** A listening socket, as the platform reader gives it. */
export interface ListeningEndpoint {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

/** A process that listens on the port asked about. */
export interface PortHolder {
  /** What the scan made of it: a certain or suspected leak, kept (declared to outlive its task), or not a leak. */
  kind: 'certain' | 'suspected' | 'kept' | 'not-a-leak';
  process: ProcessInfo | AttributedProcess;
  /** Its sockets on that port. */
  listening: ListeningEndpoint[];
  /** The leak group it is part of (certain and suspected). */
  group?: LeakGroup;
  /** Its live parent, for a process that is not a leak. */
  parent?: ProcessInfo;
  /** Why it is not reaped (scanMachine sets it): the gate's refusal (in use, kept, rtrack's own), another user's, or not a leak. */
  notReaped?: NotReaped;
}

/**
 * The holders of `port` among `processes`, leaks first (certain, suspected), then kept processes,
 * then the others, each by pid. A process whose sockets could not be read is not among them.
 */
export function portHolders(scan: Pick<MachineScan, 'certain' | 'suspected' | 'kept'>, processes: readonly ProcessInfo[], listening: ReadonlyMap<number, readonly ListeningEndpoint[]>, port: number): PortHolder[] {
  const inGroup = new Map<number, { kind: 'certain' | 'suspected'; group: LeakGroup; process: AttributedProcess }>();
  for (const kind of ['certain', 'suspected'] as const) for (const group of scan[kind]) for (const p of group.processes) inGroup.set(p.pid, { kind, group, process: p });
  const kept = new Set(scan.kept.map((p) => p.pid));
  const live = byPid(processes);
  const order = { certain: 0, suspected: 1, kept: 2, 'not-a-leak': 3 };
  const holders: PortHolder[] = [];
  for (const p of processes) {
    const on = (listening.get(p.pid) ?? []).filter((s) => s.port === port);
    if (on.length === 0) continue;
    const leak = inGroup.get(p.pid);
    if (leak) holders.push({ kind: leak.kind, process: leak.process, listening: on, group: leak.group });
    else if (kept.has(p.pid)) holders.push({ kind: 'kept', process: p, listening: on });
    else {
      const parent = parentOf(p, live);
      holders.push({ kind: 'not-a-leak', process: p, listening: on, ...(parent ? { parent } : {}) });
    }
  }
  return holders.sort((a, b) => order[a.kind] - order[b.kind] || a.process.pid - b.process.pid);
}
