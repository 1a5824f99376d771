#!/usr/bin/env node
// node bench/follower-lineage.js [--minutes 10] [--rate 100] [--life 2] [--warmup 1] [--sample 30]
//                                [--follower dist/cli/follower-main.cjs] [--node-flags '--a --b'] [--heap-at 1,3,6]   (after npm run build)
// What a day-long session with a busy test loop does to the session follower: one stand-in agent
// (named `claude`, registered as the SessionStart hook registers it) whose tree starts RATE
// processes a second, each living LIFE seconds, followed by the real follower (the flags `rtrack
// session start` gives it) for MINUTES. Sampled side by side every SAMPLE seconds: the follower's
// resident memory and CPU, the lineage file it keeps for the agent (entries and bytes, the largest
// of a look every second: it grows between two rewrites), against
// a bare Node process that only waits, measured in the same run; and the machine's forks a second
// (/proc/stat). At the end: the range of each after the warm-up (flat is the point) and the CPU.
// `--follower` runs another build's follower (an older checkout's dist/cli/follower-main.cjs);
// `--node-flags` gives it Node flags besides those `rtrack session start` gives it (to try some).
// `--heap-at` has the follower write a heap snapshot (after a full GC: what its JS heap holds) at
// those minutes (`--heapsnapshot-signal`), and prints each one's size (writing a snapshot costs the
// follower memory and CPU: leave it out when measuring those).
// HOME and XDG_STATE_HOME are a temporary directory; every process it started is killed by pid (the
// agent by its process group, which holds its children), however it ends.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinuxReader, FOLLOWER_NODE_FLAGS, registerSession } from '../dist/internal.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const MINUTES = Number(option('--minutes', 10));
const RATE = Number(option('--rate', 100));
const LIFE = Number(option('--life', 2));
const WARMUP_MINUTES = Number(option('--warmup', 1));
const SAMPLE_S = Number(option('--sample', 30));
const FOLLOWER = resolve(option('--follower', fileURLToPath(new URL('../dist/cli/follower-main.cjs', import.meta.url))));
const HEAP_AT = option('--heap-at', '').split(',').filter(Boolean).map(Number);
const NODE_FLAGS = option('--node-flags', '').split(' ').filter(Boolean);
const reader = createLinuxReader();

