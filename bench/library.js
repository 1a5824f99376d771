#!/usr/bin/env node
// npm run bench:library [-- --processes 100,1000] [--runs 24] [--tasks 2000]
// What an orchestrator that embeds rtrack waits for after each task, through the built library:
// from the task's exit (runTracked's onExit) to its report (onReport: the verdicts are in) and to
// the end of the call (reaped, its cgroup removed), for a clean task (`true`) and a leaking one (`sh -c
// 'sleep 600 &'`, reaped), one at a time and 8 at once, at about each number of processes on the
// machine (sleepers are started to reach it). The reference, measured in the same run: one full
// process snapshot (`takeSnapshot()`), which every report needs once after the task. Then the host
// over --tasks tasks (a quarter failing to start, 8 at a time): its RSS, heap and descriptors.
// Run it in a PID namespace of its own (`unshare --pid --fork --mount-proc`, or /work/tools/isolated)
// so that the process counts are the ones asked for. Kills every process it started, by pid.
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { runTracked, takeSnapshot } from '../dist/index.js';
import { median, option, spawnSleepers } from './sleepers.js';

const args = process.argv.slice(2);
const levels = (args.includes('--processes') ? args[args.indexOf('--processes') + 1] : '100,1000').split(',').map(Number);
const RUNS = option('--runs', 24);
const TASKS = option('--tasks', 2000);

const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
const fmt = (ms) => ms.toFixed(1);

/** One task through runTracked: ms from its exit to its report, and to the end of the call. */
async function timed(kind, cgroup) {
  let exitedAt = 0;
  let reportedAt = 0;
  const report = await runTracked('sh', ['-c', kind === 'leaking' ? 'sleep 600 >/dev/null 2>&1 &' : 'exit 0'], {
    stdio: 'ignore',
    cgroup,
    reap: { graceMs: 1000 },
    onExit: () => (exitedAt = performance.now()),
    onReport: () => {
      reportedAt = performance.now();
    },
  });
  const done = performance.now();
  if (report.outcome !== 'exited' || report.orphans.length !== (kind === 'leaking' ? 1 : 0)) throw new Error(`unexpected report: ${JSON.stringify(report)}`);
  if (kind === 'leaking' && report.reaped?.[0]?.result !== 'terminated') throw new Error(`not reaped: ${JSON.stringify(report.reaped)}`);
  return { report: reportedAt - exitedAt, reaped: done - exitedAt };
}

const rows = [];
for (const level of levels) {
  const now = (await takeSnapshot()).processCount;
  if (level > now) await spawnSleepers(level - now);
  const count = (await takeSnapshot()).processCount;
  const snapshot = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await takeSnapshot();
    snapshot.push(performance.now() - t0);
  }
  const reference = median(snapshot);
  rows.push({ level: count, what: 'reference: one full snapshot (takeSnapshot)', report: snapshot, reaped: undefined, reference });
  for (const [kind, cgroup] of [['clean', 'auto'], ['clean', 'off'], ['leaking', 'auto'], ['leaking', 'off']]) {
    for (const atOnce of [1, 8]) {
      const report = [];
      const reaped = [];
      for (let round = 0; round < Math.ceil(RUNS / atOnce); round++) {
        const results = await Promise.all(Array.from({ length: atOnce }, () => timed(kind, cgroup)));
        for (const r of results) {
          report.push(r.report);
          reaped.push(r.reaped);
        }
      }
      rows.push({ level: count, what: `${kind}, cgroup ${cgroup}, ${atOnce === 1 ? 'one at a time' : '8 at once'}`, report, reaped, reference });
    }
  }
}

// The host over many tasks: 8 at a time, a quarter failing to start.
const failing = [['/nonexistent/command', [], {}], ['true', [], { cwd: '/nonexistent-directory' }], ['', [], {}], ['echo', ['x'.repeat(200_000)], {}]];
const host = [];
const mark = (done) => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  host.push({ done, rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20, fds: readdirSync('/proc/self/fd').length });
};
const hostStart = performance.now();
mark(0);
for (let start = 0; start < TASKS; start += 8) {
  await Promise.all(
    Array.from({ length: 8 }, async (_, k) => {
      const i = start + k;
      if (i % 4 === 0) {
        const [command, a, o] = failing[(i / 4) % failing.length];
        return runTracked(command, a, { ...o, stdio: 'ignore' });
      }
      return runTracked('sh', ['-c', i % 20 === 1 ? 'sleep 600 >/dev/null 2>&1 &' : 'exit 0'], { stdio: 'ignore', reap: { graceMs: 1000 } });
    }),
  );
  const done = start + 8;
  if (done === 96 || done % 400 === 0 || done >= TASKS) mark(done);
}
const hostSeconds = (performance.now() - hostStart) / 1000;

const lines = [
  `Date: ${new Date().toISOString().slice(0, 10)} · machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version} · ${RUNS} tasks a row`,
  '',
  '| processes | task | exit → report, median (p90) ms | ÷ one snapshot | exit → reaped, median (p90) ms |',
  '| ---: | --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.level} | ${r.what} | ${fmt(median(r.report))} (${fmt(p90(r.report))}) | ${(median(r.report) / r.reference).toFixed(2)}× | ${r.reaped ? `${fmt(median(r.reaped))} (${fmt(p90(r.reaped))})` : '—'} |`),
  '',
  `The host over ${TASKS} tasks (8 at a time, a quarter failing to start, one in twenty leaking and reaped; ${hostSeconds.toFixed(0)} s, ${(TASKS / hostSeconds).toFixed(0)} tasks a second):`,
  '',
  '| tasks done | RSS MB | heap MB | descriptors |',
  '| ---: | ---: | ---: | ---: |',
  ...host.map((h) => `| ${h.done} | ${h.rssMB.toFixed(1)} | ${h.heapMB.toFixed(1)} | ${h.fds} |`),
];
console.log(lines.join('\n'));
process.exit(0);
