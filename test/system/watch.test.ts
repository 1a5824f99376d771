// rtrack watch and Prometheus: real HTTP scrapes, promtool, and a real Prometheus server.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, scanMachine, type ScanReport } from '../../src/index.js';
import { startWatchServer } from '../../src/metrics.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { memoryStream } from '../helpers/fake-reader.js';
import { freePort } from '../helpers/ports.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';
import { requireOrSkip } from '../helpers/debian-tools.js';
import { promtool } from '../helpers/promtool.js';
import { total } from '../helpers/exposition.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const reader = createLinuxReader();
const examples = fileURLToPath(new URL('../../examples/prometheus/', import.meta.url));

interface Watch {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

async function startWatch(args: string[] = []): Promise<Watch> {
  const child = jar.spawn(process.execPath, [RTRACK, 'watch', '--port', '0', '--interval', '200ms', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  expect(await waitFor(() => /listening url=(\S+)/.test(stderr), 10_000)).toBe(true);
  return { child, url: /listening url=(\S+)/.exec(stderr)![1]!, stderr: () => stderr, exit };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A process tagged by a run that is gone: a certain leak. */
async function certainLeak(seconds: number): Promise<number> {
  const owner = jar.spawn('sleep', ['60']);
  const status = (await reader.readStatus(owner.pid!))!;
  owner.kill('SIGKILL');
  await waitFor(async () => (await reader.readStatus(status.pid))?.alive !== true);
  const [pid] = await jar.orphan(`sleep ${seconds} >/dev/null 2>&1 & echo $!`, { ...process.env, RESOURCE_TRACKER_TASK: formatTaskTag(status, 'feed') });
  return pid!;
}


describe('rtrack watch', () => {
  it('serves a tagged leak as a certain leak, and zero after it is gone; /healthz; 404; clean SIGTERM', async () => {
    const watch = await startWatch();
    expect(watch.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/); // loopback by default
    // The figures are the whole machine's, which may hold leaks of its own: count from where it stands.
    const certain = async (): Promise<number | undefined> => total(await scrape(watch.url), 'rtrack_leaked_processes', { kind: 'certain' });
    const baseline = (await certain())!;
    const leak = await certainLeak(420);
    let text = '';
    expect(await waitFor(async () => total((text = await scrape(watch.url)), 'rtrack_leaked_processes', { kind: 'certain' }) === baseline + 1)).toBe(true);
    expect(total(text, 'rtrack_leaked_resident_bytes', { kind: 'certain' })).toBeGreaterThan(0);
    expect(total(text, 'rtrack_processes')).toBeGreaterThan(1);
    expect(text).not.toContain('process_cpu_user_seconds_total'); // Node's own figures only with --runtime-metrics
    expect(text).not.toMatch(/pid=|command=/); // no high-cardinality labels
    const health = await fetch(watch.url.replace('/metrics', '/healthz'));
    expect([health.status, (await health.text()).split('\n')[0]]).toEqual([200, 'ok']);
    expect((await fetch(watch.url.replace('/metrics', '/nope'))).status).toBe(404);

    process.kill(leak, 'SIGKILL');
    expect(await waitFor(async () => (await certain()) === baseline)).toBe(true);

    watch.child.kill('SIGTERM');
    expect(await watch.exit).toBe(0);
    expect(watch.stderr()).toContain('rtrack watch stopping signal=SIGTERM');
  });

  it("Node's own figures only with --runtime-metrics; rtrack_build_info always", async () => {
    const plain = await startWatch();
    const without = await scrape(plain.url);
    plain.child.kill('SIGTERM');
    await plain.exit;
    expect(without).toMatch(/^rtrack_build_info\{version="\d+\.\d+\.\d+\S*",node="v\d+\.\d+\.\d+"\} 1$/m);
    expect(without).not.toMatch(/^(process|nodejs)_/m);
    const runtime = await startWatch(['--runtime-metrics']);
    const withThem = await scrape(runtime.url);
    runtime.child.kill('SIGTERM');
    await runtime.exit;
    expect(withThem).toMatch(/^process_cpu_user_seconds_total /m);
    expect(withThem).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('SIGINT stops it cleanly too', async () => {
    const watch = await startWatch();
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(0);
  });

  it('kept processes are their own figure, not leaks', async () => {
    // The figures are the whole machine's: compare them before and after our one kept process.
    const watch = await startWatch();
    const before = await scrape(watch.url);
    const keptBefore = total(before, 'rtrack_kept_processes')!;
    await jar.orphan('(RESOURCE_TRACKER_KEEP=1 exec -a "npx kept-by-env" sleep 421) >/dev/null 2>&1 & echo $!');
    let text = '';
    expect(await waitFor(async () => (total((text = await scrape(watch.url)), 'rtrack_kept_processes') ?? 0) > keptBefore)).toBe(true);
    // An agent-like orphan that were not kept would be a suspect: the count must not grow.
    expect(total(text, 'rtrack_leaked_processes', { kind: 'suspected' })).toBeLessThanOrEqual(total(before, 'rtrack_leaked_processes', { kind: 'suspected' })!);
    watch.child.kill('SIGTERM');
    await watch.exit;
  });

  it('a failed scan is logged and counted; the previous values stay served', async () => {
    let calls = 0;
    const good: ScanReport = {
      timestamp: new Date(), warnings: [], processCount: 42, totalMemoryMB: 1, totalMemoryBytes: 1048576, mcpProcessCount: 0, mcpMemoryMB: 0, mcpMemoryBytes: 0, certain: [], suspected: [], kept: [], leftoverCgroups: [],
    };
    const log = memoryStream();
    const server = await startWatchServer({
      port: 0,
      intervalMs: 50,
      logger: createLogger({ stream: log }),
      scan: async () => {
        calls++;
        if (calls > 1) throw new Error('cannot list /proc: EMFILE');
        return good;
      },
    });
    try {
      expect(await waitFor(() => calls >= 3)).toBe(true);
      const text = await scrape(server.url);
      expect(value(text, 'rtrack_processes{user=""}')).toBe(42); // a report without users: its totals, with no user label in Prometheus
      expect(value(text, 'rtrack_scan_errors_total')).toBeGreaterThanOrEqual(2);
      expect(log.lines.some((l) => l.startsWith('ERROR scan failed; serving the previous values error="cannot list /proc: EMFILE"'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('binds another address only when asked', async () => {
    const watch = await startWatch(['--host', '0.0.0.0']);
    expect(watch.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
    watch.child.kill('SIGTERM');
    await watch.exit;
  });

  it.each([
    [['watch', '--port', '70000'], /--port.*invalid/],
    [['watch', '--interval', 'soon'], /--interval.*invalid/],
  ])('bad option %j exits 2', async (args, pattern) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });
});

describe('scans carried one to the next (watch)', () => {
  it('the second scan reads the environments of new processes only, and still knows the leak it found by its tag', async () => {
    const leak = await certainLeak(650);
    const asked: (string | undefined)[] = [];
    const counting = {
      ...reader,
      readProcessTable: (o?: Parameters<typeof reader.readProcessTable>[0]) => {
        asked.push(o?.environment);
        return reader.readProcessTable(o);
      },
    };
    const cache = {};
    const first = await scanMachine({ reader: counting, cache, cpuSampleMs: 0 });
    const second = await scanMachine({ reader: counting, cache, cpuSampleMs: 0 });
    expect(asked).toEqual(['all', 'new']);
    for (const scan of [first, second]) expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).toContain(leak);
  });
});

describe('promtool', () => {
  it('accepts the scrape output', async () => {
    if (!requireOrSkip('promtool', 'prometheus')) return;
    await certainLeak(422);
    const watch = await startWatch();
    const text = await scrape(watch.url);
    watch.child.kill('SIGTERM');
    await watch.exit;
    const check = promtool(['check', 'metrics'], text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('accepts the example scrape config and alerting rules, and the alerts fire as tested', () => {
    if (!requireOrSkip('promtool', 'prometheus')) return;
    expect(promtool(['check', 'config', join(examples, 'prometheus.yml')]).status).toBe(0);
    expect(promtool(['check', 'rules', join(examples, 'alerts.yml')]).status).toBe(0);
    const test = promtool(['test', 'rules', join(examples, 'alerts.test.yml')]);
    expect(test.output).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('accepts run --metrics-file output, written atomically', async () => {
    if (!requireOrSkip('promtool', 'prometheus')) return;
    const dir = tempDir('textfile');
    const file = join(dir, 'rtrack.prom');
    const r = await runCli(['run', '--metrics-file', file, '--', 'bash', '-c', 'sleep 423 >/dev/null 2>&1 & echo $!']);
    await jar.adopt(Number(r.stdout.trim()));
    const text = readFileSync(file, 'utf8');
    expect(value(text, 'rtrack_run_orphans')).toBe(1);
    expect(value(text, 'rtrack_run_leaked_resident_bytes')).toBeGreaterThan(0);
    expect(value(text, 'rtrack_run_exit_code')).toBe(0);
    const check = promtool(['check', 'metrics'], text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['rtrack.prom']); // no temporary file left
  });
});

describe('a real Prometheus server scraping rtrack watch', () => {
  it('sees the certain-leak gauge through its HTTP API', async () => {
    if (!requireOrSkip('prometheus', 'prometheus')) return;
    const watch = await startWatch();
    const baseline = total(await scrape(watch.url), 'rtrack_leaked_processes', { kind: 'certain' })!; // the machine's own
    await certainLeak(424);
    const target = watch.url.replace('http://', '').replace('/metrics', '');
    const dir = tempDir('prometheus');
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: rtrack\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    const prometheus = jar.spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: 'ignore' });
    try {
      let result: unknown;
      const found = await waitFor(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('sum(rtrack_leaked_processes{kind="certain"})')}`);
          const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
          result = body.data?.result?.[0]?.value[1];
          return Number(result) === baseline + 1;
        } catch {
          return false;
        }
      }, 30_000, 250);
      expect(found, `last value ${String(result)}`).toBe(true);
    } finally {
      prometheus.kill('SIGTERM');
      watch.child.kill('SIGTERM');
      await watch.exit;
    }
  });
});
