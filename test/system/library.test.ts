// The library as an orchestrator uses it: stopping a task (timeout, AbortSignal), config checked at
// construction, figures in bytes beside MB, start times in one unit.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ResourceTracker, runTracked, silentLogger, takeSnapshot } from '../../src/index.js';
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
      signal: controller.signal,
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
    const report = await runTracked('touch', [marker], { signal: controller.signal, logger: silentLogger });
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
