#!/usr/bin/env node
// node bench/follower.js [--agents 5] [--children 40] [--seconds 30] [--interval 1000]   (after npm run build)
// What the session follower costs: N stand-in agent processes (named `claude`), each with M
// sleeping children (N × (M + 1) processes in all), registered as the SessionStart hook would,
// followed by the real follower (`rtrack session start` spawns it) for the given time. Measured in the same run, side by
// side: the follower's resident memory and CPU against a bare Node process that only waits, and
// against `node -e 0`'s start-up. HOME and XDG_STATE_HOME are a temporary directory; every process
// it started is killed by pid, however it ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinuxReader, FOLLOWER_NODE_FLAGS, registerSession } from '../dist/internal.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const AGENTS = option('--agents', 5);
const CHILDREN = option('--children', 40);
const SECONDS = option('--seconds', 30);
const FOLLOWER = fileURLToPath(new URL('../dist/cli/follower-main.cjs', import.meta.url)); // what `rtrack session start` spawns, with the same flags
const reader = createLinuxReader();

const started = [];
const agents = [];
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-follower-'));
function cleanup() {
  for (const child of started) {
    try {
      // An agent leads a process group of its own: killing the group takes its sleepers with it.
      if (child.exitCode === null && child.signalCode === null) process.kill(agents.includes(child) ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CLK_TCK = 100;

/** RSS (KiB) and CPU time (s) of a process, from /proc. */
function usage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK };
}

const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state') };
const state = join(home, 'state', 'rtrack');

// The agents: `claude` (bash exec -a) that start M sleepers each, then wait.
for (let a = 0; a < AGENTS; a++) {
  const agent = spawn('bash', ['-c', `exec -a claude bash -c 'for i in $(seq ${CHILDREN}); do sleep 3600 & done; wait'`], { stdio: 'ignore', detached: true });
  started.push(agent);
  agents.push(agent);
}
await sleep(1000);
for (const [i, agent] of agents.entries()) {
  const status = await reader.readStatus(agent.pid);
  await registerSession(state, { agent: 'claude-code', sessionId: `bench-${i}`, agentPid: agent.pid, agentStartTime: status.startTime, startedAt: new Date().toISOString() });
}
const INTERVAL = option('--interval', 1000);
const follower = spawn(process.execPath, [...FOLLOWER_NODE_FLAGS, FOLLOWER, '--interval', String(INTERVAL)], { env, stdio: 'ignore' });
started.push(follower);
const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
started.push(idle);

await sleep(3000); // warm-up: the first polls find every child
const before = { follower: usage(follower.pid), idle: usage(idle.pid) };
const t0 = performance.now();
let peakFollower = 0;
let peakIdle = 0;
while (performance.now() - t0 < SECONDS * 1000) {
  await sleep(1000);
  peakFollower = Math.max(peakFollower, usage(follower.pid).rssKiB);
  peakIdle = Math.max(peakIdle, usage(idle.pid).rssKiB);
}
const elapsed = (performance.now() - t0) / 1000;
const after = { follower: usage(follower.pid), idle: usage(idle.pid) };
const cpuShare = (who) => (100 * (after[who].cpuSeconds - before[who].cpuSeconds)) / elapsed;
// The lineage file: a line with the boot id, then one process a line.
const lineage = readFileSync(join(state, 'sessions', `${agents[0].pid}-${(await reader.readStatus(agents[0].pid)).startTime}.lineage.jsonl`), 'utf8').split('\n').filter(Boolean).length - 1;

console.log(`session follower: ${AGENTS} agents, ${AGENTS * (CHILDREN + 1)} processes followed, every ${INTERVAL} ms, ${elapsed.toFixed(0)} s, ${cpus()[0].model}, Node ${process.version}`);
console.log(`  lineage recorded for the first agent: ${lineage} processes (of its ${CHILDREN} children)`);
console.log(`  resident memory: follower ${(after.follower.rssKiB / 1024).toFixed(1)} MB (peak ${(peakFollower / 1024).toFixed(1)}), bare node ${(after.idle.rssKiB / 1024).toFixed(1)} MB (peak ${(peakIdle / 1024).toFixed(1)}) → ratio ${(after.follower.rssKiB / after.idle.rssKiB).toFixed(2)}×`);
console.log(`  CPU: follower ${cpuShare('follower').toFixed(2)} % of one core, bare node ${cpuShare('idle').toFixed(2)} %`);
process.exit(0); // the children would keep the event loop alive: `exit` kills them
