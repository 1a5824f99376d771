// The driver of one torture world. It runs as the child of the world's PID 1 (init.pl) inside a
// PID, mount, network and cgroup namespace of its own (orchestrator.ts), builds the plan's topology
// on real processes, runs the real CLI's paths on it (run --reap, the follower with sessions.reap,
// scan --reap, one reaping tick of watch --reap), and judges every signal against the ground truth.
//   node world-main.mjs <world.json>    → <world dir>/result.json
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { allSteps, describePlan, keepPatterns, type Block, type PersonAct, type Step, type WorldPlan } from './plan.js';
import { aliveKey, commandLine, keyOf, ownerUid, readStat, Sweeper } from './proc.js';
import type { CaseResult, PathStats, WrongKill } from './report.js';
import { blockText, hostName, prelude, q, tmuxSocket, words, type WorldPaths } from './scripts.js';
import { judge, parseRtrackSignals, type Interval, type RtrackSignal, type SignalSeen, type TruthRecord } from './truth.js';

export interface WorldInput {
  plan: WorldPlan;
  dir: string;
  /** bin/rtrack.js of the checkout */
  rtrack: string;
  node: string;
  /** the stand-in agent, copied into the world (readable by the other user) */
  standIn: string;
  foreign?: { uid: number; gid: number; name: string };
}

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as WorldInput;
const { plan, dir, rtrack, node } = input;
const t0 = Date.now();
const home = join(dir, 'home');
const state = join(home, 'state', 'rtrack');
const config = join(dir, 'rtrack.yaml');
const paths: WorldPaths = { dir, foreign: input.foreign ? { uid: input.foreign.uid, gid: input.foreign.gid } : undefined };
const notes: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rel = (t: number): number => t - t0;

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(stepMs);
  }
  if (await cond()) return;
  throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}`);
}

// ---------------------------------------------------------------- the world's files and environment

mkdirSync(home, { recursive: true });
mkdirSync(join(dir, 'screens'), { mode: 0o700 });
chmodSync(join(dir, 'screens'), 0o700);
for (const f of ['registry.log', 'signals.log', 'agents.log']) {
  writeFileSync(join(dir, f), '');
  chmodSync(join(dir, f), 0o666);
}
writeFileSync(join(dir, 'rec-shell.sh'), `#!/bin/sh\nexec perl ${q(`${dir}/rec.pl`)} "\${TORTURE_LABEL:-pane}" --shell\n`, { mode: 0o755 });
const fhome = join(dir, 'fhome');
if (input.foreign) {
  mkdirSync(fhome);
  chownSync(fhome, input.foreign.uid, input.foreign.gid);
}
const patterns = keepPatterns(plan);
const reap = plan.hooks === 'reap';
writeFileSync(
  config,
  [
    'diagnostics:',
    '  resource_tracking:',
    ...(patterns.config.length > 0 ? ['    keep:', ...patterns.config.map((p) => `      - '${p}'`)] : []),
    '    sessions:',
    `      reap: ${reap}`,
    `      linger_ms: ${plan.lingerMs}`,
    '',
  ].join('\n'),
);
/** A person's environment here: no agent's markers, no run's tag. */
const baseEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  HOME: home,
  XDG_STATE_HOME: join(home, 'state'),
  XDG_CONFIG_HOME: join(home, 'config'),
  SHELL: join(dir, 'rec-shell.sh'),
  SCREENDIR: join(dir, 'screens'),
  TERM: 'xterm',
  LANG: 'C.UTF-8',
};
const hookCommand = (event: 'start' | 'end'): string => `${q(node)} ${q(rtrack)} session ${event} --agent claude-code --config ${q(config)}`;
const sessionId = (s: string): string => `${(plan.seed >>> 0).toString(16).padStart(8, '0')}-7047-4e11-8a5e-${s.padStart(12, '0')}`;

// ---------------------------------------------------------------- registrations and ground truth

interface Registration {
  at: number;
  label: string;
  pid: number;
  start: number;
  ppid: number;
  uid: number;
}

class Registry {
  private offset = 0;
  private rest = '';
  readonly entries: Registration[] = [];

  poll(): void {
    const fd = openSync(join(dir, 'registry.log'), 'r');
    try {
      const buf = Buffer.alloc(65536);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.rest += buf.subarray(0, n).toString('latin1');
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.rest.split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) {
      const [tag, at, label, pid, start, ppid, uid] = line.split(' ');
      if (tag !== 'reg' || !label) continue;
      this.entries.push({ at: Number(at), label, pid: Number(pid), start: Number(start), ppid: Number(ppid), uid: Number(uid) });
    }
  }

  byLabel(label: string): Registration | undefined {
    return this.entries.find((e) => e.label === label);
  }

  byPid(pid: number): Registration | undefined {
    return [...this.entries].reverse().find((e) => e.pid === pid);
  }

  async expect(labels: string[], what: string): Promise<Registration[]> {
    await waitFor(
      () => {
        this.poll();
        return labels.every((l) => this.byLabel(l));
      },
      15_000,
      `${what} to register ${labels.filter((l) => !this.byLabel(l)).join(', ')}`,
    );
    return labels.map((l) => this.byLabel(l)!);
  }

  async expectPid(pid: number, what: string): Promise<Registration> {
    await waitFor(
      () => {
        this.poll();
        return this.byPid(pid) !== undefined;
      },
      15_000,
      `${what} (pid ${pid}) to register`,
    );
    return this.byPid(pid)!;
  }
}

const registry = new Registry();
const truth = new Map<string, TruthRecord>();
const ownerLive = new Map<string, Interval[]>();
const sweeper = new Sweeper();
/** rtrack's processes the driver started, by pid: what they are. */
const rtrackPids = new Map<number, string>();
interface Phase {
  name: string;
  path: string;
  start: number;
  end: number;
}
const phases: Phase[] = [];
const children: ChildProcess[] = [];

/** The recorded process with this pid now (the latest registered). */
function recordByPid(pid: number): TruthRecord | undefined {
  let best: TruthRecord | undefined;
  for (const r of truth.values()) if (r.pid === pid && (!best || r.at > best.at)) best = r;
  return best;
}

