// Real processes for tests: every pid a test starts or learns about is recorded with its identity,
// and cleanup() kills exactly those (by pid, only if the start time still matches) — never by name.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createLinuxReader } from '../../src/platform/linux.js';
import { takeSnapshot } from '../../src/tracking/snapshot.js';
import { parseTaskTag } from '../../src/tracking/task-tag.js';
import type { ProcessIdentity } from '../../src/types.js';

const reader = createLinuxReader();

export async function readIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  const status = await reader.readStatus(pid);
  return status && status.alive ? { pid: status.pid, startTime: status.startTime } : undefined;
}

export async function isAlive(pid: number): Promise<boolean> {
  return (await readIdentity(pid)) !== undefined;
}

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return condition();
}

export class ProcessJar {
  private readonly recorded: ProcessIdentity[] = [];
  private readonly children: ChildProcess[] = [];

  /** Records a pid (with its current start time) for cleanup. */
  async adopt(pid: number): Promise<ProcessIdentity | undefined> {
    const identity = await readIdentity(pid);
    if (identity) this.recorded.push(identity);
    return identity;
  }

  /** Records a process and all its current descendants. */
  async adoptTree(pid: number): Promise<number[]> {
    const found = [pid];
    await this.adopt(pid);
    for (let i = 0; i < found.length; i++) {
      for (const child of await reader.readChildren([found[i]!])) {
        found.push(child.pid);
        await this.adopt(child.pid);
      }
    }
    return found;
  }

  spawn(command: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: 'ignore', ...options });
    this.children.push(child);
    if (child.pid) void this.adopt(child.pid);
    return child;
  }

  /**
   * Runs a shell script that starts background processes and prints their pids (one per line,
   * e.g. `sleep 300 >/dev/null 2>&1 & echo $!`), then exits: the printed processes are orphaned.
   */
  async orphan(script: string, env: NodeJS.ProcessEnv = process.env): Promise<number[]> {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], env });
    this.children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    const pids = out.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) await this.adopt(pid);
    return pids;
  }

  /** Kills every recorded process whose identity still matches, and waits until they are gone. */
  async cleanup(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const id of this.recorded) {
      const now = await readIdentity(id.pid);
      if (now && now.startTime === id.startTime) {
        try {
          process.kill(id.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await waitFor(async () => {
      for (const id of this.recorded) {
        const now = await readIdentity(id.pid);
        if (now && now.startTime === id.startTime) return false;
      }
      return true;
    }, 5000);
    this.recorded.length = 0;
    this.children.length = 0;
  }
}

/** The pids of the processes that carry this task tag in their environment: a run's own, found to clean up after a failure (zombies carry none). */
export function carryingTag(tag: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`RESOURCE_TRACKER_TASK=${tag}`)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Runs a Node program (a host of the library: an orchestrator, a long-life loop) to its end: its
 * exit code, output and error; and adopts for cleanup whatever its runs left — the processes whose
 * task tag its pid owns — returning them (a host that cleans up after itself leaves none).
 */
export async function runLibraryHost(jar: ProcessJar, args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; out: string; err: string; left: number[] }> {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const left = (await takeSnapshot({ environment: 'all' })).processes.filter((p) => p.taskTag !== undefined && parseTaskTag(p.taskTag)?.pid === child.pid).map((p) => p.pid);
  for (const pid of left) await jar.adopt(pid);
  return { code, out, err, left };
}
