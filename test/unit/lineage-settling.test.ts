// A fork caught by run's lineage before its exec carries its parent's command line and environment,
// not the keep marker it execs with (`RESOURCE_TRACKER_KEEP=1 launcher &`): it is judged again at
// the next poll, so what it starts stays kept after it exits.
import { describe, expect, it } from 'vitest';
import type { EnvMarkers, PlatformReader, ProcessStatus } from '../../src/platform/types.js';
import { mayNotHaveExeced } from '../../src/rules/settling.js';
import { Lineage } from '../../src/tracking/lineage.js';

/** A task (pid 10) whose child (pid 11) is seen once as a fork of it, then as the kept launcher it exec'd. */
function forkThenExec(): PlatformReader & { exec(): void } {
  let execd = false;
  const procs: Record<number, ProcessStatus> = {
    10: { pid: 10, ppid: 1, startTime: 100, alive: true },
    11: { pid: 11, ppid: 10, startTime: 101, alive: true },
  };
  const reader: Partial<PlatformReader> = {
    platform: 'linux',
    readsEnvironment: true,
    async readStatus(pid) {
      return procs[pid];
    },
    async readStatuses(pids) {
      return new Map(pids.map((pid) => [pid, procs[pid] ?? undefined] as [number, ProcessStatus]).filter(([, s]) => s !== undefined));
    },
    async readChildren(pids) {
      return Object.values(procs).filter((p) => pids.includes(p.ppid));
    },
    async readEnvMarkers(pid): Promise<EnvMarkers> {
      return { keep: pid === 11 && execd, task: 't' };
    },
    readCommandLine(pid) {
      if (pid === 10) return 'bash -c task';
      return execd ? 'launcher --serve' : 'bash -c task';
    },
  };
  return Object.assign(reader as PlatformReader, { exec: () => (execd = true) });
}

describe('run\'s lineage and a fork caught before its exec', () => {
  it('is judged again at the next poll: the keep marker it exec\'d with is recorded', async () => {
    const reader = forkThenExec();
    const lineage = new Lineage(reader, 10, 60_000);
    await lineage.start(); // the first poll sees pid 11 as a copy of its parent
    const record = [...lineage.seen.values()].find((r) => r.pid === 11)!;
    expect(record.keep).toBeUndefined();
    reader.exec(); // RESOURCE_TRACKER_KEEP=1 launcher --serve
    await lineage.stop(); // the last poll: judged again
    expect(record.keep).toBe(true);
  });

  it('mayNotHaveExeced: no command line, its parent\'s, or a parent that cannot be read', () => {
    expect(mayNotHaveExeced(undefined, 'bash')).toBe(true);
    expect(mayNotHaveExeced('', 'bash')).toBe(true);
    expect(mayNotHaveExeced('bash -c x', 'bash -c x')).toBe(true);
    expect(mayNotHaveExeced('sleep 5', undefined)).toBe(true);
    expect(mayNotHaveExeced('sleep 5', 'bash -c x')).toBe(false);
    // A wrapper about to exec what it was given: what runs (and a keep pattern's match) is yet to come.
    expect(mayNotHaveExeced('nohup sleep 4242', 'bash -c x')).toBe(true);
    expect(mayNotHaveExeced('/usr/bin/env RESOURCE_TRACKER_KEEP=1 node server.js', 'bash -c x')).toBe(true);
    expect(mayNotHaveExeced('setsid -f sleep 1', 'bash')).toBe(true);
    expect(mayNotHaveExeced('nohup', 'bash')).toBe(false); // nothing to exec
    expect(mayNotHaveExeced('envoy --config x', 'bash')).toBe(false);
  });
});