function addRecord(r: Omit<TruthRecord, 'key' | 'from' | 'hosting'> & { hosting?: boolean; from?: number[]; parentPid?: number }): TruthRecord {
  const key = keyOf(r.pid, r.start);
  const known = truth.get(key);
  if (known) return known; // the first registration says whose it is (a shared tmux server: who started it)
  const parent = r.parentPid !== undefined ? recordByPid(r.parentPid) : undefined;
  const record: TruthRecord = {
    key,
    pid: r.pid,
    start: r.start,
    label: r.label,
    kind: r.kind,
    owner: r.owner,
    role: r.role,
    at: r.at,
    hosting: r.hosting ?? false,
    from: r.from ?? [],
    ...(parent && parent.key !== key ? { parentKey: parent.key } : {}),
    ...(r.notALeak ? { notALeak: r.notALeak } : {}),
    ...(r.mayExit ? { mayExit: true } : {}),
    uid: r.uid ?? ownerUid(r.pid),
    command: commandLine(r.pid),
  };
  truth.set(key, record);
  return record;
}

/** A process by pid, read now (its identity). */
function recordPid(pid: number, r: Omit<TruthRecord, 'key' | 'from' | 'hosting' | 'pid' | 'start' | 'at'> & { hosting?: boolean }): TruthRecord | undefined {
  const s = readStat(pid);
  if (!s) {
    notes.push(`${r.label} (pid ${pid}) was gone before it could be recorded`);
    return undefined;
  }
  return addRecord({ ...r, pid, start: s.start, at: Date.now(), parentPid: s.ppid });
}

/** The role of a block's process: kept, another user's, or its owner's (a leak once its owner is over). */
function blockRole(b: Block): { role: TruthRecord['role']; kind: string } {
  // Started by the run or session under another user (setpriv): it inherited their tag or markers
  // and is their leak like any other (root reaps it; a user's rtrack cannot read it, so never does).
  if (b.kind === 'foreign') return { role: 'leak', kind: 'foreign:inherited' };
  if (b.kind === 'pipeline') return { role: b.kept ? 'kept' : 'leak', kind: b.kept ? 'kept:pipeline' : 'pipeline' };
  if (b.kind === 'proc') {
    const title = b.launch === 'perl-title' ? '+title' : '';
    if (b.keep && 'env' in b.keep) return { role: 'kept', kind: `kept:env-${b.keep.env}${title}` };
    if (b.keep) return { role: 'kept', kind: `kept:pattern-${b.keep.pattern}${b.keep.channel === 'config' ? '' : `-${b.keep.channel}`}${title}` };
    return { role: 'leak', kind: `proc:${b.launch}${b.markersLate ? '+markers-late' : ''}` };
  }
  return { role: 'leak', kind: b.kind };
}

/** Records what a block registered: the process(es), and the host a pane or window runs in. */
async function recordBlock(owner: string, b: Block, labels: string[]): Promise<void> {
  const regs = await registry.expect(labels, `${owner}.${b.id}`);
  const { role, kind } = blockRole(b);
  for (const reg of regs) {
    const sub = reg.label.slice(`${owner}.${b.id}`.length + 1); // '', daemon, srv, tee, pane, win
    if (b.kind === 'tmux' || b.kind === 'screen' || b.kind === 'dtach') {
      const hostKind = b.kind === 'tmux' ? 'tmux:server' : b.kind === 'screen' ? 'screen:server' : 'dtach:master';
      const host = readStat(reg.ppid);
      if (host) addRecord({ pid: reg.ppid, start: host.start, label: `${owner}.${b.id}.host`, kind: hostKind, owner, role: 'leak', at: reg.at, hosting: true, parentPid: host.ppid });
      addRecord({ ...reg, kind: `${b.kind}:${sub}`, owner, role: 'leak', hosting: true, parentPid: reg.ppid });
      continue;
    }
    const detail = sub === 'daemon' && b.kind === 'proc' ? `daemon-${b.daemon === 'quick' ? 'at-once' : 'lingering'}` : sub;
    addRecord({ ...reg, kind: detail ? `${kind}:${detail}` : kind, owner, role, parentPid: reg.ppid });
  }
}

// ---------------------------------------------------------------- processes the driver starts

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: string | null }>;
}

function startCli(name: string, args: string[], env: NodeJS.ProcessEnv = baseEnv): Cli {
  const child = spawn(node, [rtrack, ...args], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (child.pid) {
    rtrackPids.set(child.pid, name);
    const s = readStat(child.pid);
    if (s) addRecord({ pid: child.pid, start: s.start, label: `rtrack ${name}`, kind: `own:${name.split(' ')[0]}`, owner: 'rtrack', role: 'own', at: Date.now(), mayExit: true });
  }
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => setTimeout(() => resolve({ code, signal }), 50)));
  return { child, stdout: () => out, stderr: () => err, done };
}

async function finish(c: Cli, timeoutMs: number, what: string): Promise<{ code: number | null; signal: string | null }> {
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
  const r = await Promise.race([c.done, timer]);
  if (r === 'timeout') {
    c.child.kill('SIGKILL');
    throw new Error(`${what} did not finish in ${timeoutMs} ms; stderr: ${c.stderr().slice(-400)}`);
  }
  return r;
}

