// A task's own account beside the seed's machine-wide figures (issue 33 #3): two tasks at once, P
// allocating 10 MB and Q 200 MB, got P flagged (`memoryDeltaMB: 339.2`) and Q not, because memory
// was judged machine-wide only. Each report now carries the task's own tree's memory and CPU; the
// machine figure keeps the seed's name and meaning.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, runTracked, silentLogger } from '../../src/index.js';
import { memoryStream } from '../helpers/fake-reader.js';
import { ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

/** A node process that holds `mb` MB (touched) for `ms`, then exits. */
const holding = (mb: number, ms: number): string[] => ['-e', `const b = Buffer.alloc(${mb} * 1024 * 1024, 1); setTimeout(() => b.length, ${ms})`];

describe("the task's own memory", () => {
  it('two tasks at once, 10 MB and 200 MB: each report has its own figure, and the per-task threshold flags the one that grew', async () => {
    const logs = { p: memoryStream(), q: memoryStream() };
    // Sampled every 250 ms (the default): reading a 250 MB process's PSS takes a few ms, within the
    // 2 % of the time the account may spend on it, so PSS is read at every sample.
    const config = { taskMemoryThresholdMB: 120 };
    const [p, q] = await Promise.all([
      runTracked(process.execPath, holding(10, 1600), { config, logger: createLogger({ stream: logs.p }), stdio: 'ignore' }),
      runTracked(process.execPath, holding(200, 1600), { config, logger: createLogger({ stream: logs.q }), stdio: 'ignore' }),
    ]);
    expect(q.account?.memory.peakMB).toBeGreaterThan(195);
    expect(q.account?.memory.peakMB).toBeLessThan(320);
    expect(p.account?.memory.peakMB).toBeGreaterThan(5);
    expect(p.account?.memory.peakMB).toBeLessThan(100);
    // PSS where reading it stayed within its budget (on a loaded machine it may not): RSS otherwise.
    expect(['pss', 'rss']).toContain(q.account?.memory.source);
    expect(q.account?.memory).toMatchObject({ thresholdMB: 120, exceeded: true });
    expect(p.account?.memory).toMatchObject({ thresholdMB: 120, exceeded: false });
    expect(q.account!.memory.peakRssBytes).toBeGreaterThanOrEqual(q.account!.memory.peakPssBytes!);
    expect(logs.q.lines.filter((l) => l.startsWith('WARN task memory exceeded threshold'))).toEqual([expect.stringMatching(/^WARN task memory exceeded threshold peak_mb=\d+\.\d threshold_mb=120 source=(pss|rss) tag=rt3\./)]);
    expect(logs.p.lines.some((l) => l.includes('task memory exceeded'))).toBe(false);
    // The seed's machine-wide figures stay what they were: the same name, the whole machine.
    for (const r of [p, q]) expect(r.memoryDeltaMB).toBeCloseTo((r.after!.totalMemoryBytes - r.before!.totalMemoryBytes) / 1024 / 1024, 6);
  });

  it('a task that allocates nothing while the machine grows by 150 MB: its own peak stays small', async () => {
    let bystander: ReturnType<typeof spawn> | undefined;
    const report = await runTracked('sleep', ['0.8'], {
      config: { lineageIntervalMs: 50, memoryThresholdMB: 100 },
      logger: silentLogger,
      stdio: 'ignore',
      // Someone else's load, started while the task runs and alive at the after snapshot.
      onSpawn: () => {
        bystander = jar.spawn(process.execPath, holding(150, 10_000));
      },
    });
    bystander?.kill('SIGKILL');
    expect(report.memoryDeltaMB).toBeGreaterThan(100); // the machine grew: the seed's warning, as before
    expect(report.memoryGrowthExceeded).toBe(true);
    expect(report.account?.memory.peakMB).toBeLessThan(10); // the task did not
    expect(report.account?.memory.thresholdMB).toBeUndefined(); // opt-in
  });
});

describe("the task's own CPU time", () => {
  // A fixed amount of work in a child, then the shell's own `times`: its CPU and its children's, as
  // getrusage gives them — the figure to compare with, whatever else the machine is doing.
  const script = 'bash -c "i=0; while [ \\$i -lt 150000 ]; do i=\\$((i+1)); done"; times';
  for (const cgroup of ['auto', 'off'] as const) {
    it(`a task whose child counts to 150,000 (cgroup ${cgroup}): from the ${cgroup === 'auto' ? "cgroup's cpu.stat" : 'samples'}, as its own getrusage says`, async () => {
      let out = '';
      const report = await runTracked('bash', ['-c', script], {
        config: { lineageIntervalMs: 50 },
        logger: silentLogger,
        stdio: ['ignore', 'pipe', 'inherit'],
        cgroup,
        onSpawn: (child) => child.stdout!.on('data', (d: Buffer) => (out += d.toString())),
      });
      const seconds = [...out.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
      expect(seconds).toBeGreaterThan(0.1);
      expect(report.account?.cpu.source).toBe(cgroup === 'auto' && report.cgroup ? 'cgroup' : 'samples');
      if (report.account!.cpu.source === 'cgroup') {
        // Exact, but for /proc's and the shell's 10 ms ticks.
        expect(Math.abs(report.account!.cpu.seconds - seconds)).toBeLessThan(0.06);
      } else {
        // A lower bound: it misses what was used after the last sample (50 ms apart, more when the
        // machine is busy), never more than there was.
        expect(report.account!.cpu.seconds).toBeLessThan(seconds + 0.05);
        expect(report.account!.cpu.seconds).toBeGreaterThan(seconds - 0.25);
      }
      expect(report.account!.cpu.userSeconds + report.account!.cpu.systemSeconds).toBeCloseTo(report.account!.cpu.seconds, 2);
    });
  }
});

describe('what its leaks still hold', () => {
  it('a leaked sleeper: one process, its RSS and PSS', async () => {
    const report = await runTracked('bash', ['-c', 'sleep 337 >/dev/null 2>&1 &'], { logger: silentLogger, stdio: 'ignore' });
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.account?.leaked).toEqual({ processes: 1, rssBytes: report.orphans[0]!.memoryBytes, pssBytes: report.orphans[0]!.cost!.pssBytes });
    expect(report.account!.leaked.pssBytes).toBeGreaterThan(0);
  });

  it('a task that ends before its first sample still has an account: its memory unknown (source none), its cgroup CPU exact', async () => {
    const report = await runTracked('true', [], { logger: silentLogger, stdio: 'ignore' });
    expect(report.account).toBeDefined();
    if (report.account!.samples === 0) expect(report.account!.memory).toMatchObject({ source: 'none', peakBytes: 0 });
    if (report.cgroup) expect(report.account!.cpu.source).toBe('cgroup');
    expect(report.account!.leaked).toEqual({ processes: 0, rssBytes: 0, pssBytes: 0 });
  });
});
