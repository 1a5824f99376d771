#!/usr/bin/env node
// node bench/watch-scan.js [--processes 1000,5000,10000] [--runs 15] [--without-watch-flags]   (after npm run build; Linux)
// What one `rtrack watch` scan costs against the floor, at each size: the floor is a small C reader
// of every /proc/[pid]/stat (bench/stat-floor.c, built with the system's `cc`; skipped with a message
// when there is none). Measured interleaved in the same run at each size (the machines are shared
// and noisy): CPU time (user + system) per pass of the floor and per watch scan (`scanMachine` with
// the cache `rtrack watch` keeps, and the stat descriptors it keeps open at intervals under 15 s),
// the full and incremental snapshot, and the longest event-loop block during scans
// (monitorEventLoopDelay, minus its 1 ms resolution) with an idle reference.
// Spawns the sleepers itself and kills every one of them, by pid, however it ends.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { scanMachine, takeSnapshot } from '../dist/index.js';
import { WATCH_V8_FLAGS } from '../dist/internal.js';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SIZES = value('--processes', '1000,5000,10000').split(',').map(Number);
const RUNS = Math.max(5, Number(value('--runs', 15)));
// The V8 flags `rtrack watch` sets at its start, so that a scan here costs what it costs there
// (--without-watch-flags: V8's defaults, to compare).
const WATCH_FLAGS = !args.includes('--without-watch-flags');
if (WATCH_FLAGS) for (const flag of WATCH_V8_FLAGS) setFlagsFromString(flag);

const children = [];
const work = mkdtempSync(join(tmpdir(), 'rtrack-bench-scan-'));
function cleanup() {
  for (const child of children) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

let floor;
try {
  floor = join(work, 'stat-floor');
  execFileSync('cc', ['-O2', '-o', floor, fileURLToPath(new URL('./stat-floor.c', import.meta.url))], { stdio: 'pipe' });
} catch (err) {
  floor = undefined;
  console.log(`no C floor: building bench/stat-floor.c with cc failed (${err.code === 'ENOENT' ? 'no cc on this machine' : err.message.split('\n')[0]}); install gcc for it`);
}

const COMMANDS = [
  '/usr/lib/chromium/chromium --type=renderer --headless --lang=en-US --enable-automation',
  'node /home/agent/.npm/_npx/9833c18b2d85bc59/node_modules/@playwright/mcp/cli.js --headless --isolated',
  '/usr/bin/python3 -m some_mcp_server --stdio --log-level info',
  'npm exec @modelcontextprotocol/server-filesystem /home/agent/project',
];
async function grow(n) {
  while (children.length < n) {
    const i = children.length;
    children.push(spawn('sleep', ['86400'], { argv0: `${COMMANDS[i % COMMANDS.length]} --instance=${i}`, stdio: 'ignore' }));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 1000));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = async (fn) => {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
async function longestBlock(fn) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  await fn();
  await new Promise((r) => setTimeout(r, 2));
  loop.disable();
  return Math.max(0, loop.max / 1e6 - 1);
}

console.log(`watch scan cost, medians of ${RUNS} interleaved runs at each size, ${cpus().length} × ${cpus()[0].model}, Node ${process.version}, ${WATCH_FLAGS ? `watch's V8 flags (${WATCH_V8_FLAGS.join(' ')})` : "V8's defaults"}`);
console.log('| extra processes | on the machine | C floor (stat only) | watch scan | ratio | µs a process | full snapshot | incremental snapshot | longest block in a scan (idle ref.) |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const size of SIZES) {
  await grow(size);
  const cache = {};
  for (let i = 0; i < 3; i++) await scanMachine({ cache, cpuSampleMs: 0, keepOpen: true }); // warm: the cache holds every environment
  const base = await takeSnapshot({ environment: 'all' });
  const s = { floor: [], scan: [], full: [], incremental: [], block: [], idle: [] };
  let onMachine = 0;
  for (let r = 0; r < RUNS; r++) {
    if (floor) {
      const [count, ms] = execFileSync(floor, ['3']).toString().trim().split(' ').map(Number);
      onMachine = count;
      s.floor.push(ms);
    }
    let scanMs = 0;
    s.block.push(await longestBlock(async () => (scanMs = await cpuMs(() => scanMachine({ cache, cpuSampleMs: 0, keepOpen: true })))));
    s.scan.push(scanMs);
    s.idle.push(await longestBlock(() => new Promise((r) => setTimeout(r, 20))));
    s.full.push(await cpuMs(() => takeSnapshot({ environment: 'all' })));
    s.incremental.push(await cpuMs(() => takeSnapshot({ previous: base, environment: 'new' })));
  }
  if (!floor) onMachine = base.processCount;
  const scan = median(s.scan);
  const f = floor ? median(s.floor) : NaN;
  console.log(
    `| ${size} | ${onMachine} | ${floor ? `${f.toFixed(1)} ms` : 'n/a'} | ${scan.toFixed(1)} ms | ${floor ? `${(scan / f).toFixed(2)}×` : 'n/a'} | ${((scan * 1000) / onMachine).toFixed(1)} | ${median(s.full).toFixed(1)} ms | ${median(s.incremental).toFixed(1)} ms | ${Math.max(...s.block).toFixed(1)} ms (${Math.max(...s.idle).toFixed(1)} ms) |`,
  );
}
process.exit(0);
