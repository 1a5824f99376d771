// Found by an adversarial review: ways rtrack killed, or reported as a certain leak that scan
// --reap, watch --reap or the follower would kill, a process still in use — a nested run's live
// agent taken by a recursive cgroup.kill (C), an agent a person started in a host an over session
// left (A), a session resumed after it was journalled (B), a session inside a container (E), a
// process of a session that cannot be told over (F), the reaper's own session in a leftover group
// (G). Each is a reproduction on real processes that failed on da1a03e. HOME and XDG directories
// are temporary. Every `scan --reap` here is limited to the test's own
// session (`--session`), or the reaping is done through the library on the test's own cgroup, so
// that nothing else on the machine is signalled.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { readJournal, type JournalEntry } from '../../src/tracking/session-records.js';
import { reapCgroup } from '../../src/operations/reap.js';
import { scanMachine } from '../../src/operations/scan-machine.js';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { cgroup2Mount, locateCgroupParent, RunCgroup } from '../../src/platform/cgroup.js';
import { followerConfig, hookCommand, newHome, startSession, STAND_IN, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const groups: string[] = [];
const root = process.getuid?.() === 0;
const where = locateCgroupParent();

/** Kills and removes a cgroup and the groups below it (the test's own leftovers). */
async function removeGroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) if (statSync(join(dir, e)).isDirectory()) await removeGroupTree(join(dir, e));
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    // gone
  }
  await waitFor(() => !existsSync(dir) || !/^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1')), 3000);
  try {
    rmdirSync(dir);
  } catch {
    // gone
  }
}

afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
  for (const g of groups.splice(0)) await removeGroupTree(g);
});

const uuid = (): string => `${Date.now().toString(16)}-5e55-4d0e-${Math.random().toString(16).slice(2, 14)}`;
const certainPids = (scan: ScanReport): number[] => scan.certain.flatMap((g) => g.processes.map((p) => p.pid));
const gone = (pid: number): Promise<boolean> => waitFor(async () => !(await isAlive(pid)), 10_000);
const entryFor = (h: Home, session: string): JournalEntry[] => readJournal(h.state).entries.filter((e) => e.sessionId === session);
const groupOf = (pid: number): string => {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'latin1').split('\n').find((l) => l.startsWith('0::'))!;
  return join(cgroup2Mount()!, line.slice(3));
};

describe.skipIf('why' in where || !root)('C: run --reap and a nested run (cgroup.kill is recursive)', () => {
  it('a live agent a person runs with `rtrack run` inside the outer run\'s host, refused by the gate as in-use, is not SIGKILLed by the outer group\'s cgroup.kill', async () => {
    const h = newHome(homes);
    const dir = tempDir('nested');
    const claudePidFile = join(dir, 'claude.pid');
    const script = [
      // The outer agent's Bash tool left a host; a person started an agent in it the recommended
      // way, `rtrack run -- claude` (its rtrack lives in the outer group, so its group is nested).
      `(setsid nohup ${process.execPath} ${RTRACK} run -- bash -c 'echo $$ > ${claudePidFile}; exec -a claude sleep 300' >/dev/null 2>&1 &)`,
      // A dev script with a cleanup step on SIGTERM (it forks while it is being reaped).
      `(nohup bash -c 'trap "(exec -a cleanup-child sleep 30)" TERM; while :; do sleep 1; done' >/dev/null 2>&1 &)`,
      `while [ ! -s ${claudePidFile} ]; do sleep 0.1; done; sleep 1`,
    ].join('\n');
    const r = await runCli(['run', '--reap', '--grace', '500ms', '--report', '-', '--', 'bash', '-c', script], { env: h.env, cwd: h.home, timeoutMs: 40_000 });
    const report = JSON.parse(r.stdout) as TaskReport;
    if (report.cgroup) groups.push(report.cgroup.path);
    const claude = Number(readFileSync(claudePidFile, 'utf8'));
    for (const o of report.reaped ?? []) await jar.adopt(o.pid);
    // The gate refused it: a live agent.
    expect(report.reaped?.find((o) => o.pid === claude)).toMatchObject({ result: 'in-use', reason: 'a live claude-code agent' });
    // …and yet it was killed by `cgroup.kill` of the outer group, which kills the nested group too.
    expect(await isAlive(claude), 'the live agent the gate refused is still alive').toBe(true);
  });
});

