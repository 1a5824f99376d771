// What one `rtrack watch` may see and whom it speaks for. Pure: plain data in, verdicts out.
//   - its scope: every user's processes (root, or the capabilities to read and signal them) or its
//     own user's: watchScope
//   - a per-user watch's port: userPort
//   - whether it sees the host's processes or only a PID namespace's: isInitialPidNamespace
//   - a user's label, from /etc/passwd as platform/users.ts parses it: userLabel
//   - each user's figures, from a scan: figuresByUser
import { memoryBytesOf } from './memory.js';
import type { LeakGroup } from './machine-leaks.js';
import type { ProcessInfo } from '../types.js';

/** `system`: every user's processes, each user's figures labelled; `user`: the watch's own user's only. */
export type WatchScope = 'system' | 'user';

/** Linux capability numbers (linux/capability.h) a system-wide watch needs. */
export const CAPABILITY = { DAC_READ_SEARCH: 2, KILL: 5, SYS_PTRACE: 19 } as const;

/** What a process may do, as the OS tells it: its effective uid and capabilities (undefined where the OS has none). */
export interface Privileges {
  uid: number | undefined;
  /** Effective capabilities (Linux `CapEff`), as a bit set; undefined where not read. */
  capabilities?: bigint;
}

const has = (p: Privileges, cap: number): boolean => p.uid === 0 || (p.capabilities !== undefined && ((p.capabilities >> BigInt(cap)) & 1n) === 1n);

/**
 * Whether these privileges let a watch judge every user's processes: read their environments (tags,
 * session markers: CAP_SYS_PTRACE) and signal them (CAP_KILL), as root can. Reading the users' state
 * directories (mode 0700) takes CAP_DAC_READ_SEARCH as well: `readsOthersState` says whether it has it.
 */
export function systemPrivileges(p: Privileges): { system: boolean; readsOthersState: boolean; missing: string[] } {
  const missing = [...(has(p, CAPABILITY.SYS_PTRACE) ? [] : ['CAP_SYS_PTRACE']), ...(has(p, CAPABILITY.KILL) ? [] : ['CAP_KILL'])];
  return { system: missing.length === 0, readsOthersState: has(p, CAPABILITY.DAC_READ_SEARCH), missing };
}

/** The scope a watch runs in: the one asked for, or with `auto` system-wide when it may be (systemPrivileges). */
export function watchScope(asked: WatchScope | 'auto', p: Privileges): { scope: WatchScope } | { error: string } {
  const { system, missing } = systemPrivileges(p);
  if (asked === 'user') return { scope: 'user' };
  if (system) return { scope: 'system' };
  if (asked === 'auto') return { scope: 'user' };
  return { error: `--scope system needs root or ${missing.join(' and ')} (it reads and signals every user's processes); without them, --scope user watches your own` };
}

/** The port a system-wide watch listens on by default (Prometheus' registry of exporter ports: rtrack's). */
export const SYSTEM_PORT = 9464;
/** Per-user watches listen on this plus their uid by default (uid 1000 → 21000). */
export const USER_PORT_BASE = 20000;

/**
 * The port of a per-user watch: `base + uid`, so that every user's watch on a machine has its own
 * and Prometheus can name it; undefined when that is past 65535 (a uid above 45535): give --port.
 */
