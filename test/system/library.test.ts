// The library as an orchestrator uses it: stopping a task (timeout, AbortSignal), config checked at
// construction, figures in bytes beside MB, start times in one unit.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, identityKey, reapOrphans, ResourceTracker, runTracked, silentLogger, takeSnapshot, type RunningLeak, type TaskReport } from '../../src/index.js';
import { ProcessJar } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

describe('runTracked stops a task as execa does', () => {
  it('timeout: SIGTERM after the time, and the report says so', async () => {
    const started = Date.now();
    const report = await runTracked('sleep', ['30'], { timeout: 200, logger: silentLogger, stdio: 'ignore' });
    expect(report).toMatchObject({ stoppedBy: 'timeout', signal: 'SIGTERM', exitCode: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(report.after).not.toBeNull();
  });

  it('signal: aborting stops the task; one that ignores SIGTERM gets SIGKILL after forceKillAfterMs', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const report = await runTracked('bash', ['-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], {
      abortSignal: controller.signal,
      forceKillAfterMs: 300,
      logger: silentLogger,
      stdio: 'ignore',
      reap: { graceMs: 200 },
    });
    expect(report).toMatchObject({ stoppedBy: 'abort', signal: 'SIGKILL' });
    // the sleep it started is its orphan, and was reaped
    expect(report.orphans.map((p) => p.command)).toContain('sleep 30');
    expect(report.reaped?.every((r) => ['terminated', 'killed', 'gone'].includes(r.result))).toBe(true);
  });

  it('an already aborted signal: the task is not started, the report says why', async () => {
    const marker = join(tempDir('abort'), 'started');
    const controller = new AbortController();
    controller.abort();
    const report = await runTracked('touch', [marker], { abortSignal: controller.signal, logger: silentLogger });
    expect(report).toMatchObject({ stoppedBy: 'abort', error: 'aborted before the task started', exitCode: null });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('new ResourceTracker(config) checks its config as loadConfig does', () => {
  it.each([
    [{ memoryThresholdMB: -1 }, 'config: memoryThresholdMB: expected a number of 0 or more'],
    [{ enabled: 'yes' }, 'config: enabled: expected a boolean (true or false)'],
    [{ keep: ['(unclosed'] }, /^config: keep\[0\]: invalid regular expression/],
    [{ lineageIntervalMs: 1 }, 'config: lineageIntervalMs: expected a whole number of milliseconds from 10 to 60000'],
    [{ threshold: 5 }, 'config: unknown key threshold'],
  ])('%j', (config, message) => {
    let error: unknown;
    try {
      new ResourceTracker(config as never, silentLogger);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    if (typeof message === 'string') expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  });

  it('a partial config takes the defaults for the rest', () => {
    expect(new ResourceTracker({ memoryThresholdMB: 5 }, silentLogger).config).toMatchObject({ memoryThresholdMB: 5, enabled: true, lineageIntervalMs: 250, keepSharedDaemons: true });
  });
});

describe('figures', () => {
  it('bytes beside MB, and start times in ms since the epoch everywhere', async () => {
    const snapshot = await takeSnapshot();
    let bytes = 0;
    for (const p of snapshot.processes) {
      expect(p.memoryBytes).toBe(p.memoryMB * 1024 * 1024);
      bytes += p.memoryBytes!;
      expect(p.startTime).toBeGreaterThan(Date.parse('2000-01-01'));
      expect(p.startTime).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(snapshot.totalMemoryBytes).toBe(bytes);
    const me = snapshot.processes.find((p) => p.pid === process.pid)!;
    expect(Math.abs(me.startTime - (Date.now() - process.uptime() * 1000))).toBeLessThan(2000);
  });
});

describe('how a task ended: a discriminated report (issue 33 #7)', () => {
  it.each([
    ['exited 0', 'true', [], {}, { outcome: 'exited', exitCode: 0, signal: null }],
    ['exited 3', 'sh', ['-c', 'exit 3'], {}, { outcome: 'exited', exitCode: 3, signal: null }],
    ['signalled', 'sh', ['-c', 'kill -USR1 $$'], {}, { outcome: 'signalled', exitCode: null, signal: 'SIGUSR1' }],
    ['timed out', 'sleep', ['30'], { timeout: 150 }, { outcome: 'timed-out', stoppedBy: 'timeout', signal: 'SIGTERM' }],
    ['timeout 0 is no timeout, as in execa (it killed the task at once)', 'sleep', ['0.3'], { timeout: 0 }, { outcome: 'exited', exitCode: 0 }],
    ['timeout Infinity is no timeout', 'sleep', ['0.1'], { timeout: Infinity }, { outcome: 'exited', exitCode: 0 }],
  ] as const)('%s', async (_name, command, args, options, expected) => {
    const report = await runTracked(command, [...args], { ...options, logger: silentLogger, stdio: 'ignore' });
    expect(report).toMatchObject(expected);
    if (report.outcome === 'signalled') expect(report.signal).toBe('SIGUSR1'); // typed NodeJS.Signals here, narrowed by outcome
  });

  it('aborted while it runs', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const report = await runTracked('sleep', ['30'], { abortSignal: controller.signal, logger: silentLogger, stdio: 'ignore' });
    expect(report).toMatchObject({ outcome: 'aborted', stoppedBy: 'abort', signal: 'SIGTERM' });
  });
});

describe('options are checked at the call (issue 33 #6: NaN, -1 and 0 killed the task at once; -1 grace was taken)', () => {
  const marker = join(tempDir('options'), 'started');
  it.each([
    [{ timeout: Number.NaN }, RangeError, /runTracked: options\.timeout must be a number of milliseconds from 0 to 2147483647, or Infinity \(got NaN\)/],
    [{ timeout: -1 }, RangeError, /options\.timeout .*got -1/],
    [{ timeout: 2 ** 31 }, RangeError, /options\.timeout/],
    [{ timeout: '5' }, TypeError, /options\.timeout must be a number/],
    [{ forceKillAfterMs: -1 }, RangeError, /options\.forceKillAfterMs/],
    [{ killSignal: 'SIGFOO' }, RangeError, /options\.killSignal must be a signal name .*not a signal of this OS/],
    [{ killSignal: 9 }, TypeError, /options\.killSignal/],
    [{ reap: { graceMs: -1 } }, RangeError, /options\.reap\.graceMs/],
    [{ reap: { firstSignal: 'TERM' } }, RangeError, /options\.reap\.firstSignal/],
    [{ reap: { signal: 'SIGKILL' } }, TypeError, /options\.reap\.signal is not an option: pass the first signal as firstSignal/],
    [{ signal: new AbortController().signal }, TypeError, /options\.signal is not an option: pass the AbortSignal as options\.abortSignal/],
    [{ abortSignal: 'stop' }, TypeError, /options\.abortSignal must be an AbortSignal/],
    [{ cpuSampleMs: -5 }, RangeError, /options\.cpuSampleMs/],
    [{ cgroup: 'yes' }, TypeError, /options\.cgroup must be one of 'auto', 'required', 'off'/],
    [{ onLeak: 'log' }, TypeError, /options\.onLeak must be a function/],
    [{ cwd: 42 }, TypeError, /options\.cwd must be a path/],
  ])('%j', async (options, kind, message) => {
    const call = runTracked('touch', [marker], { ...(options as object), logger: silentLogger });
    await expect(call).rejects.toThrow(kind);
    await expect(call).rejects.toThrow(message);
    expect(existsSync(marker)).toBe(false); // nothing was started
  });

  it('reapOrphans checks its options and processes too', async () => {
    await expect(reapOrphans([], { graceMs: -1 })).rejects.toThrow(/reapOrphans: options\.graceMs .*got -1/);
    await expect(reapOrphans([{ pid: Number.NaN } as never])).rejects.toThrow(RangeError);
    await expect(reapOrphans('1234' as never)).rejects.toThrow(TypeError);
  });
});

describe('aborting the run also cuts the grace period of its reaping (issue 33 #7)', () => {
  it('a leak that ignores SIGTERM, a 15 s grace: aborted while reaping, it is killed at once', async () => {
    const controller = new AbortController();
    let reported = 0;
    const report = await runTracked('bash', ['-c', `(trap '' TERM; exec -a stubborn-33 sleep 330) >/dev/null 2>&1 &`], {
      abortSignal: controller.signal,
      logger: silentLogger,
      stdio: 'ignore',
      reap: { graceMs: 15_000 },
      onReport: (r) => {
        for (const p of r.orphans) void jar.adopt(p.pid);
        reported = Date.now();
        setTimeout(() => controller.abort(), 200);
      },
    });
    expect(Date.now() - reported).toBeLessThan(5_000);
    expect(report.outcome).toBe('exited'); // the task itself had exited: the abort came while reaping
    const stubborn = report.orphans.find((p) => p.command === 'stubborn-33 330')!;
    expect(report.reaped?.find((r) => r.pid === stubborn.pid)).toMatchObject({ result: 'killed', signals: ['SIGTERM', 'SIGKILL'] });
  });
});

describe('a library is silent unless given a logger (issue 33 #7: INFO lines on the host program\'s stderr)', () => {
  it('runTracked and a ResourceTracker without a logger write nothing', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let report: TaskReport;
    try {
      report = await runTracked('bash', ['-c', 'sleep 332 >/dev/null 2>&1 &'], { stdio: 'ignore', cgroup: 'off' });
      const tracker = new ResourceTracker();
      await tracker.snapshotBefore();
      await tracker.snapshotAfter();
      tracker.detectOrphans();
      tracker.checkMemoryGrowth();
      tracker.reset();
    } finally {
      process.stderr.write = write;
    }
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.orphans).toHaveLength(1);
    expect(written).toEqual([]);
  });
});

describe("'pipe' output nobody reads never blocks the task (issue 33 #7: a 200 MB writer waited for the timeout)", () => {
  it('200 MB to stdout with no consumer: the task exits by itself', async () => {
    const report = await runTracked('head', ['-c', String(200 * 1024 * 1024), '/dev/zero'], { stdio: 'pipe', timeout: 8_000, logger: silentLogger });
    expect(report).toMatchObject({ outcome: 'exited', exitCode: 0 });
  });

  it('a consumer attached in onSpawn gets every byte', async () => {
    let bytes = 0;
    const report = await runTracked('head', ['-c', '3000000', '/dev/zero'], {
      stdio: 'pipe',
      logger: silentLogger,
      onSpawn: (child) => child.stdout!.on('data', (d: Buffer) => (bytes += d.length)),
    });
    expect(report.outcome).toBe('exited');
    await new Promise((resolve) => setImmediate(resolve));
    expect(bytes).toBe(3_000_000);
  });
});

describe('leaks heard while the task runs: onLeak (issue 33 #7)', () => {
  it('a process re-parented out of the running task is heard before the task exits, with the identity its report gives it', async () => {
    const heard: { leak: RunningLeak; at: number }[] = [];
    let exitedAt = 0;
    const report = await runTracked('bash', ['-c', 'bash -c "(exec -a heard-33 sleep 333) >/dev/null 2>&1 & sleep 0.4"; sleep 1.2'], {
      config: { lineageIntervalMs: 50 },
      logger: silentLogger,
      stdio: 'ignore',
      cgroup: 'off',
      onLeak: (leak) => heard.push({ leak, at: Date.now() }),
      onExit: () => (exitedAt = Date.now()),
      reap: { graceMs: 500 },
    });
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(heard.map((h) => h.leak.command)).toEqual(['heard-33 333']);
    expect(heard[0]!.at).toBeLessThan(exitedAt);
    expect(heard[0]!.leak).toMatchObject({ ppid: expect.any(Number), tag: report.tag });
    const orphan = report.orphans.find((p) => p.command === 'heard-33 333')!;
    expect(identityKey(orphan)).toBe(heard[0]!.leak.identity);
  });
});

describe('what a leak costs, without a fixed 200 ms CPU sample (issue 33 #5)', () => {
  it('by default no sample is taken: PSS, USS and CPU time are there, the CPU share is not', async () => {
    const report = await runTracked('bash', ['-c', 'sleep 334 >/dev/null 2>&1 &'], { logger: silentLogger, stdio: 'ignore', cgroup: 'off' });
    for (const p of report.orphans) await jar.adopt(p.pid);
    const cost = report.orphans[0]!.cost!;
    expect(cost.pssBytes).toBeGreaterThan(0);
    expect(cost.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(cost.cpuPercent).toBeUndefined();
    expect(report.leakCost?.pssBytes).toBeGreaterThan(0);
  });

  it('cpuSampleMs asks for one', async () => {
    const report = await runTracked('bash', ['-c', 'sleep 335 >/dev/null 2>&1 &'], { logger: silentLogger, stdio: 'ignore', cgroup: 'off', cpuSampleMs: 50 });
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.orphans[0]!.cost).toMatchObject({ cpuPercent: 0, spinning: false });
  });

  it("a tracker's analyze() fills in each verdict's cost", async () => {
    const tracker = new ResourceTracker({ lineageIntervalMs: 50 });
    await tracker.snapshotBefore();
    const child = spawn('bash', ['-c', 'sleep 336 >/dev/null 2>&1 &'], { env: tracker.taskEnv(), stdio: 'ignore' });
    await tracker.followTask(child);
    await new Promise((resolve) => child.on('exit', resolve));
    await tracker.snapshotAfter();
    const { orphans } = await tracker.analyze();
    for (const p of orphans) await jar.adopt(p.pid);
    tracker.reset();
    expect(orphans).toHaveLength(1);
    expect(orphans[0]!.cost?.pssBytes).toBeGreaterThan(0);
  });
});

describe('what a run kept is on record before the run is over for anyone else (review: a scan in between took it for an over run\'s leak)', () => {
  it('when runTracked records what it kept, its run file is still held: its tag is a live run\'s to every other look', async () => {
    const { createLinuxReader } = await import('../../src/platform/linux.js');
    const real = createLinuxReader();
    let armed = false;
    let heldWhenRecorded: boolean | undefined;
    // recordKept asks for the boot id first: at that moment, is the run still in progress?
    const reader = new Proxy(real, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (key === 'readBootId') {
          return () => {
            if (armed) {
              armed = false;
              // the run's file (rtrack-run-<random>, unlinked at once), held while the run is in progress
              heldWhenRecorded = (real.readOpenFiles!(process.pid) ?? []).some((f) => /\/rtrack-run-[0-9a-f]+ \(deleted\)$/.test(f));
            }
            return real.readBootId!();
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = await runTracked('bash', ['-c', 'setsid bash -c "exec -a my-db-9 sleep 709" </dev/null >/dev/null 2>&1 & sleep 0.3'], {
      reader,
      cgroup: 'off',
      config: { keep: ['^my-db-9'] },
      state: tempDir('state'),
      onSpawn: () => undefined,
      onExit: () => {
        armed = true;
      },
    });
    for (const p of report.kept) await jar.adopt(p.pid);
    expect(report.kept.map((p) => p.command)).toContain('my-db-9 709');
    expect(heldWhenRecorded).toBe(true);
  });
});