/** A shell command of the driver's (a person's), run to its end. */
function sh(script: string, env: NodeJS.ProcessEnv = baseEnv, cwd = home): string {
  const r = spawnSync('bash', ['-c', script], { env, cwd, encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`${script.slice(0, 200)} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

interface StandIn {
  child: ChildProcess;
  pids: Record<string, number>;
}

/** A stand-in Claude Code session (`session` kind) named claude; its Bash tool also runs `tool`. */
async function startStandIn(session: string, label: string, options: { tool?: string; source?: string; env?: NodeJS.ProcessEnv; cwd?: string; asUser?: boolean } = {}): Promise<StandIn> {
  const env: NodeJS.ProcessEnv = { ...baseEnv, ...options.env, STAND_IN_SLEEP: `perl ${dir}/rec.pl ${label}`, STAND_IN_RECORD: join(dir, 'agents.log') };
  if (plan.hooks !== 'none' && !options.asUser) Object.assign(env, { STAND_IN_HOOK_START: hookCommand('start'), STAND_IN_HOOK_END: hookCommand('end') });
  if (options.tool) env.STAND_IN_BASH = options.tool;
  if (options.source) env.STAND_IN_SOURCE = options.source;
  const prefix = options.asUser && input.foreign ? ['setpriv', `--reuid=${input.foreign.uid}`, `--regid=${input.foreign.gid}`, '--clear-groups'] : [];
  const child = spawn(prefix[0] ?? 'bash', [...prefix.slice(1), ...(prefix.length > 0 ? ['bash'] : []), '-c', 'exec -a claude "$0" "$@"', node, input.standIn, 'session', session], {
    env,
    cwd: options.cwd ?? home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stand-in ${session} printed nothing in 30 s; stderr: ${err.slice(-400)}`)), 30_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString());
    });
    child.once('exit', (code) => reject(new Error(`stand-in ${session} exited (${code}); stderr: ${err.slice(-400)}`)));
  });
  return { child, pids: JSON.parse(line) as Record<string, number> };
}

/** Records a stand-in's agent and the three processes it starts (recorders registered under `label`). */
async function recordStandIn(s: { pids: Record<string, number> }, owner: string, label: string, role: TruthRecord['role'], kindPrefix: string): Promise<void> {
  const agent = s.pids.agent!;
  recordPid(agent, { label: `${label}.agent`, kind: `${kindPrefix}agent`, owner, role });
  for (const name of ['mcp', 'tool', 'devServer']) {
    const pid = s.pids[name];
    if (!pid) continue;
    const reg = await registry.expectPid(pid, `${label}.${name}`);
    addRecord({ ...reg, label: `${label}.${name}`, kind: `${kindPrefix}${name}`, owner, role, parentPid: reg.ppid });
  }
}

// ---------------------------------------------------------------- the steps

const agents = new Map<string, { pid: number; start: number; child: ChildProcess }>();
const ended = new Map<string, { pid: number; start: number; at: number }[]>();
const runReports: Record<string, unknown> = {};
const outputs: { name: string; text: string; summary: string }[] = [];

/** What scan --reap --json says it reaped, in one line. */
function scanSummary(stdout: string): string {
  try {
    const scan = JSON.parse(stdout) as { reaped?: { pid: number; command: string; result: string; reason?: string }[] };
    return `reaped: ${(scan.reaped ?? []).map((r) => `${r.pid} ${r.result}${r.reason ? ` (${r.reason})` : ''}`).join(', ') || 'nothing'}`;
  } catch {
    return `(no JSON: ${stdout.slice(0, 200)})`;
  }
}
const hostsByLabel = new Map<string, { block: Block; owner: string }>();
for (const s of allSteps(plan)) {
  if (s.do === 'session') for (const b of s.blocks) hostsByLabel.set(`${s.session}.${b.id}`, { block: b, owner: s.session });
  if (s.do === 'run') for (const b of s.blocks) hostsByLabel.set(`${s.run}.${b.id}`, { block: b, owner: s.run });
}

function toolScript(owner: string, blocks: Block[]): { text: string; labels: Map<Block, string[]> } {
  const labels = new Map<Block, string[]>();
  const parts = [prelude(paths)];
  for (const b of blocks) {
    const t = blockText(paths, `${owner}.${b.id}`, b);
    parts.push(t.text);
    labels.set(b, t.labels);
  }
  return { text: parts.join('\n'), labels };
}

async function sessionStep(step: Step & { do: 'session' }): Promise<void> {
  ownerLive.set(step.session, [[-Infinity, Infinity]]);
  const tool = toolScript(step.session, step.blocks);
  const s = await startStandIn(sessionId(step.session), step.session, { tool: tool.text });
  const s0 = readStat(s.pids.agent!);
  if (s0) agents.set(step.session, { pid: s.pids.agent!, start: s0.start, child: s.child });
  await recordStandIn(s, step.session, step.session, 'leak', 'session:');
  for (const b of step.blocks) await recordBlock(step.session, b, tool.labels.get(b)!);
}

/** `rtrack run --reap -- bash -c '<task>'`, or with `agent`, `rtrack run --reap -- claude` (the stand-in, whose Bash tool builds the blocks). */
async function runStep(step: Step & { do: 'run' }): Promise<void> {
  ownerLive.set(step.run, [[-Infinity, Infinity]]);
  const tool = toolScript(step.run, step.blocks);
  const built = join(dir, `${step.run}.built`);
  const go = join(dir, `${step.run}.go`);
  const keep = [...patterns.flags, ...(patterns.runOnly.get(step.run) ?? [])].flatMap((p) => ['--keep', p]);
  const report = join(dir, `${step.run}.report.json`);
  const rtrackArgs = ['run', '--reap', '--grace', '300ms', '--report', report, '-c', config, ...keep, '--'];
  let run: Cli;
  let agent: number | undefined;
  if (step.agent) {
    const env: NodeJS.ProcessEnv = { ...baseEnv, STAND_IN_SLEEP: `perl ${dir}/rec.pl ${step.run}`, STAND_IN_RECORD: join(dir, 'agents.log'), STAND_IN_BASH: `${tool.text}\n: > ${q(built)}` };
    if (plan.hooks !== 'none') Object.assign(env, { STAND_IN_HOOK_START: hookCommand('start'), STAND_IN_HOOK_END: hookCommand('end') });
    run = startCli(`run ${step.run}`, [...rtrackArgs, 'bash', '-c', 'exec -a claude "$0" "$@"', node, input.standIn, 'session', sessionId(step.run)], env);
    await waitFor(() => existsSync(built) && run.stdout().includes('}'), 30_000, `run ${step.run}'s agent to build its part`);
    const pids = JSON.parse(run.stdout().slice(0, run.stdout().indexOf('}') + 1)) as Record<string, number>;
    agent = pids.agent;
    await recordStandIn({ pids }, step.run, step.run, 'leak', 'session:');
  } else {
    run = startCli(`run ${step.run}`, [...rtrackArgs, 'bash', '-c', [tool.text, `: > ${q(built)}`, `while [ ! -e ${q(go)} ]; do sleep 0.05; done`].join('\n')]);
    await waitFor(() => existsSync(built), 30_000, `run ${step.run}'s task to build its part`);
  }
  for (const b of step.blocks) await recordBlock(step.run, b, tool.labels.get(b)!);
  for (const d of step.during) await doStep(d);
  sweep();
  const end = Date.now();
  ownerLive.set(step.run, [[-Infinity, end]]);
  if (agent !== undefined) {
    // A normal end of the agent (SIGTERM: SessionEnd; it stops its MCP server and tool), and with it the run's task.
    for (const r of truth.values()) {
      if (r.owner !== step.run) continue;
      if (r.kind === 'session:agent') Object.assign(r, { notALeak: 'the agent the world ended', mayExit: true });
      if (r.kind === 'session:mcp' || r.kind === 'session:tool') Object.assign(r, { notALeak: 'stopped by its agent at a normal end', mayExit: true });
    }
    process.kill(agent, 'SIGTERM');
  } else writeFileSync(go, '');
  const r = await finish(run, 60_000, `run ${step.run}`);
  outputs.push({ name: `run ${step.run} (exit ${r.code ?? r.signal})`, text: run.stderr(), summary: run.stderr().trim().split('\n').slice(-8).join(' | ') });
  try {
    runReports[step.run] = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    notes.push(`run ${step.run} wrote no report (exit ${r.code ?? r.signal}): ${run.stderr().slice(-300)}`);
  }
}

