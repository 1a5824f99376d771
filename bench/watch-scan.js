#!/usr/bin/env node
// node bench/watch-scan.js [--processes 1000,5000,10000] [--runs 15] [--without-watch-flags] [--against <checkout>] [--gap-ms 200] [--users <n>]
//   (after npm run build; Linux)
// What one `rtrack watch` scan costs against the floor, at each size: the floor is a small C reader
// of every /proc/[pid]/stat (bench/stat-floor.c, built with the system's `cc`; skipped with a message
// when there is none). Measured interleaved in the same run at each size (the machines are shared
// and noisy): CPU time (user + system) per pass of the floor and per watch scan — what `rtrack watch`
// does at each interval (bench/watch-scan-worker.js: its scan, with the cache it keeps and the stat
// descriptors it keeps open at intervals under 15 s, and the metrics' update), in a process of its
// own that idles between scans (`--gap-ms`, as a watch does between intervals) — the full and
// incremental snapshot (in this process), and the longest event-loop block during a scan
// (monitorEventLoopDelay, minus its 1 ms resolution) with an idle reference.
// --against: another checkout, built (an older commit in a temporary worktree): its watch scan is
// measured the same way, in a worker of its own, alternating with this one's, over the same processes.
// --users <n> (as root): the sleepers run as n users (uids 70001…, not in /etc/passwd), each with
// XDG_STATE_HOME and XDG_CONFIG_HOME of its own and a config there keeping a pattern that matches
// none of them, so that a system-wide scan reads every user's files and judges every sleeper by
// its user's own keep rules (watch-scan.ts, user-files.ts).
// Spawns the sleepers itself and kills every one of them, by pid, however it ends.
import { execFileSync, fork, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { takeSnapshot } from '../dist/index.js';
import { WATCH_V8_FLAGS } from '../dist/internal.js';
import { textOption } from './sleepers.js';

const SIZES = textOption('--processes', '1000,5000,10000').split(',').map(Number);
const RUNS = Math.max(5, Number(textOption('--runs', 15)));
// The V8 flags `rtrack watch` sets at its start, so that a scan here costs what it costs there
// (--without-watch-flags: V8's defaults, to compare).
const WATCH_FLAGS = !process.argv.slice(2).includes('--without-watch-flags');
const AGAINST = textOption('--against', undefined);
const GAP_MS = Number(textOption('--gap-ms', 200));
const USERS = Number(textOption('--users', 0));
if (USERS > 0 && process.getuid?.() !== 0) throw new Error('--users needs root (the sleepers run as other users)');
if (WATCH_FLAGS) for (const flag of WATCH_V8_FLAGS) setFlagsFromString(flag);

const children = [];
const workers = [];
const work = mkdtempSync(join(tmpdir(), 'rtrack-bench-scan-'));
chmodSync(work, 0o755); // --users: the sleepers' users enter it
function cleanup() {
  for (const child of [...workers, ...children]) {
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
/** The i-th sleeper's user, with --users: its uid and an environment naming its own XDG directories, made with a config. */
const userOf = (i) => {
  if (USERS === 0) return {};
  const uid = 70001 + (i % USERS);
  const home = join(work, `u${uid}`);
  const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
  if (!existsSync(home)) {
    mkdirSync(join(home, 'config', 'rtrack'), { recursive: true });
    mkdirSync(join(home, 'state', 'rtrack'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'config', 'rtrack', 'config.yaml'), `diagnostics:\n  resource_tracking:\n    keep: ['^never-${uid}$']\n`);
    for (const dir of [home, join(home, 'config'), join(home, 'config', 'rtrack'), join(home, 'config', 'rtrack', 'config.yaml'), join(home, 'state'), join(home, 'state', 'rtrack')]) chownSync(dir, uid, uid);
  }
  return { uid, gid: uid, env };
};
async function grow(n) {
  while (children.length < n) {
    const i = children.length;
    children.push(spawn('sleep', ['86400'], { argv0: `${COMMANDS[i % COMMANDS.length]} --instance=${i}`, stdio: 'ignore', ...userOf(i) }));
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
/** A worker measuring one build's watch scans (bench/watch-scan-worker.js). */
function worker(checkout) {
  const child = fork(fileURLToPath(new URL('./watch-scan-worker.js', import.meta.url)), [checkout, ...(WATCH_FLAGS ? [] : ['--without-watch-flags'])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  workers.push(child);
  const replies = [];
  let waiting;
  child.on('message', (m) => (waiting ? (waiting(m), (waiting = undefined)) : replies.push(m)));
  const ask = (message) =>
    new Promise((resolve) => {
      if (replies.length > 0) return resolve(replies.shift());
      waiting = resolve;
      if (message) child.send(message);
    });
  return {
    ready: () => ask(),
    ask: (message) => new Promise((resolve) => {
      waiting = resolve;
      child.send(message);
    }),
  };
}
async function longestBlock(fn) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  await fn();
  await new Promise((r) => setTimeout(r, 2));
  loop.disable();
  return Math.max(0, loop.max / 1e6 - 1);
}

console.log(`watch scan cost, medians of ${RUNS} interleaved runs at each size, ${cpus().length} × ${cpus()[0].model}, Node ${process.version}, ${WATCH_FLAGS ? `watch's V8 flags (${WATCH_V8_FLAGS.join(' ')})` : "V8's defaults"}${USERS > 0 ? `, the sleepers run as ${USERS} users, each with a config of its own` : ''}`);
const here = worker(fileURLToPath(new URL('..', import.meta.url)));
const against = AGAINST ? worker(AGAINST) : undefined;
await here.ready();
if (against) await against.ready();
const commitOf = (dir) => {
  try {
    return execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %cd', '--date=short'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'not a git checkout';
  }
};
if (against) console.log(`against: the build in ${AGAINST} (${commitOf(AGAINST)}), each build's watch scan in a process of its own, alternating, ${GAP_MS} ms idle between scans`);
console.log(`| extra processes | on the machine | C floor (stat only) | watch scan | ratio |${against ? ' against: watch scan | against: ratio |' : ''} µs a process | full snapshot | incremental snapshot | longest block in a scan (idle ref.) |`);
console.log(`| ---: | ---: | ---: | ---: | ---: |${against ? ' ---: | ---: |' : ''} ---: | ---: | ---: | ---: |`);
for (const size of SIZES) {
  await grow(size);
  await here.ask('warm'); // the cache holds every environment
  if (against) await against.ask('warm');
  const base = await takeSnapshot({ environment: 'all' });
  const s = { floor: [], scan: [], other: [], full: [], incremental: [], block: [], idle: [] };
  let onMachine = 0;
  for (let r = 0; r < RUNS; r++) {
    if (floor) {
      const [count, ms] = execFileSync(floor, ['3']).toString().trim().split(' ').map(Number);
      onMachine = count;
      s.floor.push(ms);
    }
    const order = against && r % 2 === 1 ? [against, here] : [here, against]; // each build goes first in half the runs
    for (const w of order) {
      if (!w) continue;
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
      const { ms, blockMs } = await w.ask('scan');
      if (w === here) {
        s.scan.push(ms);
        s.block.push(blockMs);
      } else s.other.push(ms);
    }
    s.idle.push(await longestBlock(() => new Promise((r) => setTimeout(r, 20))));
    s.full.push(await cpuMs(() => takeSnapshot({ environment: 'all' })));
    s.incremental.push(await cpuMs(() => takeSnapshot({ previous: base, environment: 'new' })));
  }
  if (!floor) onMachine = base.processCount;
  const scan = median(s.scan);
  const f = floor ? median(s.floor) : NaN;
  console.log(
    `| ${size} | ${onMachine} | ${floor ? `${f.toFixed(1)} ms` : 'n/a'} | ${scan.toFixed(1)} ms | ${floor ? `${(scan / f).toFixed(2)}×` : 'n/a'} |${against ? ` ${median(s.other).toFixed(1)} ms | ${floor ? `${(median(s.other) / f).toFixed(2)}×` : 'n/a'} |` : ''} ${((scan * 1000) / onMachine).toFixed(1)} | ${median(s.full).toFixed(1)} ms | ${median(s.incremental).toFixed(1)} ms | ${Math.max(...s.block).toFixed(1)} ms (${Math.max(...s.idle).toFixed(1)} ms) |`,
  );
}
process.exit(0);
