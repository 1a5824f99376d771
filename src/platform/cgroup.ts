// Linux control groups (v2): a group of its own for each run, as systemd gives each unit. Every
// process the task starts stays in the group whatever it does (double-fork, setsid, env -i),
// `cgroup.procs` lists them exactly, and `cgroup.kill` (Linux 5.14+) kills the whole group at once,
// processes forked during the kill included.
//
// Where: the cgroup v2 hierarchy (`cgroup2` in /proc/self/mountinfo: /sys/fs/cgroup on pure-v2
// systems, /sys/fs/cgroup/unified on hybrid ones), below this process's own group when that
// directory is writable — root, or a subtree delegated to the user (`systemd-run --user --scope -p
// Delegate=yes`, a container runtime). Kernel rules respected: a process moves between groups only
// under a common ancestor the mover can write (the task moves from ours to our child), and a group
// with controllers enabled for its children holds no processes itself (ours holds us, so it has none).
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The mount point of the cgroup v2 hierarchy in a /proc/[pid]/mountinfo text; undefined when there is none. */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fsType = line.slice(separator + 3).split(' ')[0];
    if (fsType !== 'cgroup2') continue;
    const mountPoint = line.slice(0, separator).split(' ')[4];
    // mountinfo escapes space, tab, newline and backslash as octal (\040 …)
    if (mountPoint) return mountPoint.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  }
  return undefined;
}

/** This process's group in the v2 hierarchy, from a /proc/[pid]/cgroup text (`0::/path`). */
export function cgroupV2Path(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? undefined : line.slice(3).trim() || '/';
}

/** The name of a run's group: `rtrack-<tag>`. */
export const RUN_GROUP_PREFIX = 'rtrack-';

/** Whether a cgroup's name is a run's (`rtrack-rt3.…`, `rtrack-rt2.…`): not a unit such as `rtrack-watch.service`. */
export const isRunGroupName = (name: string): boolean => /^rtrack-rt[23]\./.test(name);

export interface CgroupLocation {
  /** The directory rtrack may create groups in (its own group). */
  parent: string;
}

/** How a user gets rtrack a cgroup of its own to make run groups in. */
export const CGROUP_HINT = 'run as root, or inside a delegated subtree: systemd-run --user --scope -p Delegate=yes rtrack run …';

/**
 * Where a run's group can be created, or why it cannot (one line), with how to get one where that
 * is the user's to change (`hint`). `mount` overrides the
 * hierarchy's location (tests; unusual mounts).
 */