export function userPort(uid: number, base = USER_PORT_BASE): number | undefined {
  const port = base + uid;
  return Number.isSafeInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/**
 * The inode number of Linux's initial PID namespace, the host's (PROC_PID_INIT_INO, fixed since
 * Linux 3.8): `/proc/self/ns/pid` reads `pid:[4026531836]` in it, and another number in any other
 * (a container, `unshare --pid`), where only that namespace's processes can be seen.
 */
export const INITIAL_PID_NAMESPACE = '4026531836';

/** Whether a PID namespace (its inode number, as `readPidNamespaceId` gives it) is the host's; undefined when unknown. */
export function isInitialPidNamespace(namespace: string | undefined): boolean | undefined {
  return namespace === undefined ? undefined : namespace === INITIAL_PID_NAMESPACE;
}

/** One user of /etc/passwd. */
export interface PasswdUser {
  name: string;
  uid: number;
  home: string;
}

/** A user's label: their name, or their uid as text when no name is known. */
export const userLabel = (uid: number | undefined, users: ReadonlyMap<number, PasswdUser>): string => (uid === undefined ? 'unknown' : (users.get(uid)?.name ?? String(uid)));

/** One kind of leak (certain or suspected) of one user. */
export interface LeakFigures {
  processes: number;
  residentBytes: number;
  /** Groups whose root is the user's. */
  groups: number;
  oldestAgeSeconds: number;
  pssBytes: number;
  /** CPU the leaked processes use, in cores (1 = one core busy). */
  cpuCores: number;
  spinning: number;
}

/** What `rtrack watch` serves of one user. */
export interface UserFigures {
  processes: number;
  residentBytes: number;
  mcpProcesses: number;
  mcpResidentBytes: number;
  kept: number;
  keptResidentBytes: number;
  certain: LeakFigures;
  suspected: LeakFigures;
}

const bytesOf = memoryBytesOf;
const noLeaks = (): LeakFigures => ({ processes: 0, residentBytes: 0, groups: 0, oldestAgeSeconds: 0, pssBytes: 0, cpuCores: 0, spinning: 0 });
const emptyFigures = (): UserFigures => ({ processes: 0, residentBytes: 0, mcpProcesses: 0, mcpResidentBytes: 0, kept: 0, keptResidentBytes: 0, certain: noLeaks(), suspected: noLeaks() });

/**
 * Each user's figures from a scan: every process counts for the user it runs as (`userOf`), a leak
 * group for its root's user, and only the users `include` accepts are kept (a per-user watch: its
 * own). Every user with a process has both kinds of leak, at 0 when none. Summed over users, nothing
 * counts twice.
 */
export function figuresByUser(
  scan: { processes: readonly ProcessInfo[]; certain: readonly Pick<LeakGroup, 'root' | 'ageSeconds' | 'processes'>[]; suspected: readonly Pick<LeakGroup, 'root' | 'ageSeconds' | 'processes'>[]; kept: readonly ProcessInfo[] },
  userOf: (pid: number) => string,
  include: (user: string) => boolean = () => true,
): Map<string, UserFigures> {
  const users = new Map<string, UserFigures>();
  const of = (pid: number): UserFigures | undefined => {
    const user = userOf(pid);
    if (!include(user)) return undefined;
    let figures = users.get(user);
    if (!figures) users.set(user, (figures = emptyFigures()));
    return figures;
  };
  for (const p of scan.processes) {
    const f = of(p.pid);
    if (!f) continue;
    f.processes++;
    f.residentBytes += bytesOf(p);
    if (p.isMCP) {
      f.mcpProcesses++;
      f.mcpResidentBytes += bytesOf(p);
    }
  }
  for (const p of scan.kept) {
    const f = of(p.pid);
    if (!f) continue;
    f.kept++;
    f.keptResidentBytes += bytesOf(p);
  }
  for (const kind of ['certain', 'suspected'] as const) {
    for (const group of scan[kind]) {
      const root = of(group.root.pid);
      if (root) {
        root[kind].groups++;
        root[kind].oldestAgeSeconds = Math.max(root[kind].oldestAgeSeconds, group.ageSeconds);
      }
      for (const p of group.processes) {
        const f = of(p.pid);
        if (!f) continue;
        const k = f[kind];
        k.processes++;
        k.residentBytes += bytesOf(p);
        // As costTotals adds them up: PSS, RSS where PSS could not be read.
        k.pssBytes += p.cost?.pssBytes ?? bytesOf(p);
        k.cpuCores += (p.cost?.cpuPercent ?? 0) / 100;
        if (p.cost?.spinning) k.spinning++;
      }
    }
  }
  return users;
}