const started = [];
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-lineage-'));
let agent;
process.on('exit', () => {
  for (const child of started) {
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(child === agent ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RSS (KiB) and CPU time (s) of a process, from /proc. */
function usage(pid) {
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}
const forks = () => Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))[1]);

const state = join(home, 'state', 'rtrack');
const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
// The agent: every 0.1 s it starts RATE/10 sleepers of LIFE seconds (a test loop's workers), paced
// by the clock so that the rate holds whatever forking costs.
const batch = Math.max(1, Math.round(RATE / 10));
const loop = `next=\${EPOCHREALTIME/./}; while :; do for ((i = 0; i < ${batch}; i++)); do sleep ${LIFE} & done; next=$((next + 100000)); now=\${EPOCHREALTIME/./}; (( next > now )) && sleep 0.$(printf %06d $((next - now))); done`;
agent = spawn('bash', ['-c', `exec -a claude bash -c '${loop}'`], { stdio: 'ignore', detached: true });
started.push(agent);
await sleep(300);
const agentStatus = await reader.readStatus(agent.pid);
await registerSession(state, { agent: 'claude-code', sessionId: 'bench-lineage', agentPid: agent.pid, agentStartTime: agentStatus.startTime, startedAt: new Date().toISOString(), bootId: reader.readBootId?.() });
const record = join(state, 'sessions', `${agent.pid}-${agentStatus.startTime}`);

/** The lineage on disk: entries (this build's JSON lines after the boot's line, or an older build's JSON array) and bytes. */
function lineage() {
  for (const [path, count] of [
    [`${record}.lineage.jsonl`, (text) => text.split('\n').filter(Boolean).length - 1],
    [`${record}.lineage.json`, (text) => JSON.parse(text).length],
  ]) {
    if (!existsSync(path)) continue;
    try {
      return { entries: count(readFileSync(path, 'utf8')), bytes: statSync(path).size };
    } catch {
      // being replaced
    }
  }
  return { entries: 0, bytes: 0 };
}

const snapshots = join(home, 'heap');
mkdirSync(snapshots);
const follower = spawn(process.execPath, [...FOLLOWER_NODE_FLAGS, ...NODE_FLAGS, ...(HEAP_AT.length > 0 ? ['--heapsnapshot-signal=SIGUSR2'] : []), FOLLOWER], { env, stdio: 'ignore', cwd: snapshots });
for (const minute of HEAP_AT) setTimeout(() => follower.kill('SIGUSR2'), minute * 60_000).unref();

/** A heap snapshot's size: the self sizes of its nodes, and how many there are. */
function heapOf(file) {
  const { snapshot, nodes } = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.meta.node_fields.length;
  const size = snapshot.meta.node_fields.indexOf('self_size');
  let bytes = 0;
  for (let i = size; i < nodes.length; i += fields) bytes += nodes[i];
  return { bytes, count: nodes.length / fields };
}
started.push(follower);
const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
started.push(idle);

console.log(`session follower, one agent starting ${RATE} processes a second that live ${LIFE} s, ${MINUTES} min (warm-up ${WARMUP_MINUTES}), ${cpus()[0].model}, Node ${process.version}`);
console.log(`  follower: ${FOLLOWER}${NODE_FLAGS.length > 0 ? ` (with ${NODE_FLAGS.join(' ')})` : ''}`);
console.log('  min | follower RSS MB | bare RSS MB | ratio | follower CPU % | bare CPU % | lineage file: entries | KB (largest) | forks/s');
const t0 = performance.now();
let last = { follower: usage(follower.pid), idle: usage(idle.pid), forks: forks(), at: t0 };
const samples = [];
while (performance.now() - t0 < MINUTES * 60_000) {
  // The lineage file grows between two rewrites: looked at every second, its largest kept.
  let largest = { entries: 0, bytes: 0 };
  for (let second = 0; second < SAMPLE_S; second++) {
    await sleep(1000);
    const now = lineage();
    if (now.bytes > largest.bytes) largest = now;
  }
  if (follower.exitCode !== null) throw new Error(`the follower exited (${follower.exitCode})`);
  const now = { follower: usage(follower.pid), idle: usage(idle.pid), forks: forks(), at: performance.now() };
  const seconds = (now.at - last.at) / 1000;
  const cpu = (who) => (100 * (now[who].cpuSeconds - last[who].cpuSeconds)) / seconds;
  const s = { minute: (now.at - t0) / 60_000, rssMB: now.follower.rssKiB / 1024, idleMB: now.idle.rssKiB / 1024, cpu: cpu('follower'), idleCpu: cpu('idle'), ...largest, forks: (now.forks - last.forks) / seconds };
  samples.push(s);
  console.log(
    `  ${s.minute.toFixed(1).padStart(4)} | ${s.rssMB.toFixed(1).padStart(15)} | ${s.idleMB.toFixed(1).padStart(11)} | ${(s.rssMB / s.idleMB).toFixed(2).padStart(4)}× | ${s.cpu.toFixed(2).padStart(14)} | ${s.idleCpu.toFixed(2).padStart(10)} | ${String(s.entries).padStart(15)} | ${(s.bytes / 1024).toFixed(1).padStart(10)} | ${s.forks.toFixed(0).padStart(7)}`,
  );
  last = now;
}
const after = samples.filter((s) => s.minute > WARMUP_MINUTES);
const range = (key, digits = 1) => `${Math.min(...after.map((s) => s[key])).toFixed(digits)}–${Math.max(...after.map((s) => s[key])).toFixed(digits)}`;
const mean = (key) => after.reduce((sum, s) => sum + s[key], 0) / after.length;
console.log(`after the warm-up (${after.length} samples):`);
console.log(`  follower RSS ${range('rssMB')} MB, bare Node ${range('idleMB')} MB → ratio ${(mean('rssMB') / mean('idleMB')).toFixed(2)}× (mean)`);
console.log(`  lineage file at its largest in each sample: ${range('entries', 0)} entries, ${range('bytes', 0)} bytes`);
console.log(`  CPU: follower ${mean('cpu').toFixed(2)} % of one core (mean), bare Node ${mean('idleCpu').toFixed(2)} %; the machine forked ${mean('forks').toFixed(0)} processes a second`);
for (const [i, name] of readdirSync(snapshots).sort().entries()) {
  const heap = heapOf(join(snapshots, name));
  console.log(`  JS heap after a full GC at minute ${HEAP_AT[i]}: ${(heap.bytes / 1e6).toFixed(2)} MB, ${heap.count} objects`);
}
process.exit(0);