export function locateCgroupParent(options: { mount?: string; procRoot?: string } = {}): CgroupLocation | { why: string; hint?: string } {
  if (process.platform !== 'linux') return { why: `control groups are a Linux feature (this is ${process.platform})` };
  const procRoot = options.procRoot ?? '/proc';
  let mount = options.mount;
  if (mount === undefined) {
    try {
      mount = findCgroup2Mount(readFileSync(`${procRoot}/self/mountinfo`, 'utf8'));
    } catch (err) {
      return { why: `cannot read ${procRoot}/self/mountinfo: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    if (mount === undefined) return { why: 'no cgroup v2 hierarchy is mounted' };
  }
  let own: string | undefined;
  try {
    own = cgroupV2Path(readFileSync(`${procRoot}/self/cgroup`, 'utf8'));
  } catch {
    own = undefined;
  }
  if (own === undefined) return { why: `this process is in no cgroup v2 group (${procRoot}/self/cgroup has no 0:: line)` };
  const parent = join(mount, own).replace(/(.)\/$/, '$1');
  if (!existsSync(join(parent, 'cgroup.procs'))) return { why: `${parent} is not a cgroup v2 group` };
  try {
    accessSync(parent, constants.W_OK);
    accessSync(join(parent, 'cgroup.procs'), constants.W_OK);
  } catch {
    return { why: `${parent} is not writable by this user`, hint: CGROUP_HINT };
  }
  return { parent };
}

/** One run's group. */
export class RunCgroup {
  readonly procsFile: string;

  private constructor(
    readonly path: string,
    private readonly parent: string,
  ) {
    this.procsFile = join(path, 'cgroup.procs');
  }

  /** Creates `<parent>/rtrack-<name>`; throws with the reason when the kernel refuses. */
  static create(location: CgroupLocation, name: string): RunCgroup {
    const path = join(location.parent, `${RUN_GROUP_PREFIX}${name}`);
    mkdirSync(path);
    return new RunCgroup(path, location.parent);
  }

  /** An existing group (a leftover found by scan). */
  static open(path: string): RunCgroup {
    return new RunCgroup(path, join(path, '..'));
  }

  /** The pids in the group now; [] when it is gone. */
  members(): number[] {
    try {
      return readFileSync(this.procsFile, 'latin1').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /**
   * The groups below this one that hold processes (a run started inside the run makes its own group
   * in it): `cgroup.kill` would kill their members too, judged or not.
   */
  populatedSubgroups(): string[] {
    let entries;
    try {
      entries = readdirSync(this.path, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.filter((e) => e.isDirectory()).map((e) => join(this.path, e.name)).filter((dir) => RunCgroup.open(dir).populated());
  }

  /** Whether any process is in the group or below it (`cgroup.events`). */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(readFileSync(join(this.path, 'cgroup.events'), 'latin1'));
    } catch {
      return false;
    }
  }

  /** Moves a process out, to the parent group (a kept process, before the group is killed). */
  moveOut(pid: number): boolean {
    try {
      writeFileSync(join(this.parent, 'cgroup.procs'), `${pid}\n`);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether one of these processes is in the group or below it (its `/proc/[pid]/cgroup` path is
   * the group's or under it). A process that cannot be read counts as in it.
   */
  holdsAnyOf(pids: readonly number[], procRoot = '/proc'): boolean {
    const mount = cgroup2Mount(procRoot);
    if (mount === undefined) return true;
    return pids.some((pid) => {
      let own: string | undefined;
      try {
        own = cgroupV2Path(readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8'));
      } catch (err) {
        return (err as NodeJS.ErrnoException).code !== 'ENOENT'; // gone: not in it; unreadable: may be
      }
      if (own === undefined) return false;
      const where = join(mount, own);
      return where === this.path || where.startsWith(`${this.path}/`);
    });
  }

  /**
   * Freezes the group (`cgroup.freeze`, Linux 5.2+): nothing in it runs, forks or execs until it is
   * thawed, so one look at it stays true while the look is acted on. A process moved out of a
   * frozen group runs again at once. Waits until the kernel says the group is frozen (`frozen 1`
   * in cgroup.events); false when the kernel has no freezer or the group did not freeze in time (a
   * process stuck in the kernel): then it is thawed again, and nothing may rest on it.
   */
  async freeze(waitMs = 1000): Promise<boolean> {
    try {
      writeFileSync(join(this.path, 'cgroup.freeze'), '1\n');
    } catch {
      return false;
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.frozen()) return true;
      if (Date.now() >= deadline) {
        this.thaw();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Whether the kernel says the group is frozen. */
  frozen(): boolean {
    try {
      return /^frozen 1$/m.test(readFileSync(join(this.path, 'cgroup.events'), 'latin1'));
    } catch {
      return false;
    }
  }

  /** Lets the group run again (never throws: a group that is gone is not frozen). */
  thaw(): void {
    try {
      writeFileSync(join(this.path, 'cgroup.freeze'), '0\n');
    } catch {
      // gone, or no freezer
    }
  }

  /**
   * Kills every process in the group, forks during the kill included (`cgroup.kill`, Linux 5.14+);
   * on older kernels SIGKILL to each member until none is left (bounded).
   */
  async kill(waitMs = 2000): Promise<boolean> {
    try {
      writeFileSync(join(this.path, 'cgroup.kill'), '1\n');
    } catch {
      for (const pid of this.members()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    return this.waitEmpty(waitMs);
  }

  /** Waits until `cgroup.events` says `populated 0` (zombies awaiting their parent count as gone: they leave the group). */
  async waitEmpty(waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    while (this.populated()) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Removes the (empty) group; false when it still holds processes or is gone already. */
  remove(): boolean {
    try {
      rmdirSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** The group's own memory figures, where the memory controller is enabled for it. */
  memory(): { currentBytes?: number; peakBytes?: number } {
    const read = (file: string): number | undefined => {
      try {
        const n = Number(readFileSync(join(this.path, file), 'latin1').trim());
        return Number.isFinite(n) ? n : undefined;
      } catch {
        return undefined;
      }
    };
    const figures: { currentBytes?: number; peakBytes?: number } = {};
    const current = read('memory.current');
    const peak = read('memory.peak');
    if (current !== undefined) figures.currentBytes = current;
    if (peak !== undefined) figures.peakBytes = peak;
    return figures;
  }

  /**
   * The CPU time the group's processes have used since it was made, in seconds (`cpu.stat`'s
   * `user_usec` and `system_usec`: there whether or not the cpu controller is enabled), the exited
   * ones included; undefined when it cannot be read.
   */
  cpu(): { userSeconds: number; systemSeconds: number } | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.path, 'cpu.stat'), 'latin1');
    } catch {
      return undefined;
    }
    const user = /^user_usec (\d+)$/m.exec(text)?.[1];
    const system = /^system_usec (\d+)$/m.exec(text)?.[1];
    if (user === undefined || system === undefined) return undefined;
    return { userSeconds: Number(user) / 1e6, systemSeconds: Number(system) / 1e6 };
  }
}

/** Every `rtrack-*` group under the hierarchy (leftovers of runs that could not clean up), to a bounded depth. */
export function findRunGroups(mount: string, maxDepth = 8): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (isRunGroupName(e.name)) found.push(path);
      else if (depth < maxDepth) walk(path, depth + 1);
    }
  };
  walk(mount, 0);
  return found;
}

/** The hierarchy's mount point on this machine, or undefined. */
export function cgroup2Mount(procRoot = '/proc'): string | undefined {
  try {
    return findCgroup2Mount(readFileSync(`${procRoot}/self/mountinfo`, 'utf8'));
  } catch {
    return undefined;
  }
}
