#!/usr/bin/env node
// node bench/gate.js [--processes 1000] [--runs 15]
// What the reaper's gate costs: before each round of signals it takes one fresh look at the table
// with every command line and environment read, and judges it (sessions, what is in use, what is
// kept, rtrack's own). Measured in the same run against references: a full snapshot (stat and
// command lines: what `rtrack run` takes before a task), the same with every environment read (what
// `rtrack scan` takes), and `ps -eo pid,ppid,rss,args`. Spawns N sleepers with realistic command
// lines, a third of them carrying an agent session's markers; kills every process it started.
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { takeSnapshot } from '../dist/index.js';
import { lookAtTable } from '../dist/internal.js';
import { cleanup, median, option, spawnSleepers, time } from './sleepers.js';

const run = promisify(execFile);
const N = option('--processes', 1000);
const RUNS = Math.max(5, option('--runs', 15));
// A third of them carry a Claude Code session's markers (an agent pid that is gone).
await spawnSleepers(N, (i) => (i % 3 === 0 ? { ...process.env, CLAUDE_CODE_SESSION_ID: `bench-${i % 30}`, CLAUDE_PID: String(4_000_000 + i) } : process.env));
const samples = { look: [], env: [], plain: [], ps: [] };
let count = 0;
for (let i = 0; i < RUNS; i++) {
  samples.look.push(await time(async () => (count = (await lookAtTable()).snapshot.processCount)));
  samples.env.push(await time(() => takeSnapshot({ environment: 'all' })));
  samples.plain.push(await time(() => takeSnapshot()));
  samples.ps.push(await time(() => run('ps', ['-eo', 'pid,ppid,rss,args'], { maxBuffer: 1 << 28 })));
}
const ps = median(samples.ps);
const rows = [
  ["the gate's look (lookAtTable: every environment read, judged)", median(samples.look)],
  ['snapshot with every environment read (scan)', median(samples.env)],
  ['snapshot with command lines (run)', median(samples.plain)],
  ['ps -eo pid,ppid,rss,args', ps],
];
console.log(
  [
    `Date: ${new Date().toISOString().slice(0, 10)} · machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    `Processes on the machine: ${count} (${N} spawned, a third with session markers); medians over ${RUNS} runs`,
    '',
    '| what | median ms | µs per process | × ps |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(([name, ms]) => `| ${name} | ${ms.toFixed(1)} | ${((ms * 1000) / count).toFixed(1)} | ${(ms / ps).toFixed(2)} |`),
  ].join('\n'),
);
cleanup();