describe('A: a person\'s agent started in the background inside a host that an over session left', () => {
  it('is a live agent: neither it nor its tree is a certain leak, and scan --reap --session <old> leaves them', async () => {
    const h = newHome(homes);
    const socket = join(tempDir('tmux'), 'sock');
    const old = uuid();
    const a = await startSession(jar, h, old, { tmux: socket });
    await jar.adoptTree(a.pids.tmux!);
    a.child.kill('SIGKILL'); // session `old` is over; its tmux server (carrying its markers) lives on
    expect(await gone(a.pids.agent!)).toBe(true);
    // The person attaches and starts a long headless run in the background: `(nohup claude -p … &)`.
    const pidsFile = join(h.home, 'person.json');
    spawnSync('tmux', ['-S', socket, 'send-keys', '-t', 'work', `(nohup bash -c 'exec -a claude ${process.execPath} ${STAND_IN} session person-${old}' > ${pidsFile} 2>/dev/null &)`, 'Enter'], { env: h.env });
    expect(await waitFor(() => existsSync(pidsFile) && readFileSync(pidsFile, 'utf8').includes('}'))).toBe(true);
    const person = JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
    for (const pid of Object.values(person)) await jar.adoptTree(pid);
    expect(readFileSync(`/proc/${person.agent}/environ`, 'latin1')).toContain(`CLAUDE_CODE_SESSION_ID=${old}\0`); // inherited from the host
    const live = [person.agent!, person.mcp!, person.tool!, person.devServer!];

    const scan = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    for (const pid of live) expect(certainPids(scan), `pid ${pid} of the person's live session is not a certain leak`).not.toContain(pid);
    await runCli(['scan', '--reap', '--session', old, '--grace', '300'], { env: h.env });
    for (const pid of live) expect(await isAlive(pid), `pid ${pid} of the person's live session is alive`).toBe(true);
  });
});

describe('B: a session resumed after the follower journalled it', () => {
  it('what it left that carries no markers (a scrubbed server, known by lineage) belongs to the live session again: not certain, not reaped', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, false, 500);
    const session = uuid();
    const first = jar.spawn('bash', ['-c', 'exec -a claude "$0" "$@"', process.execPath, STAND_IN, 'hooked', session], {
      env: { ...h.env, STAND_IN_HOOK_START: hookCommand('start', config), STAND_IN_HOOK_END: hookCommand('end', config) },
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: h.home,
    });
    const pids = JSON.parse(await new Promise<string>((resolve) => first.stdout!.once('data', (d: Buffer) => resolve(d.toString())))) as Record<string, number>;
    const scrubbed = pids.scrubbed!;
    await jar.adopt(scrubbed);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the follower sees the server while the agent runs
    first.kill('SIGTERM'); // SessionEnd; the follower journals what the session left
    expect(await waitFor(() => entryFor(h, session).length === 1, 15_000, 100)).toBe(true);
    expect(entryFor(h, session)[0]!.leaked.map((p) => p.pid)).toContain(scrubbed);

    // `claude --continue` the next morning: the same session id, a new agent process, live.
    const resumed = await startSession(jar, h, session, { hooks: true, config, source: 'resume' });
    expect(await isAlive(resumed.pids.agent!)).toBe(true);
    const scan = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    expect(certainPids(scan), 'the resumed session\'s leftover is not certain').not.toContain(scrubbed);
    await runCli(['scan', '--reap', '--session', session, '--grace', '300'], { env: h.env });
    expect(await isAlive(scrubbed), 'the resumed session\'s leftover is alive').toBe(true);
  });
});

describe.skipIf(!root)('E: a live Claude Code session inside a container (its own PID namespace), scanned from the host', () => {
  it('its CLAUDE_PID names a pid of the container\'s namespace: the session is not over, its dev server is not a certain leak', async () => {
    const h = newHome(homes);
    const session = uuid();
    const main = join(tempDir('container'), 'main.sh');
    // `docker run --init … claude`: pid 1 of the container is docker-init; claude has no MCP server and is between tool calls.
    writeFileSync(
      main,
      `bash -c 'exec -a claude bash -c "(CLAUDE_CODE_SESSION_ID=${session} CLAUDE_PID=\\$\\$ nohup bash -c \\"exec -a dev-server-${session} sleep 600\\" >/dev/null 2>&1 &); while :; do sleep 1; done"' &\nwait\n`,
    );
    const container = jar.spawn('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', `exec -a /sbin/docker-init bash ${main}`], { env: h.env });
    let server = 0;
    let claude = 0;
    expect(
      await waitFor(() => {
        const find = (re: RegExp): number => Number(spawnSync('pgrep', ['-f', re.source], { encoding: 'utf8' }).stdout.trim().split('\n')[0] || 0);
        server = find(new RegExp(`^dev-server-${session}`));
        claude = find(new RegExp(`^claude -c \\(CLAUDE_CODE_SESSION_ID=${session}`));
        return server > 0 && claude > 0;
      }),
    ).toBe(true);
    await jar.adoptTree(container.pid!);
    expect(readFileSync(`/proc/${server}/environ`, 'latin1')).toMatch(/\0CLAUDE_PID=\d+\0|^CLAUDE_PID=\d+\0/);
    const scan = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    expect(certainPids(scan), 'the live container session\'s dev server is not a certain leak').not.toContain(server);
    await runCli(['scan', '--reap', '--session', session, '--grace', '300'], { env: h.env });
    expect(await isAlive(claude)).toBe(true);
    expect(await isAlive(server), 'the live container session\'s dev server is alive').toBe(true);
  });
});

