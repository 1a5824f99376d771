// What the benchmarks share (bench/snapshot.js, gate.js, …): their options, N sleeping processes with
// realistic command lines — killed by pid however the benchmark ends — medians of timings, and a
// temporary HOME.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

// A benchmark never writes the user's own rtrack state (a run that reaps records its signals):
// HOME and the XDG directories point at a temporary directory, removed at exit.
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-home-'));
Object.assign(process.env, { HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), XDG_DATA_HOME: join(home, 'data') });
process.on('exit', () => rmSync(home, { recursive: true, force: true }));

const args = process.argv.slice(2);
/** A command-line option's text (`--against ../old`), or the fallback. */
export const textOption = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

/** A numeric command-line option (`--processes 1000`), or the fallback. */
export const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

export const COMMANDS = [
  '/usr/lib/chromium/chromium --type=renderer --headless --lang=en-US --enable-automation --remote-debugging-port=0 --field-trial-handle=1718379636,r,6418745418271437846',
  'node /home/agent/.npm/_npx/9833c18b2d85bc59/node_modules/@playwright/mcp/cli.js --headless --isolated --browser chromium',
  '/usr/bin/python3 -m some_mcp_server --stdio --log-level info',
  'npm exec @modelcontextprotocol/server-filesystem /home/agent/project',
];

const children = [];
/** Kills every sleeper started (also on exit and on SIGINT, SIGTERM, SIGHUP). */
export function cleanup() {
  for (const child of children) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

/** Starts n sleepers named after COMMANDS; `env(i)`: the i-th one's environment. */
export async function spawnSleepers(n, env = () => process.env) {
  for (let i = 0; i < n; i++) {
    children.push(spawn('sleep', ['3600'], { argv0: `${COMMANDS[i % COMMANDS.length]} --instance=${i}`, stdio: 'ignore', env: env(i) }));
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 300));
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** How long fn takes, in ms. */
export async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
