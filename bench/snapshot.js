#!/usr/bin/env node
// npm run bench [-- --processes 5000] [--runs 15]
// Spawns N sleeping processes with realistic command lines, measures in the same run: a full
// snapshot, an incremental after-snapshot, `ps -eo pid,ppid,rss,args` and the ps-list package,
// each as a median over the runs with its ratio to ps, plus the longest event-loop block during
// snapshots. Kills every process it started, by pid, however it ends.
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import psList from 'ps-list';
import { takeSnapshot } from '../dist/index.js';
import { cleanup, median, option, spawnSleepers, time } from './sleepers.js';

const run = promisify(execFile);
const N = option('--processes', 1000);
const RUNS = Math.max(10, option('--runs', 15));

await spawnSleepers(N);
const base = await takeSnapshot();
const count = base.processCount;
const samples = { full: [], incremental: [], ps: [], psList: [] };
const blocks = { snapshot: [], idle: [] }; // longest event-loop block (ms) seen in each watched span
/** Runs fn while a fresh event-loop delay histogram watches it; records its longest block. */
async function watched(fn, into) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const ms = await time(fn);
  await new Promise((r) => setTimeout(r, 2)); // let the histogram take its last sample
  loop.disable();
  into.push(Math.max(0, loop.max / 1e6 - 1)); // minus the 1 ms sampling resolution
  return ms;
}
for (let i = 0; i < RUNS; i++) {
  // Interleaved so that machine noise hits every contender alike.
  const full = await watched(() => takeSnapshot(), blocks.snapshot);
  samples.full.push(full);
  samples.incremental.push(await watched(() => takeSnapshot({ previous: base }), blocks.snapshot));
  // The reference: the same watch over an idle wait as long as the snapshot. What it sees is the
  // machine's noise (scheduling, other tenants), not our code.
  await watched(() => new Promise((r) => setTimeout(r, full)), blocks.idle);
  samples.ps.push(await time(() => run('ps', ['-eo', 'pid,ppid,rss,args'], { maxBuffer: 1 << 28 })));
  samples.psList.push(await time(() => psList()));
}
const ps = median(samples.ps);
const rows = [
  ['full snapshot (takeSnapshot)', median(samples.full)],
  ['incremental after-snapshot', median(samples.incremental)],
  ['ps -eo pid,ppid,rss,args', ps],
  ['ps-list (npm)', median(samples.psList)],
];
const lines = [
  `Date: ${new Date().toISOString().slice(0, 10)} · machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  `Processes on the machine during the run: ${count} (${N} spawned); medians over ${RUNS} runs`,
  '',
  '| what | median ms | µs per process | faster than ps |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map(([name, ms]) => `| ${name} | ${ms.toFixed(1)} | ${((ms * 1000) / count).toFixed(1)} | ${(ps / ms).toFixed(2)}× |`),
  '',
  `Longest event-loop block during snapshots: ${Math.max(...blocks.snapshot).toFixed(1)} ms (median over snapshots ${median(blocks.snapshot).toFixed(1)} ms);` +
    ` idle reference of the same lengths: ${Math.max(...blocks.idle).toFixed(1)} ms (median ${median(blocks.idle).toFixed(1)} ms).` +
    ' monitorEventLoopDelay, 1 ms resolution.',
];
console.log(lines.join('\n'));
cleanup();
