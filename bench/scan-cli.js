#!/usr/bin/env node
// node bench/scan-cli.js [--processes 1000,5000,10000] [--suspects 1000] [--runs 9] [--hyperfine] [--compare <other checkout>/bin/rtrack.js]   (after npm run build; Linux)
// `rtrack scan` as a person runs it — the whole CLI, its start-up included, wall time — against
// `ps -eo pid,ppid,rss,args`, measured in the same run at each size (the machines are shared and
// noisy: compare the ratios). Each size is measured twice: without suspects (N sleepers, children of
// a live process), and with `--suspects` of them re-parented to init (or the nearest subreaper) and
// named like MCP servers, as the public reports of hundreds of orphaned MCP servers describe — every
// one a suspected leak `scan` lists. Contenders: `rtrack scan`, `rtrack scan --json`, `rtrack scan
// --port N` (who listens on port N, which a python3 http.server of the bench's holds: every
// process's sockets are read), `ps`. Timing: each contender run in
// turn (interleaved), medians of --runs; with --hyperfine (Debian's `hyperfine`), hyperfine's medians
// instead (--runs runs each, 2 warm-ups). Output goes to /dev/null, as to a pager that drops it.
// `--compare` measures another build too (an older checkout's bin/rtrack.js), in the same rounds.
// HOME and XDG_* point at a temporary directory: no agent registrations, no config of the user's.
// Every process it starts is killed by pid, however it ends.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textOption } from './sleepers.js';

const SIZES = textOption('--processes', '1000,5000,10000').split(',').map(Number);
const SUSPECTS = Number(textOption('--suspects', 1000));
const RUNS = Math.max(3, Number(textOption('--runs', 9)));
const HYPERFINE = process.argv.slice(2).includes('--hyperfine');
const RTRACK = fileURLToPath(new URL('../bin/rtrack.js', import.meta.url));
const COMPARE = textOption('--compare', undefined);

if (process.pid === 1) {
  // As a PID namespace's init, every sleeper would be re-parented to us, and no orphan reaped.
  process.stderr.write("bench/scan-cli.js: not as a PID namespace's init: run it under a shell that waits, e.g. bash -c 'node bench/scan-cli.js; exit'\n");
  process.exit(2);
}

const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-scan-cli-'));
const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), XDG_RUNTIME_DIR: home };
const children = []; // the sleepers we are the parent of
const orphans = []; // pids of the re-parented ones
function cleanup() {
  for (const child of children.splice(0)) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of orphans.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', () => {
  cleanup();
  rmSync(home, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

const COMMANDS = [
  '/usr/lib/chromium/chromium --type=renderer --headless --lang=en-US --enable-automation --remote-debugging-port=0',
  '/usr/bin/python3 -m http.server --directory /home/agent/project/site',
  'npm run dev -- --host 127.0.0.1',
  '/usr/bin/postgres -D /var/lib/postgresql/data',
];
// What a leaked MCP server looks like (re-parented, an agent helper by its command line).
const MCP = ['node /home/agent/.npm/_npx/9833c18b2d85bc59/node_modules/@playwright/mcp/cli.js --headless --isolated', 'npm exec @modelcontextprotocol/server-filesystem /home/agent/project'];

async function spawnSleepers(n) {
  for (let i = 0; i < n; i++) {
    children.push(spawn('sleep', ['3600'], { argv0: `${COMMANDS[i % COMMANDS.length]} --instance=${i}`, stdio: 'ignore' }));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 10));
  }
}

