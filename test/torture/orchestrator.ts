// Runs torture worlds, each in a PID, mount, network and cgroup namespace of its own, so that the
// machine-wide paths (scan --reap, watch --reap) see nothing but the world: not a developer's real
// leaks, not another test's processes, not another world's run groups. Outside the world this
// process only creates and removes: the world's directory, its cgroup (killed whole, then removed),
// and the other user the worlds run processes as (useradd, userdel at the end). Root only.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroup2Mount, cgroupV2Path } from '../../src/platform/cgroup.js';
import { describePlan, type Available, type WorldPlan } from './plan.js';
import type { CaseResult } from './report.js';
import { q } from './scripts.js';
import type { WorldInput } from './world-main.js';

/** test/torture/ (the bundled long mode says where it is). */
const SOURCE = process.env.RTRACK_TORTURE_DIR ?? fileURLToPath(new URL('.', import.meta.url));
const CHECKOUT = resolve(SOURCE, '../..');
const RTRACK = join(CHECKOUT, 'bin', 'rtrack.js');
const STAND_IN = join(CHECKOUT, 'test', 'fixtures', 'tasks', 'stand-in-agent.mjs');

export interface Setup {
  bundle: string;
  /** What the worlds may use (the plan generator's options). */
  available: Available;
  foreign?: { uid: number; gid: number; name: string };
  /** The cgroup v2 mount and the directory the worlds' groups go in (this process's own group). */
  mount: string;
  base: string;
  cleanup(): void;
}

const has = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Why the suite cannot run here, or undefined. */
export function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'the torture suite builds real Linux process topologies';
  if (process.getuid?.() !== 0) return 'it needs root: every world runs in PID, mount, network and cgroup namespaces of its own (unshare), so that scan --reap and watch --reap touch nothing outside it';
  for (const tool of ['unshare', 'perl', 'tmux', 'setpriv', 'script', 'ip']) if (!has(tool)) return `${tool} is not installed`;
  if (!existsSync(join(CHECKOUT, 'dist', 'cli', 'main.cjs'))) return 'the CLI is not built: npm run build';
  const mount = cgroup2Mount();
  if (!mount) return 'no cgroup v2 hierarchy is mounted (each world gets a cgroup namespace of its own)';
  if (spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--cgroup', '--net', 'true']).status !== 0) return 'unshare --pid --mount-proc --cgroup --net failed here';
  return undefined;
}

let worlds = 0;

/** Bundles the world driver and creates the other user; call cleanup() at the end whatever happens. */
export async function prepare(options: { foreign?: boolean } = {}): Promise<Setup> {
  const mount = cgroup2Mount()!;
  const own = cgroupV2Path(readFileSync('/proc/self/cgroup', 'utf8')) ?? '/';
  const base = join(mount, own);
  const bundleDir = mkdtempSync(join(tmpdir(), 'rtrack-torture-driver-'));
  const { build } = await import('esbuild');
  const bundle = join(bundleDir, 'world-main.mjs');
  await build({ entryPoints: [join(SOURCE, 'world-main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error' });
  let foreign: Setup['foreign'];
  let name: string | undefined;
  if (options.foreign !== false && has('useradd')) {
    name = `rtt${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', name], { encoding: 'utf8' });
    if (made.status === 0) {
      const id = (flag: string): number => Number(spawnSync('id', [flag, name!], { encoding: 'utf8' }).stdout.trim());
      foreign = { uid: id('-u'), gid: id('-g'), name };
    } else name = undefined;
  }
  let cleaned = false;
  return {
    bundle,
    available: { foreign: foreign !== undefined, screen: has('screen'), dtach: has('dtach') },
    mount,
    base,
    ...(foreign ? { foreign } : {}),
    cleanup(): void {
      if (cleaned) return;
      cleaned = true;
      rmSync(bundleDir, { recursive: true, force: true });
      if (name) {
        spawnSync('userdel', [name], { stdio: 'ignore' });
        spawnSync('groupdel', [name], { stdio: 'ignore' }); // when userdel left it
      }
    },
  };
}

/** Kills a cgroup and everything below it, then removes them. */
async function removeGroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const sub = join(dir, e);
    try {
      if (statSync(sub).isDirectory()) await removeGroup(sub);
    } catch {
      // gone
    }
  }
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    // gone, or a kernel without cgroup.kill: the namespace's end killed its processes
  }
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const failed = (plan: WorldPlan, error: string, durationMs: number): CaseResult => ({
  seed: plan.seed,
  plan: describePlan(plan),
  durationMs,
  error,
  notes: [],
  signalsFile: false,
  wrong: [],
  leaks: [],
  paths: {},
  unclassified: [],
  records: 0,
});

/** Builds one world, runs its paths, judges, and removes everything it made. */
export async function runWorld(setup: Setup, plan: WorldPlan, options: { keepWorld?: boolean; timeoutMs?: number } = {}): Promise<CaseResult & { world?: string }> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'rtrack-torture-'));
  chmodSync(dir, 0o755); // the other user's processes read rec.pl and write their records here
  const group = join(setup.base, `torture-world-${process.pid}-${++worlds}`);
  let result: CaseResult;
  try {
    for (const f of ['rec.pl', 'envx.pl', 'init.pl']) copyFileSync(join(SOURCE, f), join(dir, f));
    copyFileSync(STAND_IN, join(dir, 'stand-in-agent.mjs'));
    for (const f of ['rec.pl', 'envx.pl', 'init.pl', 'stand-in-agent.mjs']) chmodSync(join(dir, f), 0o644);
    const input: WorldInput = { plan, dir, rtrack: RTRACK, node: process.execPath, standIn: join(dir, 'stand-in-agent.mjs'), ...(setup.foreign ? { foreign: setup.foreign } : {}) };
    writeFileSync(join(dir, 'world.json'), JSON.stringify(input));
    mkdirSync(group);
    const inner = `umount -l "$1" && mount -t cgroup2 cgroup2 "$1" && ip link set lo up && exec perl "$2" "$3" "$4" "$5"`;
    const script = `echo $$ > ${q(join(group, 'cgroup.procs'))} && exec unshare --pid --fork --mount-proc --cgroup --net --kill-child sh -c ${q(inner)} _ ${q(setup.mount)} ${q(join(dir, 'init.pl'))} ${q(process.execPath)} ${q(setup.bundle)} ${q(join(dir, 'world.json'))}`;
    const log: Buffer[] = [];
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
    child.stdout!.on('data', (d: Buffer) => log.push(d));
    child.stderr!.on('data', (d: Buffer) => log.push(d));
    const timeoutMs = options.timeoutMs ?? 180_000;
    const code = await new Promise<number | string>((resolveExit) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL'); // unshare dies; its child, the world's PID 1, gets SIGKILL (--kill-child), and with it the whole namespace
        resolveExit('timeout');
      }, timeoutMs);
      child.on('exit', (c, s) => {
        clearTimeout(timer);
        resolveExit(c ?? String(s));
      });
    });
    const resultFile = join(dir, 'result.json');
    if (existsSync(resultFile)) result = JSON.parse(readFileSync(resultFile, 'utf8')) as CaseResult;
    else result = failed(plan, `the world ended without a result (${code === 'timeout' ? `timed out after ${timeoutMs} ms` : `exit ${code}`}): ${Buffer.concat(log).toString().slice(-1500)}`, Date.now() - started);
  } catch (err) {
    result = failed(plan, (err as Error).message, Date.now() - started);
  } finally {
    await removeGroup(group);
  }
  const keep = options.keepWorld === true;
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return keep ? { ...result, world: dir } : result;
}
