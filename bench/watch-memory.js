#!/usr/bin/env node
// node bench/watch-memory.js [--minutes 60] [--processes 1000] [--interval 1000] [--churn 0] [--warmup 5]
//                            [--watch-env NAME=VALUE]   (after npm run build)
// What `rtrack watch` holds over time: the real CLI scanning a machine with N extra sleeping
// processes (realistic command lines) at the given interval, and optionally C process births a second
// (short-lived `true`s started by a shell loop), against a bare Node process that serves one HTTP
// endpoint, both scraped every 15 s, sampled side by side every 10 s. Prints resident memory at the
// end, the ratio, and the growth after the warm-up (a least-squares slope, MB an hour), with the
// watch's own JS heap (from its /metrics). HOME and XDG_* are a temporary directory; every process it
// started is killed by pid (the churn loop by its process group), however it ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MINUTES = option('--minutes', 60);
const N = option('--processes', 1000);
const INTERVAL = option('--interval', 1000);
const CHURN = option('--churn', 0);
const WARMUP_MINUTES = option('--warmup', 5);
// One more variable in the watch's environment only (e.g. NODE_OPTIONS=--v8-pool-size=1, settings
// Node reads at its start): the bare Node keeps Node's defaults.
const WATCH_ENV = args.includes('--watch-env') ? args[args.indexOf('--watch-env') + 1].split(/=(.*)/s).slice(0, 2) : undefined;
const RTRACK = fileURLToPath(new URL('../bin/rtrack.js', import.meta.url));

const started = [];
const groups = [];
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-watch-'));
function cleanup() {
  for (const child of started) {
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(groups.includes(child) ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const COMMANDS = [
  '/usr/lib/chromium/chromium --type=renderer --headless --lang=en-US --enable-automation',
  'node /home/agent/.npm/_npx/9833c18b2d85bc59/node_modules/@playwright/mcp/cli.js --headless --isolated',
  '/usr/bin/python3 -m some_mcp_server --stdio --log-level info',
  'npm exec @modelcontextprotocol/server-filesystem /home/agent/project',
];
for (let i = 0; i < N; i++) {
  started.push(spawn('sleep', ['86400'], { argv0: `${COMMANDS[i % COMMANDS.length]} --instance=${i}`, stdio: 'ignore' }));
  if (i % 200 === 199) await sleep(50);
}

const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_STATE_HOME: join(home, 'state'), XDG_CACHE_HOME: join(home, 'cache') };
const watchPort = await freePort();
const barePort = await freePort();
const watch = spawn(process.execPath, [RTRACK, 'watch', '--port', String(watchPort), '--interval', `${INTERVAL}ms`, '--log-format', 'json'], { env: WATCH_ENV ? { ...env, [WATCH_ENV[0]]: WATCH_ENV[1] } : env, cwd: home, stdio: 'ignore' });
started.push(watch);
const bare = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('ok\\n')).listen(${barePort}, '127.0.0.1')`], { stdio: 'ignore' });
started.push(bare);
if (CHURN > 0) {
  // Batches of `true`s, paced to about CHURN births a second.
  const batch = Math.max(1, Math.round(CHURN / 10));
  const loop = spawn('bash', ['-c', `while :; do for i in $(seq ${batch}); do /bin/true & done; wait; sleep 0.1; done`], { stdio: 'ignore', detached: true });
  started.push(loop);
  groups.push(loop);
}

const rssMB = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))[1]) / 1024;
const forks = () => Number(/^processes (\d+)/m.exec(readFileSync('/proc/stat', 'latin1'))[1]);
async function scrape(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/${port === watchPort ? 'metrics' : ''}`);
    return await response.text();
  } catch {
    return '';
  }
}
const heapMB = (text) => {
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  return m ? Number(m[1]) / 1048576 : NaN;
};

/** Resident memory split: anonymous (heaps, malloc) and file-backed (the node binary's pages). */
const split = (pid) => {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)[1]);
  return `${(kb('Anonymous') / 1024).toFixed(1)} MB anonymous + ${((kb('Rss') - kb('Anonymous')) / 1024).toFixed(1)} MB file`;
};
const samples = [];
const t0 = performance.now();
const forks0 = forks();
let heap = NaN;
let nextScrape = 0;
while (performance.now() - t0 < MINUTES * 60_000) {
  const minutes = (performance.now() - t0) / 60_000;
  if (minutes >= nextScrape) {
    heap = heapMB(await scrape(watchPort));
    await scrape(barePort);
    nextScrape += 0.25;
  }
  if (watch.exitCode !== null) throw new Error(`rtrack watch exited ${watch.exitCode}`);
  samples.push({ minutes, watch: rssMB(watch.pid), bare: rssMB(bare.pid), heap });
  await sleep(10_000);
}
const elapsedMinutes = (performance.now() - t0) / 60_000;
const births = (forks() - forks0) / (elapsedMinutes * 60);

/** Least-squares slope of y over minutes, in MB an hour. */
const slope = (points, key) => {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.minutes, 0) / n;
  const my = points.reduce((s, p) => s + p[key], 0) / n;
  const num = points.reduce((s, p) => s + (p.minutes - mx) * (p[key] - my), 0);
  const den = points.reduce((s, p) => s + (p.minutes - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
};
const after = samples.filter((s) => s.minutes >= WARMUP_MINUTES);
const last = samples[samples.length - 1];
const first = after[0] ?? last;
const peak = Math.max(...samples.map((s) => s.watch));
console.log(
  `rtrack watch memory${WATCH_ENV ? ` (watch with ${WATCH_ENV[0]}=${WATCH_ENV[1]})` : ''}: ${N} extra processes, every ${INTERVAL} ms, ${CHURN > 0 ? `about ${births.toFixed(0)} births a second` : `${births.toFixed(1)} births a second (no churn)`}, ${elapsedMinutes.toFixed(1)} min, ${cpus()[0].model}, Node ${process.version}`,
);
console.log(`  at the end: watch ${last.watch.toFixed(1)} MB (peak ${peak.toFixed(1)}, JS heap ${last.heap.toFixed(1)}), bare HTTP node ${last.bare.toFixed(1)} MB → ratio ${(last.watch / last.bare).toFixed(2)}×`);
console.log(`  split: watch ${split(watch.pid)}; bare node ${split(bare.pid)}`);
if (after.length >= 3) {
  console.log(
    `  after a ${WARMUP_MINUTES}-minute warm-up: watch ${first.watch.toFixed(1)} → ${last.watch.toFixed(1)} MB, growth ${slope(after, 'watch').toFixed(2)} MB an hour (JS heap ${slope(after, 'heap').toFixed(2)}, bare node ${slope(after, 'bare').toFixed(2)})`,
  );
}
process.exit(0);