function hostOf(label: string): { block: Block; owner: string } {
  const h = hostsByLabel.get(label);
  if (!h) throw new Error(`no host ${label}`);
  return h;
}

/** The record of a host block's pane or window (the first one it registered). */
function paneOf(label: string): TruthRecord | undefined {
  return [...truth.values()].find((r) => r.label === `${label}.pane` || r.label === `${label}.win`);
}

async function personStep(step: Step & { do: 'person' }): Promise<void> {
  const p = step.person;
  const a: PersonAct = step.act;
  const rec = `${dir}/rec.pl`;
  const person = (reg: { at: number; label: string; pid: number; start: number; ppid: number; uid: number }, kind: string, hosting = false): TruthRecord =>
    addRecord({ ...reg, kind, owner: p, role: 'person', hosting, parentPid: reg.ppid });
  switch (a.act) {
    case 'tmux-session': {
      sh(words(['tmux', '-S', `${dir}/tmux-shared`, 'new-session', '-d', '-s', p, '-x', '80', '-y', '24', '-e', `TORTURE_LABEL=${p}.pane`]));
      const [reg] = await registry.expect([`${p}.pane`], p);
      const host = readStat(reg!.ppid);
      if (host) addRecord({ pid: reg!.ppid, start: host.start, label: `${p}.host`, kind: 'tmux:server', owner: p, role: 'person', at: reg!.at, hosting: true });
      person(reg!, 'person:tmux-pane', true);
      return;
    }
    case 'tmux-window': {
      const h = hostOf(a.host);
      sh(words(['tmux', '-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'new-window', '-t', `${hostName(a.host)}:`, '-e', `TORTURE_LABEL=${p}.pane`]));
      const [reg] = await registry.expect([`${p}.pane`], p);
      person(reg!, 'person:tmux-window', true);
      return;
    }
    case 'screen-window': {
      sh(words(['screen', '-S', hostName(a.host), '-X', 'screen', 'perl', rec, `${p}.win`, '--shell']));
      const [reg] = await registry.expect([`${p}.win`], p);
      person(reg!, 'person:screen-window', true);
      return;
    }
    case 'type': {
      const h = hostOf(a.host);
      const pane = paneOf(a.host);
      sh(words(['tmux', '-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'send-keys', '-t', `${hostName(a.host)}:0.0`, '-l', `exec perl ${rec} ${p}.typed`]) + ' && ' + words(['tmux', '-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'send-keys', '-t', `${hostName(a.host)}:0.0`, 'Enter']));
      const [reg] = await registry.expect([`${p}.typed`], p);
      pane?.from.push(reg!.at);
      person(reg!, 'person:typed');
      return;
    }
    case 'agent': {
      const h = hostOf(a.host);
      const pane = paneOf(a.host);
      const out = join(dir, `${p}.json`);
      const socket = tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' });
      const line = `STAND_IN_SLEEP='perl ${rec} ${p}' STAND_IN_RECORD=${dir}/agents.log exec bash -c 'exec -a claude ${node} ${input.standIn} session ${sessionId(p)} > ${out} 2>/dev/null'`;
      const t = Date.now();
      sh(`${words(['tmux', '-S', socket, 'send-keys', '-t', `${hostName(a.host)}:0.0`, '-l', line])} && ${words(['tmux', '-S', socket, 'send-keys', '-t', `${hostName(a.host)}:0.0`, 'Enter'])}`);
      pane?.from.push(t);
      await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('}'), 30_000, `${p}'s agent in ${a.host}`);
      const pids = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
      await recordStandIn({ pids }, p, p, 'person', 'person:agent.');
      return;
    }
    case 'attach': {
      const h = hostOf(a.host);
      let command: string;
      if (a.hostKind === 'tmux') command = words(['tmux', '-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'attach', '-t', hostName(a.host)]);
      else if (a.hostKind === 'screen') command = words(['screen', '-r', hostName(a.host)]);
      else command = words(['dtach', '-a', `${dir}/dtach-${a.host}`, '-z']);
      // script(1) runs the command with $SHELL -c: here a plain shell (the world's SHELL is the panes' recorder).
      const client = spawn('script', ['-qfc', command, '/dev/null'], { env: { ...baseEnv, SHELL: '/bin/sh' }, cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(client);
      client.stdout!.resume();
      client.stderr!.resume();
      const attached = (): boolean => {
        if (a.hostKind === 'tmux') {
          const r = spawnSync('tmux', ['-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'list-clients'], { encoding: 'utf8' });
          return r.stdout.trim().length > 0;
        }
        if (a.hostKind === 'screen') return /\(Attached\)/.test(spawnSync('screen', ['-ls'], { env: baseEnv, encoding: 'utf8' }).stdout);
        // dtach: its master holds an accepted connection on the socket (as the tests read tmux's).
        const socket = `${dir}/dtach-${a.host}`;
        return readFileSync('/proc/net/unix', 'latin1').split('\n').some((l) => l.endsWith(` ${socket}`) && / 03 \d+ /.test(l));
      };
      await waitFor(attached, 10_000, `${p} to attach to ${a.host}`);
      const at = Date.now();
      // The client (script and what it runs) is the person's.
      const clientPids = [client.pid!, ...sweepChildren(client.pid!)];
      // It exits when its host goes (a hit host is judged on its own), so it may exit.
      for (const pid of clientPids) recordPid(pid, { label: `${p}.client`, kind: 'person:attach-client', owner: p, role: 'person', mayExit: true });
      // What the person now looks at is theirs: the attached tmux session's panes, every window of a screen or dtach.
      const hostRec = [...truth.values()].find((r) => r.label === `${a.host}.host`);
      let looked: TruthRecord[] = [];
      if (a.hostKind === 'tmux') {
        const r = spawnSync('tmux', ['-S', tmuxSocket(paths, a.host, h.block as Block & { kind: 'tmux' }), 'list-panes', '-s', '-t', hostName(a.host), '-F', '#{pane_pid}'], { encoding: 'utf8' });
        const panePids = new Set(r.stdout.split('\n').filter(Boolean).map(Number));
        looked = [...truth.values()].filter((x) => panePids.has(x.pid));
      } else if (hostRec) looked = [...truth.values()].filter((x) => x.parentKey === hostRec.key);
      for (const x of looked) x.from.push(at);
      return;
    }
    case 'server': {
      sh(`nohup ${words(['perl', rec, p, '--listen'])} >/dev/null 2>&1 &`);
      const [reg] = await registry.expect([p], p);
      person(reg!, 'person:server');
      return;
    }
  }
}

function sweepChildren(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      const s = readStat(Number(e));
      if (s && s.ppid === parent && s.state !== 'Z') {
        out.push(s.pid);
        queue.push(s.pid);
      }
    }
  }
  return out;
}

async function foreignStep(step: Step & { do: 'foreign' }): Promise<void> {
  if (!input.foreign) {
    notes.push(`${step.foreign}: no other user here; skipped`);
    return;
  }
  const f = step.foreign;
  const { uid, gid } = input.foreign;
  const as = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'env', '-i', `PATH=/usr/local/bin:/usr/bin:/bin`, `HOME=${fhome}`];
  const rec = `${dir}/rec.pl`;
  if (step.act === 'session') {
    const s = await startStandIn(sessionId(f), f, { asUser: true, cwd: fhome, env: { HOME: fhome, XDG_STATE_HOME: join(fhome, 'state'), XDG_CONFIG_HOME: join(fhome, 'config') } });
    await recordStandIn(s, f, f, 'foreign', 'foreign:session.');
    return;
  }
  const inner = step.act === 'idle' ? `nohup ${words(['perl', rec, f, '--listen'])} >/dev/null 2>&1 &` : `(exec -a 'node /srv/mcp/server.js --stdio' perl ${q(rec)} ${f} >/dev/null 2>&1 &)`;
  sh(words([...as, 'bash', '-c', inner]), baseEnv, '/');
  const [reg] = await registry.expect([f], f);
  addRecord({ ...reg!, kind: `foreign:${step.act}`, owner: f, role: 'foreign', parentPid: reg!.ppid });
}

async function endStep(step: Step & { do: 'end' }): Promise<void> {
  const a = agents.get(step.session);
  if (!a) throw new Error(`no agent for ${step.session}`);
  const at = Date.now();
  ownerLive.set(step.session, [[-Infinity, at]]);
  ended.set(step.session, [...(ended.get(step.session) ?? []), { pid: a.pid, start: a.start, at }]);
  // What a normal end stops (its MCP server and foreground tool) is the agent's doing, never a leak.
  for (const r of truth.values()) {
    if (r.owner !== step.session) continue;
    // Their deaths are the world's doing (and the agent's): a resumed session protects its leftovers again, not these.
    if (r.kind === 'session:agent' && !r.notALeak) Object.assign(r, { notALeak: 'the agent the world ended', mayExit: true });
    if (step.signal === 'SIGTERM' && (r.kind === 'session:mcp' || r.kind === 'session:tool') && !r.notALeak) Object.assign(r, { notALeak: 'stopped by its agent at a normal end', mayExit: true });
  }
  process.kill(a.pid, step.signal);
  await waitFor(() => !aliveKey(a.pid, a.start), 15_000, `${step.session}'s agent to end`);
  agents.delete(step.session);
}

async function resumeStep(step: Step & { do: 'resume' }): Promise<void> {
  const s = await startStandIn(sessionId(step.session), step.session, { source: 'resume' });
  const at = Date.now();
  const s0 = readStat(s.pids.agent!);
  if (s0) agents.set(step.session, { pid: s.pids.agent!, start: s0.start, child: s.child });
  const live = ownerLive.get(step.session) ?? [];
  ownerLive.set(step.session, [...live, [at, Infinity]]);
  await recordStandIn(s, step.session, step.session, 'leak', 'session:');
}

async function followerStep(): Promise<void> {
  // Every ended (not resumed) session with hooks: its record is gone once the follower closed it.
  const closing: { pid: number; start: number }[] = [];
  for (const [session, ends] of ended) if (plan.fates[session] !== 'resumed') closing.push(...ends);
  try {
    await waitFor(() => closing.every((e) => !existsSync(join(state, 'sessions', `${e.pid}-${e.start}.json`))), plan.lingerMs + 12_000, 'the follower to close the ended sessions', 100);
  } catch (err) {
    notes.push((err as Error).message);
  }
}

const machineKeep = (): string[] => patterns.flags.flatMap((p) => ['--keep', p]);

async function scanStep(): Promise<void> {
  const c = startCli('scan', ['scan', '--reap', '--grace', '300ms', '--json', '-c', config, ...machineKeep()]);
  const r = await finish(c, 60_000, 'scan --reap');
  outputs.push({ name: `scan --reap (exit ${r.code ?? r.signal})`, text: c.stdout(), summary: `${c.stderr().trim()} ${scanSummary(c.stdout())}` });
}

async function watchStep(): Promise<void> {
  const c = startCli('watch', ['watch', '--port', '0', '--interval', '200ms', '--reap', '--linger', '10ms', '--grace', '300ms', '--config', config, '--log-format', 'json', ...machineKeep()]);
  let url = '';
  await waitFor(
    () => {
      const m = /"url":"(http:[^"]+)"/.exec(c.stderr() + c.stdout());
      if (m) url = m[1]!;
      return url !== '';
    },
    30_000,
    'watch to listen',
  );
  const scans = (): Promise<number> =>
    new Promise((resolve) => {
      get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(Number(/^rtrack_scan_duration_seconds_count (\d+)/m.exec(body)?.[1] ?? 0)));
      }).on('error', () => resolve(0));
    });
  // The first scan notes the certain leaks; the second, 200 ms later, reaps those that lingered 10 ms.
  await waitFor(async () => (await scans()) >= 2, 30_000, 'watch to scan twice');
  c.child.kill('SIGTERM');
  const r = await finish(c, 30_000, 'watch');
  outputs.push({ name: `watch --reap (exit ${r.code ?? r.signal})`, text: c.stdout() + c.stderr(), summary: (c.stdout() + c.stderr()).split('\n').filter((l) => /reaped|failed|error/i.test(l)).join(' ') });
}

