#!/usr/bin/env node
// node bench/hook.js [--runs 30] [--compare <another build's bin/rtrack.js>]   (after npm run build)
// What rtrack's hooks add to an agent's session start and end. This process stands in for the agent:
// it runs each hook command as Claude Code does — `/bin/sh -c '<command>'`, the hook JSON on stdin,
// CLAUDE_PID naming itself and CLAUDE_ENV_FILE a file of the session — and waits for it to exit,
// as the agent waits before it goes on. Measured interleaved in the same run, medians:
//   - the commands `rtrack hooks install` writes (src/hooks/hook-commands.ts hookCommand: rtrack runs
//     detached, the agent waits for the shell alone), and how long after the hook returned its work
//     is done (the session registered; its end recorded) — not time the agent waits;
//   - the earlier form the agent waited for (`… && node bin/rtrack.js session start … || true`);
//   - with --compare, that form running another build of rtrack (an earlier commit's, built);
//   - no hook at all (0 ms: the agent spawns nothing), `sh -c true` (a hook that does nothing) and
//     `sh -c 'node -e 0'` (the least a hook that waits for Node can cost).
// Every hook registers this process as the session's agent; the first one also starts the follower,
// which then runs meanwhile, as on a user's machine. HOME and XDG_* are a temporary directory; the
// follower is stopped by its pid at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hookCommand, readRecords } from '../dist/internal.js';

const args = process.argv.slice(2);
const RUNS = Math.max(5, Number(args[args.indexOf('--runs') + 1]) || 30);
const RTRACK = fileURLToPath(new URL('../bin/rtrack.js', import.meta.url));
const OTHER = args.includes('--compare') ? args[args.indexOf('--compare') + 1] : undefined;
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-hook-'));
const state = join(home, 'state', 'rtrack');
const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), CLAUDE_PID: String(process.pid), CLAUDECODE: '1' };

/** The follower the first SessionStart started: stopped by its pid (from its lock), checked to be that follower. */
function stopFollower() {
  try {
    const [pid] = readFileSync(join(state, 'follower.lock'), 'utf8').split(' ');
    if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('follower-main.cjs')) process.kill(Number(pid), 'SIGTERM');
  } catch {
    // none started, or gone
  }
}
process.on('exit', () => {
  stopFollower();
  rmSync(home, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const installed = (subcommand) => hookCommand({ node: process.execPath, bin: RTRACK, subcommand, agent: 'claude-code' });
/** The form installed before hooks ran detached: the agent waits for Node. */
const waited = (subcommand, bin = RTRACK) => `[ -f ${q(bin)} ] && [ -x ${q(process.execPath)} ] && ${q(process.execPath)} ${q(bin)} session ${subcommand} --agent claude-code || true`;

let session = 0;
const payload = (event) =>
  JSON.stringify({
    session_id: `bench-${session}`,
    transcript_path: join(home, `bench-${session}.jsonl`),
    cwd: home,
    hook_event_name: event,
    ...(event === 'SessionStart' ? { source: 'startup' } : { reason: 'other' }),
  });
/** Runs a command as the agent runs a hook; its wall time in ms. */
function run(command, event) {
  const t0 = performance.now();
  // Its stdout and stderr are pipes the agent reads to their end, as Claude Code does: a hook that
  // left them open to a process still running would be waited for.
  const r = spawnSync('/bin/sh', ['-c', command], { input: payload(event), env: { ...env, CLAUDE_ENV_FILE: join(home, `env-${session}.sh`) }, stdio: 'pipe', encoding: 'utf8' });
  if (r.status !== 0 || r.stdout !== '' || r.stderr !== '') throw new Error(`${command} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return performance.now() - t0;
}

/** Whether this session's record is there (start), or its end is recorded (end). */
const done = (event) => readRecords(state).some(({ record }) => record.sessionId === `bench-${session}` && (event === 'SessionStart' || record.endReason === 'other'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until the detached hook's work is done; how long after `since` (ms). */
async function settled(event, since) {
  while (!done(event)) {
    if (performance.now() - since > 10_000) throw new Error(`the ${event} hook of bench-${session} did nothing in 10 s: ${readFileSync(join(state, 'hooks.log'), 'utf8')}`);
    await sleep(2);
  }
  return performance.now() - since;
}

const times = new Map(['sh -c true', "sh -c 'node -e 0'", 'installed SessionStart hook', '  … its work done after (SessionStart)', 'installed SessionEnd hook', '  … its work done after (SessionEnd)', 'waited-for SessionStart hook', 'waited-for SessionEnd hook', ...(OTHER ? ['  … running the other build (start)', '  … running the other build (end)'] : [])].map((name) => [name, []]));
const add = (name, ms) => times.get(name).push(ms);
async function detached(event) {
  const t0 = performance.now();
  add(`installed ${event} hook`, run(installed(event === 'SessionStart' ? 'start' : 'end'), event));
  add(`  … its work done after (${event})`, await settled(event, t0));
}

// The first session: its SessionStart starts the follower.
run('true', 'SessionStart'); // the first spawn of this process is slower, whatever it runs
session++;
const t0 = performance.now();
const first = run(installed('start'), 'SessionStart');
const firstDone = await settled('SessionStart', t0);
run(installed('end'), 'SessionEnd');
await settled('SessionEnd', performance.now());
for (let r = 0; r < RUNS; r++) {
  session++;
  add('sh -c true', run('true', 'SessionStart'));
  add("sh -c 'node -e 0'", run(`${q(process.execPath)} -e 0`, 'SessionStart'));
  await detached('SessionStart');
  await detached('SessionEnd');
  session++;
  add('waited-for SessionStart hook', run(waited('start'), 'SessionStart'));
  if (!done('SessionStart')) throw new Error('the waited-for SessionStart did nothing');
  add('waited-for SessionEnd hook', run(waited('end'), 'SessionEnd'));
  if (!done('SessionEnd')) throw new Error('the waited-for SessionEnd did nothing');
  if (OTHER) {
    session++;
    add('  … running the other build (start)', run(waited('start', OTHER), 'SessionStart'));
    add('  … running the other build (end)', run(waited('end', OTHER), 'SessionEnd'));
    if (!done('SessionEnd')) throw new Error('the other build did nothing');
  }
}
let problems = '';
try {
  problems = readFileSync(join(state, 'hooks.log'), 'utf8').trim();
} catch {
  // none
}
if (problems) throw new Error(`the hooks logged problems:\n${problems}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`hooks as an agent runs them (sh -c, JSON on stdin), medians of ${RUNS} interleaved runs, ${cpus()[0].model}, Node ${process.version}${OTHER ? `; the other build: ${OTHER}` : ''}`);
console.log(`  ${'no hook'.padEnd(40)}   0 ms`);
for (const [name, xs] of times) console.log(`  ${name.padEnd(40)} ${median(xs).toFixed(0).padStart(3)} ms  (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`);
console.log(`  the first session's SessionStart, which starts the follower: ${first.toFixed(0)} ms (its work done after ${firstDone.toFixed(0)} ms)`);
