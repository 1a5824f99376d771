#!/usr/bin/env node
// node bench/pipelines.js [--processes 1000] [--sockets 2000] [--candidates 20] [--runs 15]   (after npm run build; Linux)
// What keeping a kept process's pipeline costs on the gate's path (withPipelines, before every round
// of signals and in every scan with a certain leak): the channel ends of the candidates and of the
// kept processes (/proc/[pid]/fd: pipes, named FIFOs, sockets), and — when a candidate holds a
// socket — one `ss -xn` for the sockets' peers, whose cost grows with the Unix sockets of the
// network namespace. Measured in the same run against the gate's own look (lookAtTable) and `ps`.
// The machine: N sleepers (a third with a session's markers, as bench/gate.js), --sockets connected
// Unix sockets held by this process (a busy desktop has thousands), and one job: a node parent
// whose children speak to it over socket pairs (Node's `stdio: 'pipe'`) — one kept
// (RESOURCE_TRACKER_KEEP=1), --candidates others —, its stdout into `tee` through a pipe, and tee's
// into a named FIFO that a `cat` reads. Every process it starts is killed by pid.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLinuxReader, lookAtTable, withPipelines } from '../dist/internal.js';
import { cleanup, median, option, spawnSleepers, time } from './sleepers.js';

const run = promisify(execFile);
const N = option('--processes', 1000);
const SOCKETS = option('--sockets', 2000);
const CANDIDATES = option('--candidates', 20);
const RUNS = Math.max(5, option('--runs', 15));
const dir = mkdtempSync(join(tmpdir(), 'rtrack-bench-pipelines-'));
const started = [];
const stop = () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', stop);

await spawnSleepers(N, (i) => (i % 3 === 0 ? { ...process.env, CLAUDE_CODE_SESSION_ID: `bench-${i % 30}`, CLAUDE_PID: String(4_000_000 + i) } : process.env));
// Connected Unix sockets on the machine: SOCKETS / 2 connections to a listener of ours.
const server = createServer(() => {}).listen(join(dir, 'sock'));
await new Promise((r) => server.once('listening', r));
const clients = [];
for (let i = 0; i < SOCKETS / 2; i++) clients.push(await new Promise((r) => { const c = createConnection(join(dir, 'sock'), () => r(c)); }));
// The job.
const parent = join(dir, 'parent.cjs');
writeFileSync(parent, [
  "const { spawn } = require('node:child_process');",
  "const kept = spawn('sleep', ['3600'], { env: { ...process.env, RESOURCE_TRACKER_KEEP: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });",
  `const others = Array.from({ length: ${CANDIDATES} }, () => spawn('sleep', ['3600'], { stdio: ['pipe', 'pipe', 'pipe'] }));`,
  `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'pids'))}, [kept.pid, ...others.map((c) => c.pid)].join(' '));`,
  'setInterval(() => {}, 1000);',
].join('\n'));
const job = spawn('bash', ['-c', `mkfifo ${dir}/f; cat ${dir}/f >/dev/null & echo $!; ${JSON.stringify(process.execPath)} ${parent} | tee /dev/null > ${dir}/f & wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
started.push(job);
let out = '';
job.stdout.on('data', (d) => (out += d));
const pids = () => (existsSync(join(dir, 'pids')) ? readFileSync(join(dir, 'pids'), 'utf8').split(' ').filter(Boolean).map(Number) : []);
while (pids().length < 1 + CANDIDATES || out.trim() === '') await new Promise((r) => setTimeout(r, 50));
const cat = Number(out.trim());
const [kept, ...others] = pids();
const reader = createLinuxReader();
const look = await lookAtTable({ reader });
if (!look.kept.has(kept)) throw new Error(`the kept child ${kept} is not kept in the look`);
const nodeParent = look.live.get(kept).ppid;
const tee = [...look.live.values()].find((p) => p.ppid === look.live.get(nodeParent).ppid && p.command.startsWith('tee'))?.pid;
const candidates = [nodeParent, ...others, tee, cat].filter((pid) => pid !== undefined);
const piped = withPipelines(look, reader, candidates);
const keptNow = candidates.filter((pid) => piped.kept.has(pid));
const samples = { look: [], piped: [], ends: [], peers: [], ss: [], ps: [] };
for (let i = 0; i < RUNS; i++) {
  samples.look.push(await time(() => lookAtTable({ reader })));
  samples.piped.push(await time(() => withPipelines(look, reader, candidates)));
  samples.ends.push(await time(() => reader.readPipes([...candidates, ...[...look.kept].filter((pid) => look.live.has(pid))])));
  samples.peers.push(await time(() => reader.readSocketPeers()));
  samples.ss.push(await time(() => run('ss', ['-xn'], { maxBuffer: 1 << 28 })));
  samples.ps.push(await time(() => run('ps', ['-eo', 'pid,ppid,rss,args'], { maxBuffer: 1 << 28 })));
}
const unix = (await run('ss', ['-xn'], { maxBuffer: 1 << 28 })).stdout.split('\n').filter((l) => /^u_(str|seq)\s+ESTAB/.test(l)).length;
const ps = median(samples.ps);
const rows = [
  ["the gate's look (lookAtTable)", median(samples.look)],
  [`withPipelines: ${candidates.length} candidates, ${look.kept.size} kept`, median(samples.piped)],
  ['… of it: their channel ends (/proc/[pid]/fd)', median(samples.ends)],
  ['… of it: the sockets\' peers (readSocketPeers: one `ss -xn`, parsed)', median(samples.peers)],
  ['`ss -xn` alone (execFile)', median(samples.ss)],
  ['ps -eo pid,ppid,rss,args', ps],
];
console.log([
  `Date: ${new Date().toISOString().slice(0, 10)} · machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  `Processes on the machine: ${look.snapshot.processCount}; connected Unix stream sockets: ${unix}; kept through the pipeline: ${keptNow.length} of ${candidates.length} candidates (the node parent, tee, cat); medians over ${RUNS} runs`,
  '',
  '| what | median ms | × ps |',
  '| --- | ---: | ---: |',
  ...rows.map(([name, ms]) => `| ${name} | ${ms.toFixed(1)} | ${(ms / ps).toFixed(2)} |`),
].join('\n'));
for (const c of clients) c.destroy();
server.close();
cleanup();
stop();
process.exit(0);