/** n sleepers named like MCP servers, whose parent (a shell) exits: re-parented to init or the nearest subreaper. */
function spawnOrphans(n) {
  for (let start = 0; start < n; start += 500) {
    const count = Math.min(500, n - start);
    const script = `for i in $(seq ${start} ${start + count - 1}); do if [ $((i % 2)) = 0 ]; then (exec -a "${MCP[0]} --instance=$i" sleep 3600 </dev/null >/dev/null 2>&1) & else (exec -a "${MCP[1]} --instance=$i" sleep 3600 </dev/null >/dev/null 2>&1) & fi; echo $!; done`;
    const out = execFileSync('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 }).toString();
    for (const line of out.split('\n')) if (line.trim()) orphans.push(Number(line));
  }
}

const processCount = () => execFileSync('ps', ['-e', '--no-headers', '-o', 'pid']).toString().trim().split('\n').length;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// A server for `scan --port` to find (one process more on the machine, a child of ours).
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { stdio: 'ignore' });
process.on('exit', () => server.kill('SIGKILL'));
const contenders = [
  ['ps -eo pid,ppid,rss,args', 'ps', ['-eo', 'pid,ppid,rss,args']],
  ['rtrack scan', process.execPath, [RTRACK, 'scan']],
  ['rtrack scan --json', process.execPath, [RTRACK, 'scan', '--json']],
  ['rtrack scan --port', process.execPath, [RTRACK, 'scan', '--port', String(port)]],
  ...(COMPARE
    ? [
        ['before: rtrack scan', process.execPath, [COMPARE, 'scan']],
        ['before: rtrack scan --json', process.execPath, [COMPARE, 'scan', '--json']],
        ['before: rtrack scan --port', process.execPath, [COMPARE, 'scan', '--port', String(port)]],
      ]
    : []),
];

/** Medians in ms, by contender name. */
function measure() {
  if (HYPERFINE) {
    const out = join(home, 'hyperfine.json');
    const commands = contenders.map(([, file, argv]) => [file, ...argv].map((a) => `'${a}'`).join(' '));
    execFileSync('hyperfine', ['-N', '--warmup', '2', '--runs', String(RUNS), '--output', 'null', '-i', '--export-json', out, ...commands], { env, stdio: 'ignore' });
    const results = JSON.parse(execFileSync('cat', [out]).toString()).results;
    return new Map(contenders.map(([name], i) => [name, results[i].median * 1000]));
  }
  const times = new Map(contenders.map(([name]) => [name, []]));
  for (let r = -1; r < RUNS; r++) {
    for (const [name, file, argv] of contenders) {
      const t0 = performance.now();
      const result = spawnSync(file, argv, { env, stdio: 'ignore' });
      const ms = performance.now() - t0;
      if (result.status !== 0) throw new Error(`${name} exited ${result.status ?? result.signal}`);
      if (r >= 0) times.get(name).push(ms); // the first round warms the caches
    }
  }
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

console.log(
  `rtrack scan against ps, wall time, ${HYPERFINE ? `hyperfine medians of ${RUNS}` : `medians of ${RUNS} interleaved runs`}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
);
console.log('');
console.log(`| sleepers | suspects | on the machine | ps | scan | × ps | scan --json | × ps | scan --port | × ps |${COMPARE ? ' before: scan | × ps | --json | × ps | --port | × ps |' : ''}`);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${COMPARE ? ' ---: | ---: | ---: | ---: | ---: | ---: |' : ''}`);
for (const size of SIZES) {
  for (const suspects of [0, Math.min(SUSPECTS, size)]) {
    cleanup();
    await spawnSleepers(size - suspects);
    spawnOrphans(suspects);
    await new Promise((r) => setTimeout(r, 1000));
    const count = processCount();
    const m = measure();
    const ps = m.get('ps -eo pid,ppid,rss,args');
    const cell = (name) => `${m.get(name).toFixed(0)} ms | ${(m.get(name) / ps).toFixed(2)}×`;
    const before = COMPARE ? ` ${cell('before: rtrack scan')} | ${cell('before: rtrack scan --json')} | ${cell('before: rtrack scan --port')} |` : '';
    console.log(`| ${size} | ${suspects} | ${count} | ${ps.toFixed(0)} ms | ${cell('rtrack scan')} | ${cell('rtrack scan --json')} | ${cell('rtrack scan --port')} |${before}`);
  }
}
process.exit(0);