function pathOfPhase(step: Step): string {
  switch (step.do) {
    case 'run':
      return `run ${step.run}`;
    case 'scan':
      return 'scan';
    case 'watch':
      return 'watch';
    case 'follower':
      return 'follower';
    default:
      return plan.hooks === 'none' ? `(${step.do})` : 'follower';
  }
}

async function doStep(step: Step): Promise<void> {
  const name = step.do === 'session' ? `session ${step.session}` : step.do === 'run' ? `run ${step.run}` : step.do === 'person' ? `person ${step.person} (${step.act.act})` : step.do === 'foreign' ? `foreign ${step.foreign}` : step.do === 'end' ? `${step.signal} to ${step.session}` : step.do === 'resume' ? `resume ${step.session}` : step.do;
  const phase: Phase = { name, path: pathOfPhase(step), start: Date.now(), end: 0 };
  phases.push(phase);
  try {
    switch (step.do) {
      case 'session':
        return await sessionStep(step);
      case 'run':
        return await runStep(step);
      case 'person':
        return await personStep(step);
      case 'foreign':
        return await foreignStep(step);
      case 'end':
        return await endStep(step);
      case 'resume':
        return await resumeStep(step);
      case 'follower':
        return await followerStep();
      case 'scan':
        return await scanStep();
      case 'watch':
        return await watchStep();
    }
  } finally {
    // What dies with what a path killed (a server whose last pane went, a tee whose writer went) dies in its phase.
    if (['run', 'follower', 'scan', 'watch'].includes(step.do)) await sleep(250);
    sweep();
    phase.end = Date.now();
  }
}