describe('F: a process marked by an over session and by a live session that cannot be told over', () => {
  it('is at most a suspect (an agent of your own without pid_env, idle, in a host an over Claude Code session left)', async () => {
    const h = newHome(homes);
    const config = join(h.home, 'rtrack.yaml');
    writeFileSync(config, `diagnostics:\n  resource_tracking:\n    agents:\n      - name: house-agent\n        session_env: HOUSE_SESSION\n        process: '^house-agent( |$)'\n`);
    const old = uuid();
    const agent = jar.spawn('bash', ['-c', 'exec -a house-agent sleep 600'], { env: h.env }); // live, idle
    expect(await waitFor(() => readFileSync(`/proc/${agent.pid}/cmdline`, 'latin1').startsWith('house-agent\0'))).toBe(true);
    // its tool's server: HOUSE_SESSION of the live session, and the old session's markers inherited from the host
    const [server] = await jar.orphan(`HOUSE_SESSION=h-${old} CLAUDE_CODE_SESSION_ID=${old} CLAUDE_PID=999999 nohup bash -c 'exec -a house-dev-server sleep 600' >/dev/null 2>&1 & echo $!`, h.env);
    const scan = JSON.parse((await runCli(['scan', '-c', config, '--json'], { env: h.env })).stdout) as ScanReport;
    expect(certainPids(scan), 'the live house-agent session\'s server is not certain').not.toContain(server);
    await runCli(['scan', '-c', config, '--reap', '--session', old, '--grace', '300'], { env: h.env });
    expect(await isAlive(server!), 'the live house-agent session\'s server is alive').toBe(true);
  });
});

describe.skipIf('why' in where || !root)('G: the reaper\'s own-session exception and a leftover run group', () => {
  it('scan --reap run by a live session\'s Bash tool does not kill that session\'s dev server in a leftover group (scan itself says it is in use)', async () => {
    const h = newHome(homes);
    const session = uuid();
    // claude under `rtrack run` (a group of its own), whose rtrack then dies (SIGKILL): the group is left
    const run = jar.spawn(process.execPath, [RTRACK, 'run', '--', 'bash', '-c', 'exec -a claude "$0" "$@"', process.execPath, STAND_IN, 'session', session], {
      env: h.env,
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: h.home,
    });
    const pids = JSON.parse(await new Promise<string>((resolve) => run.stdout!.once('data', (d: Buffer) => resolve(d.toString())))) as Record<string, number>;
    for (const pid of Object.values(pids)) await jar.adoptTree(pid);
    const group = groupOf(pids.agent!);
    groups.push(group);
    // the session's Bash tool also started something that scrubbed its environment (env -i, sudo)
    const [scrubbed] = await jar.orphan(`echo 0 > ${group}/cgroup.procs; env -i setsid bash -c 'exec -a scrubbed-thing sleep 600' >/dev/null 2>&1 & echo $!`);
    run.kill('SIGKILL');
    await gone(run.pid!);

    const scan = await scanMachine({ state: h.state, cpuSampleMs: 0 });
    expect(scan.leftoverCgroups.find((g) => g.path === group)?.runOver).toBe(true);
    expect(certainPids(scan)).toContain(scrubbed);
    expect(certainPids(scan)).not.toContain(pids.devServer); // in use: its session is live

    // What `scan --reap` does for that leftover group, from the live session's Bash tool (its markers in rtrack's environment).
    const saved = { id: process.env.CLAUDE_CODE_SESSION_ID, pid: process.env.CLAUDE_PID };
    process.env.CLAUDE_CODE_SESSION_ID = session;
    process.env.CLAUDE_PID = String(pids.agent);
    try {
      await reapCgroup(RunCgroup.open(group), { graceMs: 300, state: h.state });
    } finally {
      if (saved.id === undefined) delete process.env.CLAUDE_CODE_SESSION_ID;
      else process.env.CLAUDE_CODE_SESSION_ID = saved.id;
      if (saved.pid === undefined) delete process.env.CLAUDE_PID;
      else process.env.CLAUDE_PID = saved.pid;
    }
    expect(await isAlive(pids.agent!)).toBe(true);
    expect(await isAlive(pids.devServer!), 'the live session\'s dev server is alive').toBe(true);
  });
});