// ---------------------------------------------------------------- sweeps, signals, verdicts

/** When each record was last seen alive and first seen gone. */
const lastAlive = new Map<string, number>();
const firstDead = new Map<string, number>();

function sweep(): void {
  registry.poll();
  const now = sweeper.sweep();
  for (const r of truth.values()) {
    if (firstDead.has(r.key)) continue;
    if (aliveKey(r.pid, r.start)) lastAlive.set(r.key, now);
    else firstDead.set(r.key, now);
  }
  // rtrack's followers (started by the hooks) are rtrack's own.
  for (const s of sweeper.seen.values()) {
    if (s.lastSeen !== now || !/follower-main\.cjs|rtrack\.js session follow/.test(s.command)) continue;
    addRecord({ pid: s.pid, start: s.start, label: 'rtrack follower', kind: 'own:follower', owner: 'rtrack', role: 'own', at: s.firstSeen, mayExit: true });
  }
}

function senderName(pid: number | undefined, at: number): string {
  if (pid === undefined) return 'unknown';
  if (pid === 0) return 'kernel';
  if (pid === process.pid) return 'the world (harness)';
  const spawned = rtrackPids.get(pid);
  if (spawned) return spawned;
  const seen = sweeper.byPid(pid, at);
  const cmd = seen?.command ?? '';
  if (/follower-main|session follow/.test(cmd)) return 'follower';
  if (/rtrack\.js session (start|end)/.test(cmd)) return 'hook (rtrack session start|end)';
  if (/rtrack\.js watch/.test(cmd)) return 'watch';
  if (/rtrack\.js scan/.test(cmd)) return 'scan';
  if (/rtrack\.js run/.test(cmd)) return 'run';
  const r = recordByPid(pid);
  if (r) return `${r.label} (pid ${pid})`;
  return `pid ${pid}${cmd ? ` (${cmd.slice(0, 60)})` : ''}`;
}

function readSignals(): { signals: SignalSeen[]; signalsFile: boolean; rtrackLines: RtrackSignal[] } {
  const signals: SignalSeen[] = [];
  for (const line of readFileSync(join(dir, 'signals.log'), 'latin1').split('\n')) {
    const [tag, at, , pid, start, signal, from] = line.split(' ');
    if (tag !== 'sig') continue;
    // A broken pipe's SIGPIPE names the writer itself as its sender: it is the kernel's.
    const sender = signal === 'SIGPIPE' ? 0 : from === '?' ? undefined : Number(from);
    signals.push({ at: Number(at), key: keyOf(Number(pid), Number(start)), signal: signal!, source: 'recorder', sender, by: senderName(sender, Number(at)) });
  }
  for (const line of readFileSync(join(dir, 'agents.log'), 'latin1').split('\n')) {
    const [at, signal, pid] = line.split(' ');
    if (!pid) continue;
    const r = recordByPid(Number(pid));
    if (r) signals.push({ at: Number(at), key: r.key, signal: signal!, source: 'agent', by: 'unknown (a node agent cannot see the sender)' });
  }
  // rtrack's own record of every signal it sends, written before it is sent (rotated: signals.1.jsonl …).
  const rtrackLines: RtrackSignal[] = [];
  let signalsFile = false;
  const files = existsSync(state) ? readdirSync(state).filter((f) => /^signals(\.\d+)?\.jsonl$/.test(f)) : [];
  for (const f of files) {
    signalsFile = true;
    const parsed = parseRtrackSignals(readFileSync(join(state, f), 'utf8'));
    signals.push(...parsed.signals);
    rtrackLines.push(...parsed.lines);
    for (const line of parsed.bad) notes.push(`${f}: a line that is no signal record: ${line.slice(0, 120)}`);
  }
  return { signals, signalsFile, rtrackLines };
}

/** Which path says it signalled this pid (terminated, killed): a run's report, scan's output, the follower's journal. */
function reaperOf(pid: number): string | undefined {
  for (const [run, report] of Object.entries(runReports)) {
    if ((report as { reaped?: { pid: number; result: string }[] }).reaped?.some((x) => x.pid === pid && /^(terminated|killed|survived)$/.test(x.result))) return `run ${run}`;
  }
  for (const line of rtrackAccount(pid)) {
    if (/^scan --reap: (terminated|killed|survived)/.test(line)) return 'scan';
    if (/^follower's journal: (terminated|killed|survived)/.test(line)) return 'follower';
  }
  return undefined;
}

/** What rtrack itself said about a pid: its run reports, its scan output, the follower's journal. */
function rtrackAccount(pid: number): string[] {
  const out: string[] = [];
  for (const [run, report] of Object.entries(runReports)) {
    const r = report as { reaped?: { pid: number; result: string; reason?: string }[]; kept?: { pid: number }[]; orphans?: { pid: number; evidence?: string[] }[] };
    const reaped = r.reaped?.find((x) => x.pid === pid);
    const orphan = r.orphans?.find((x) => x.pid === pid);
    if (orphan) out.push(`run ${run}'s report: orphan (evidence ${orphan.evidence?.join(',')})`);
    if (r.kept?.some((x) => x.pid === pid)) out.push(`run ${run}'s report: kept`);
    if (reaped) out.push(`run ${run}'s report: ${reaped.result}${reaped.reason ? ` (${reaped.reason})` : ''}`);
  }
  for (const o of outputs) {
    if (!o.name.startsWith('scan')) continue;
    try {
      const scan = JSON.parse(o.text.slice(0, o.text.lastIndexOf('}') + 1)) as { reaped?: { pid: number; result: string; reason?: string }[]; certain?: { tag?: string; session?: { sessionId?: string }; processes: { pid: number; evidence?: string[] }[] }[] };
      for (const g of scan.certain ?? []) {
        const p = g.processes.find((x) => x.pid === pid);
        if (p) out.push(`scan: certain leak of ${g.session?.sessionId ? `session ${g.session.sessionId}` : `tag ${g.tag}`} (evidence ${p.evidence?.join(',')})`);
      }
      const reaped = scan.reaped?.find((x) => x.pid === pid);
      if (reaped) out.push(`scan --reap: ${reaped.result}${reaped.reason ? ` (${reaped.reason})` : ''}`);
    } catch {
      // not JSON (an error)
    }
  }
  const journal = join(state, 'journal.jsonl');
  if (existsSync(journal)) {
    for (const line of readFileSync(journal, 'utf8').split('\n')) {
      if (!line.includes(`"pid":${pid},`)) continue;
      try {
        const e = JSON.parse(line) as { sessionId?: string; leaked?: { pid: number; evidence?: string[] }[]; reaped?: { pid: number; result: string; reason?: string }[] };
        const l = e.leaked?.find((x) => x.pid === pid);
        if (l) out.push(`follower's journal: leaked by session ${e.sessionId} (evidence ${l.evidence?.join(',')})`);
        const r = e.reaped?.find((x) => x.pid === pid);
        if (r) out.push(`follower's journal: ${r.result}${r.reason ? ` (${r.reason})` : ''}`);
      } catch {
        // a partial line
      }
    }
  }
  return out;
}

/** The phase that held time t (the later one at a boundary: a sweep at a phase's end belongs to it). */
function phaseAt(t: number): Phase | undefined {
  return [...phases].reverse().find((p) => t >= p.start && t <= (p.end || Infinity));
}

async function main(): Promise<void> {
  let error: string | undefined;
  const timer = setInterval(sweep, 200);
  try {
    for (const step of plan.steps) await doStep(step);
  } catch (err) {
    error = (err as Error).message;
  }
  await sleep(300); // signals in flight reach their recorders
  // Cleanup children, born while their parent was reaped: what their parent was (a leak, mostly).
  registry.poll();
  for (const reg of registry.entries) {
    if (!reg.label.endsWith('.cleanup')) continue;
    const parent = [...truth.values()].find((r) => r.label === reg.label.slice(0, -'.cleanup'.length));
    if (parent) addRecord({ ...reg, kind: `${parent.kind}:cleanup-child`, owner: parent.owner, role: parent.role });
  }
  sweep();
  clearInterval(timer);
  const end = Date.now();
  const { signals, signalsFile, rtrackLines } = readSignals();
  const records = [...truth.values()];
  const verdicts = judge({
    records,
    ownerLive,
    signals,
    alive: (r) => aliveKey(r.pid, r.start),
    deathWindow: (r) => (firstDead.has(r.key) ? [lastAlive.get(r.key) ?? r.at, firstDead.get(r.key)!] : undefined),
    end,
  });
  const byKey = new Map(verdicts.map((v) => [v.record.key, v]));
  /** The path that hit a record: the sender of its first signal, else the phase it died in; a hangup or a broken pipe, what hit its host or pipeline partner. */
  const partners = (r: TruthRecord): string[] =>
    /\.(srv|tee)$/.test(r.label) ? records.filter((x) => x.key !== r.key && /\.(srv|tee)$/.test(x.label) && x.label.replace(/\.(srv|tee)$/, '') === r.label.replace(/\.(srv|tee)$/, '')).map((x) => x.key) : [];
  const pathOf = (key: string, visited = new Set<string>()): { path: string; phase: string } => {
    visited.add(key);
    const v = byKey.get(key)!;
    const first = v.signals[0];
    const died = firstDead.get(key);
    const phase = phaseAt(first?.at ?? died ?? end);
    const named = first && first.by !== 'kernel' && !first.by.startsWith('unknown');
    if (named) return { path: first.by, phase: phase?.name ?? '?' };
    // No signal recorded (SIGKILL, or no recorder): what rtrack says signalled it, else the phase it died in.
    if (!first) {
      const reaper = died !== undefined ? reaperOf(v.record.pid) : undefined;
      if (reaper) return { path: `${reaper} (by its own account; no signal recorded)`, phase: phase?.name ?? '?' };
      return { path: phase ? `${phase.path} (died during ${phase.name}, no signal recorded)` : 'unknown', phase: phase?.name ?? '?' };
    }
    // A hangup or a broken pipe: what hit its host or its pipeline partner.
    for (const k of [v.record.parentKey, ...partners(v.record)]) {
      if (!k || visited.has(k) || !byKey.has(k)) continue;
      const rv = byKey.get(k)!;
      if (rv.signals.length === 0 && !firstDead.has(k)) continue;
      const p = pathOf(k, visited);
      return { path: `${p.path} (through ${rv.record.label}${first ? `; it got ${first.signal} from the ${first.by}` : ''})`, phase: phase?.name ?? p.phase };
    }
    return { path: first ? first.by : phase ? `${phase.path} (died during ${phase.name}, no signal recorded)` : 'unknown', phase: phase?.name ?? '?' };
  };
  const wrong: WrongKill[] = [];
  for (const v of verdicts) {
    if (v.wrongSignals.length === 0 && !v.deadWhileProtected) continue;
    const { path, phase } = pathOf(v.record.key);
    const related: string[] = [];
    for (let k = v.record.parentKey, depth = 0; k && depth < 4; k = byKey.get(k)?.record.parentKey, depth++) {
      const pv = byKey.get(k)!;
      related.push(`its host/parent ${pv.record.label} pid ${pv.record.pid} [${pv.record.kind}]: ${pv.signals.map((s) => `${s.signal} by ${s.by} at +${rel(s.at)} ms`).join(', ') || 'no signal recorded'}${pv.alive ? ', alive' : `, gone by +${rel(firstDead.get(k) ?? end)} ms`}`);
    }
    for (const r of records) {
      if (r.key === v.record.key || !/\.(srv|tee)$/.test(r.label) || r.label.replace(/\.(srv|tee)$/, '') !== v.record.label.replace(/\.(srv|tee)$/, '')) continue;
      const pv = byKey.get(r.key)!;
      related.push(`its pipeline partner ${r.label} pid ${r.pid}: ${pv.signals.map((s) => `${s.signal} by ${s.by} at +${rel(s.at)} ms`).join(', ') || 'no signal recorded'}${pv.alive ? ', alive' : ', gone'}`);
    }
    for (const line of rtrackAccount(v.record.pid)) related.push(`rtrack: ${line}`);
    wrong.push({
      label: v.record.label,
      pid: v.record.pid,
      kind: v.record.kind,
      owner: v.record.owner,
      why: v.why,
      whyClass: v.whyClass,
      how: v.wrongSignals.length > 0 ? 'signalled' : 'dead',
      signals: v.signals.map((s) => ({ at: rel(s.at), signal: s.signal, by: s.by, source: s.source, ...(s.via ? { via: s.via } : {}) })),
      path,
      phase,
      command: v.record.command ?? '',
      related,
    });
  }
  // Leaks, and what each path reaped of those it could see.
  const leaks: CaseResult['leaks'] = [];
  const pathStats: Record<string, PathStats> = {};
  const stat = (p: string): PathStats => (pathStats[p] ??= { candidates: 0, reaped: 0 });
  const leakVerdicts = verdicts.filter((v) => v.leak);
  for (const v of leakVerdicts) {
    const reaped = !v.alive;
    // A cleanup child, born while its parent was reaped, is not swept: the path that reaped its parent.
    const path = !reaped ? undefined : (v.record.kind.endsWith(':cleanup-child') ? (phaseAt(v.record.at)?.path ?? 'unknown') : pathOf(v.record.key).path).replace(/ \(.*$/, '').replace(/^run r\d+$/, 'run');
    leaks.push({ label: v.record.label, kind: v.record.kind, owner: v.record.owner, reaped, ...(path ? { path } : {}) });
  }
  for (const p of phases) {
    const kind = p.path.startsWith('run ') ? 'run' : p.path;
    if (!['run', 'follower', 'scan', 'watch'].includes(kind) || p.name !== p.path || (kind === 'follower' && !reap)) continue;
    // Leaks it could see: alive when it started (a run: its own).
    const seen = leakVerdicts.filter((v) => (kind === 'run' ? v.record.owner === p.path.slice(4) : true) && (firstDead.get(v.record.key) ?? Infinity) > p.start && v.record.at <= p.end);
    stat(kind).candidates += seen.length;
    stat(kind).reaped += seen.filter((v) => {
      const d = firstDead.get(v.record.key);
      return d !== undefined && d >= p.start && d <= p.end + 250;
    }).length;
  }
  // Signals rtrack recorded for processes the ground truth does not know.
  const unclassified: string[] = [];
  for (const e of rtrackLines) {
    if (truth.has(e.identity)) continue;
    const seen = sweeper.seen.get(e.identity);
    unclassified.push(`${e.signal} by ${e.by} to ${e.identity} (${seen?.command ?? e.command ?? '?'})`);
  }
  if (!signalsFile) notes.push("no signals.jsonl: judged by the recorders' traps and by who is alive at the end");
  const result: CaseResult = {
    seed: plan.seed,
    plan: describePlan(plan),
    durationMs: end - t0,
    ...(error ? { error } : {}),
    notes: [...notes, ...phases.map((p) => `phase ${p.name}: +${rel(p.start)}..+${rel(p.end)} ms`), ...outputs.map((o) => `${o.name}: ${o.summary.slice(-1500)}`)],
    signalsFile,
    wrong,
    leaks,
    paths: pathStats,
    unclassified,
    records: records.length,
  };
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 1));
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(verdicts.map((v) => ({ ...v.record, intervals: v.intervals.map(([a, b]) => [a === -Infinity ? '-' : rel(a), b === Infinity ? '+' : rel(b)]), alive: v.alive, leak: v.leak, why: v.why, signals: v.signals })), null, 1));
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  process.exit(0);
}

void main();
