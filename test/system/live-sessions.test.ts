// Never kill a live session: the topologies the real Claude Code produced (recorded in
// shared/agents/claude-code-2.1.332: "Resuming a session keeps its id", "A session that starts a
// long-lived host"), each on real processes, each asserting that nothing live is signalled by any
// path — the follower with reaping on, scan --reap, watch --reap, run --reap, a cgroup kill — and
// that the real leak beside it is still reaped. HOME and XDG directories are temporary.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { readJournal, type JournalEntry } from '../../src/tracking/session-records.js';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { locateCgroupParent } from '../../src/platform/cgroup.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { followerConfig, newHome, startSession, STAND_IN, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli, startCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const reader = createLinuxReader();
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

const uuid = (): string => `${Date.now().toString(16)}-5e55-4d0e-${Math.random().toString(16).slice(2, 14)}`;
const entryFor = (h: Home, session: string): JournalEntry[] => readJournal(h.state).entries.filter((e) => e.sessionId === session);
const reported = (scan: ScanReport): number[] => [...scan.certain, ...scan.suspected, ...scan.kept.map((p) => ({ processes: [p] }))].flatMap((g) => g.processes.map((p) => p.pid));
const certainPids = (scan: ScanReport): number[] => scan.certain.flatMap((g) => g.processes.map((p) => p.pid));
const gone = (pid: number): Promise<boolean> => waitFor(async () => !(await isAlive(pid)), 10_000);

async function allAlive(pids: number[]): Promise<void> {
  for (const pid of pids) expect(await isAlive(pid), `pid ${pid} is alive`).toBe(true);
}

/** Runs `rtrack watch --reap` for a while (it reaps certain leaks that lingered 100 ms), then stops it. */
async function watchReapFor(h: Home, ms: number): Promise<string> {
  const watch = startCli(['watch', '--port', '0', '--interval', '200ms', '--reap', '--linger', '100ms', '--grace', '300'], { env: h.env });
  await new Promise((resolve) => setTimeout(resolve, ms));
  watch.child.kill('SIGTERM');
  const r = await watch.result;
  return r.stderr;
}

describe('a resumed session (the same session id, a new agent process)', () => {
  it('what the ended agent left is the live session\'s while it runs: the follower, scan --reap and watch --reap leave it and the resumed tree alone; once the resumed agent ends, both are reaped', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 800);
    const session = uuid();
    const a = await startSession(jar, h, session, { hooks: true, config });
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    a.child.kill('SIGTERM'); // a normal end: SessionEnd runs, the MCP server and the tool are stopped
    expect(await gone(a.pids.agent!)).toBe(true);
    expect(await isAlive(a.pids.devServer!)).toBe(true); // backgrounded with nohup: it survives

    // `claude -p --continue`: the same id, a new process, started within the linger
    const a2 = await startSession(jar, h, session, { hooks: true, config, source: 'resume' });
    const live = [a.pids.devServer!, a2.pids.agent!, a2.pids.mcp!, a2.pids.tool!, a2.pids.devServer!];
    // the follower looked at the ended agent's record after its linger, and let it wait
    expect(await waitFor(() => existsSync(join(h.state, 'follower.log')) && readFileSync(join(h.state, 'follower.log'), 'utf8').includes('its session goes on'), 10_000, 100)).toBe(true);
    await allAlive(live);
    expect(entryFor(h, session)).toEqual([]);

    const scan = JSON.parse((await runCli(['scan', '--json', '--reap', '--grace', '300'], { env: h.env })).stdout) as ScanReport & { reaped: unknown[] };
    for (const pid of live) expect(reported(scan)).not.toContain(pid);
    await watchReapFor(h, 1500);
    await allAlive(live);

    a2.child.kill('SIGTERM');
    // Now the session is over: both records close (the first to close journals and reaps what the
    // session left by its markers, both dev servers), and the follower exits.
    expect(await waitFor(async () => (await runningFollower(h.state)) === undefined, 25_000, 200)).toBe(true);
    const leaked = entryFor(h, session).flatMap((e) => e.leaked.map((p) => p.pid));
    expect(leaked).toEqual(expect.arrayContaining([a.pids.devServer, a2.pids.devServer]));
    expect(await gone(a.pids.devServer!)).toBe(true);
    expect(await gone(a2.pids.devServer!)).toBe(true);
  });

  it('without hooks too: a resumed agent\'s tool names it, and the ended agent\'s dev server is not a leak while it runs', async () => {
    const h = newHome(homes);
    const session = uuid();
    const a = await startSession(jar, h, session);
    a.child.kill('SIGKILL');
    expect(await gone(a.pids.agent!)).toBe(true);
    const before = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    expect(certainPids(before)).toContain(a.pids.devServer); // over, before the resume
    const a2 = await startSession(jar, h, session);
    const after = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    for (const pid of [a.pids.devServer!, a.pids.tool!, ...Object.values(a2.pids)]) expect(certainPids(after)).not.toContain(pid);
  });
});

describe('a session that started a long-lived host (tmux), and a new agent a person runs inside it', () => {
  it('nothing of the host, the new agent or its tools is reaped — by the follower or scan --reap; the old session\'s own leak is', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 500);
    const socket = join(tempDir('tmux'), 'sock');
    const old = uuid();
    const a = await startSession(jar, h, old, { hooks: true, config, tmux: socket });
    const tmux = a.pids.tmux!;
    expect((await reader.readStatus(tmux))?.ppid).toBe(1); // re-parented, carrying the old session's markers
    await jar.adoptTree(tmux);
    // A person runs `claude` in a tmux window: its environment is the tmux server's (the old session's markers).
    const pidsFile = join(h.home, 'inside.json');
    // (It runs rtrack's hooks too: the tmux server's environment holds the stand-in's hook commands, as a person's settings would.)
    spawnSync('tmux', ['-S', socket, 'new-window', '-t', 'work', '-c', h.home, `exec -a claude ${process.execPath} ${STAND_IN} session inside-${old} > ${pidsFile}`], { env: h.env, cwd: h.home });
    expect(await waitFor(() => existsSync(pidsFile) && readFileSync(pidsFile, 'utf8').includes('}'))).toBe(true);
    const inside = JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
    for (const pid of Object.values(inside)) await jar.adoptTree(pid);
    await jar.adoptTree(tmux);
    expect(readFileSync(`/proc/${inside.agent}/environ`, 'latin1')).toContain(`CLAUDE_CODE_SESSION_ID=${old}\0`);
    const hostShells = (await reader.readChildren([tmux])).map((c) => c.pid);
    const live = [tmux, ...hostShells, ...Object.values(inside)];

    a.child.kill('SIGTERM'); // the old session ends; its dev server and the tmux server survive it
    expect(await waitFor(() => entryFor(h, old).length === 1, 15_000, 100)).toBe(true);
    const entry = entryFor(h, old)[0]!;
    expect(entry.leaked.map((p) => p.pid)).toContain(a.pids.devServer);
    for (const pid of live) expect(entry.leaked.map((p) => p.pid)).not.toContain(pid);
    expect(await gone(a.pids.devServer!)).toBe(true);
    await allAlive(live);

    // a leak of the old session that the follower did not reap (started after it closed the session)
    const [late] = await jar.orphan(`CLAUDE_CODE_SESSION_ID=${old} CLAUDE_PID=${a.pids.agent} nohup bash -c 'exec -a late-${old} sleep 644' >/dev/null 2>&1 & echo $!`);
    const reap = await runCli(['scan', '--reap', '--json', '--grace', '300'], { env: h.env });
    const scan = JSON.parse(reap.stdout) as ScanReport;
    expect(certainPids(scan)).toContain(late);
    for (const pid of live) expect(reported(scan)).not.toContain(pid);
    expect(await gone(late!)).toBe(true);
    await allAlive(live);
  });
});

describe('a tmux an ended session left, that a person attached to', () => {
  it('a suspect, never certain (a host shared by every client of its socket); nothing in it is reported or reaped while a terminal is attached; detached, a person reaps it by naming it', async () => {
    const h = newHome(homes);
    const socket = join(tempDir('tmux'), 'sock');
    const old = uuid();
    const a = await startSession(jar, h, old, { tmux: socket });
    const tmux = a.pids.tmux!;
    await jar.adoptTree(tmux);
    const shells = (await reader.readChildren([tmux])).map((c) => c.pid);
    expect(shells.length).toBeGreaterThan(0);
    a.child.kill('SIGTERM'); // the session ends; its tmux (with the session's markers) survives it
    expect(await waitFor(async () => !(await isAlive(a.pids.agent!)))).toBe(true);
    const suspectPids = (scan: ScanReport): number[] => scan.suspected.flatMap((g) => g.processes.map((p) => p.pid));
    const before = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    // Not attached: shown as a suspect with why it is not certain (its markers say who started it, not who uses it)…
    for (const pid of [tmux, ...shells]) expect(certainPids(before)).not.toContain(pid);
    expect(suspectPids(before)).toEqual(expect.arrayContaining([tmux, ...shells]));
    expect(before.suspected.flatMap((g) => g.processes).find((p) => p.pid === tmux)?.suspectBecause).toMatch(/^a tmux server: a host shared by every client of its socket/);
    // …and scan --reap leaves it.
    await runCli(['scan', '--reap', '--grace', '300', '--session', old], { env: h.env });
    await allAlive([tmux, ...shells]);

    // A person attaches to it from a terminal of their own (a pty: script(1)).
    const accepted = (): boolean => readFileSync('/proc/net/unix', 'latin1').split('\n').some((l) => l.endsWith(` ${socket}`) && / 03 \d+ /.test(l));
    const client = jar.spawn('script', ['-qfc', `tmux -S ${socket} attach -t work`, '/dev/null'], { env: { ...h.env, TERM: 'xterm' }, stdio: 'pipe' });
    expect(await waitFor(accepted, 10_000)).toBe(true);
    const attached = JSON.parse((await runCli(['scan', '--reap', '--json', '--grace', '300'], { env: h.env })).stdout) as ScanReport;
    for (const pid of [tmux, ...shells]) expect(reported(attached)).not.toContain(pid);
    await allAlive([tmux, ...shells]);

    client.kill('SIGKILL'); // the terminal closes: detached
    expect(await waitFor(() => !accepted(), 10_000)).toBe(true);
    const detached = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    expect(suspectPids(detached)).toEqual(expect.arrayContaining([tmux, ...shells]));
    // The person names it: then it goes, with all it hosts.
    await runCli(['scan', '--reap', '--match', `^tmux -S ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, '--yes', '--grace', '300'], { env: h.env });
    for (const pid of [tmux, ...shells]) expect(await gone(pid), `pid ${pid} named with its tmux is gone`).toBe(true);
  });
});

describe("rtrack's own processes", () => {
  it('the follower a hook starts inside `rtrack run --reap` survives the run\'s reaping and its cgroup; scan and a running watch never report or reap it or the watch', async () => {
    const h = newHome(homes);
    const session = uuid();
    // The agent runs under rtrack: the hook (and before, the follower it starts) inherit the run's tag.
    const script = `"${process.execPath}" "${STAND_IN}" session ${session} >/dev/null & agent=$!; sleep 2; kill -TERM $agent; wait $agent`;
    const hooks = { STAND_IN_HOOK_START: `${process.execPath} ${RTRACK} session start --agent claude-code`, STAND_IN_HOOK_END: `${process.execPath} ${RTRACK} session end --agent claude-code` };
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', '-', '--', 'bash', '-c', script], { env: { ...h.env, ...hooks }, cwd: h.home, timeoutMs: 30_000 });
    const report = JSON.parse(r.stdout) as TaskReport;
    for (const p of report.orphans) await jar.adopt(p.pid);
    const follower = (await runningFollower(h.state))!;
    expect(follower).toBeDefined();
    await jar.adopt(follower.pid);
    expect(report.orphans.map((p) => p.pid)).not.toContain(follower.pid);
    expect(report.reaped?.map((o) => o.pid)).not.toContain(follower.pid);
    expect(report.reaped?.find((o) => /^server-/.test(o.command))?.result).toMatch(/^(terminated|killed)$/); // the real leak
    expect(await isAlive(follower.pid)).toBe(true);
    const environ = readFileSync(`/proc/${follower.pid}/environ`, 'latin1').split('\0');
    expect(environ).toContain('RESOURCE_TRACKER_DAEMON=follower');
    expect(environ.some((v) => v.startsWith('RESOURCE_TRACKER_TASK=') || v.startsWith('CLAUDE_'))).toBe(false);

    // A watch started from an ended session's Bash tool (its markers, an ended run's tag), re-parented.
    const goneTag = formatTaskTag({ pid: 999_999, startTime: 1, pidNamespace: reader.readPidNamespace!(process.pid)!.namespace }, 'f00d');
    const [watch] = await jar.orphan(`setsid ${process.execPath} ${RTRACK} watch --port 0 --interval 200ms --reap --linger 100ms >/dev/null 2>&1 & echo $!`, {
      ...h.env,
      CLAUDE_CODE_SESSION_ID: `ended-${session}`,
      CLAUDE_PID: '999999',
      RESOURCE_TRACKER_TASK: goneTag,
    });
    expect(await waitFor(async () => (await reader.readStatus(watch!))?.ppid === 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the watch scanned and reaped meanwhile
    const scan = JSON.parse((await runCli(['scan', '--json', '--all', '--reap', '--grace', '300'], { env: h.env })).stdout) as ScanReport;
    for (const pid of [follower.pid, watch!]) expect(reported(scan)).not.toContain(pid);
    expect(await isAlive(follower.pid)).toBe(true);
    expect(await isAlive(watch!)).toBe(true);
  });
});

describe('a Codex session whose rollout file is held by a process not named codex', () => {
  it('is live: its detached tool is not a leak; once the holder is gone it is', async () => {
    const session = `01a217e5-58ea-7623-b98b-${Math.random().toString(16).slice(2, 14)}`;
    const codexHome = tempDir('codex-home');
    // a release binary run through a wrapper: nothing on its command line says codex
    const holder = jar.spawn('bash', ['-c', 'exec -a "node /opt/agents/runner.js" "$0" "$@"', process.execPath, STAND_IN, 'codex', session, codexHome], { stdio: ['ignore', 'pipe', 'inherit'], cwd: codexHome });
    const pids = JSON.parse(await new Promise<string>((resolve) => holder.stdout!.once('data', (d: Buffer) => resolve(d.toString())))) as Record<string, number>;
    await jar.adoptTree(pids.detached!);
    const during = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    expect(certainPids(during)).not.toContain(pids.detached);
    holder.kill('SIGKILL');
    expect(await gone(holder.pid!)).toBe(true);
    const after = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    expect(after.certain.find((g) => g.session?.sessionId === session)?.processes.map((p) => p.pid)).toEqual([pids.detached]);
  });
});

const where = locateCgroupParent();
const root = process.getuid?.() === 0;
describe.skipIf('why' in where || !root)('a leftover cgroup of a run that is over (rtrack was SIGKILLed)', () => {
  const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0).reverse()) {
      // whatever is left in a test's own group is the test's: killed whole, then removed
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      await waitFor(() => !/^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1')), 3000);
      rmdirSync(dir);
    }
  });

  it('scan --reap run as its user from inside the group kills only the leak: not the kept process, not another user\'s, not the shell that runs it', async () => {
    const forNobody = packageForOtherUsers();
    const parent = (where as { parent: string }).parent;
    // a subtree delegated to nobody, as systemd delegates one to a user
    const delegated = join(parent, `rt-delegated-${process.pid}-${Date.now()}`);
    mkdirSync(delegated);
    made.push(delegated);
    for (const file of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(delegated, file), 65534, 65534);
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await gone(status.pid);
    const tag = formatTaskTag({ ...status, pidNamespace: reader.readPidNamespace!(process.pid)!.namespace }, 'dead2');
    const group = join(delegated, `rtrack-${tag}`);
    mkdirSync(group);
    chownSync(group, 65534, 65534);
    for (const file of ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(group, file), 65534, 65534);
    made.push(group);
    const place = (user: string[], command: string, env: NodeJS.ProcessEnv = {}): number => {
      const child = spawn('/bin/sh', ['-c', `echo 0 > "$0" && exec ${user.join(' ')} ${command}`, join(group, 'cgroup.procs')], { stdio: 'ignore', detached: true, env: { PATH: process.env.PATH, ...env } });
      child.unref();
      return child.pid!;
    };
    const leak = place(NOBODY, 'env -i sleep 661');
    const kept = place(NOBODY, 'sleep 662', { RESOURCE_TRACKER_KEEP: '1' });
    const rootOwned = place([], 'sleep 663');
    for (const pid of [leak, kept, rootOwned]) await jar.adopt(pid);
    expect(await waitFor(() => readFileSync(join(group, 'cgroup.procs'), 'latin1').trim().split('\n').length === 3)).toBe(true);
    // the shell that runs scan --reap is in the group too
    const home = tempDir('nobody-home');
    chownSync(home, 65534, 65534);
    const shell = spawnSync('/bin/sh', ['-c', `echo 0 > "$0" && exec ${NOBODY.join(' ')} "$1" "$2" scan --reap --grace 300`, join(group, 'cgroup.procs'), process.execPath, forNobody.rtrack], {
      encoding: 'utf8',
      cwd: '/',
      env: { PATH: process.env.PATH, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') },
    });
    forNobody.cleanup();
    expect(shell.status, shell.stderr).toBe(0);
    expect(await gone(leak)).toBe(true);
    await allAlive([kept, rootOwned]);
    expect(shell.stdout).toMatch(/could not remove the leftover cgroup/);
  });
});

describe('a kept server a task backgrounds and exits at once, on a loaded machine', () => {
  it('is kept every time, never reaped (100 rounds, both cores busy)', async () => {
    const { runTracked, silentLogger } = await import('../../src/index.js');
    const burners = [jar.spawn('sh', ['-c', 'while :; do :; done']), jar.spawn('sh', ['-c', 'while :; do :; done'])];
    const kept: number[] = [];
    try {
      for (let round = 0; round < 100; round++) {
        const report = await runTracked('bash', ['-c', 'sleep 405 &'], { config: { keep: ['^sleep 40[56]$'] }, logger: silentLogger, reap: { graceMs: 200 }, stdio: 'ignore' });
        const server = report.kept.find((p) => p.commandLine === 'sleep 405') ?? report.orphans.find((p) => p.ppid === 1);
        expect(server, `round ${round}: ${JSON.stringify(report.orphans)}`).toBeDefined();
        await jar.adopt(server!.pid);
        kept.push(server!.pid);
        expect(report.kept.map((p) => p.pid), `round ${round}`).toContain(server!.pid);
        expect(report.reaped?.map((o) => o.pid), `round ${round}`).not.toContain(server!.pid);
        expect(await isAlive(server!.pid), `round ${round}`).toBe(true);
      }
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }
    await allAlive(kept);
  }, 180_000);
});
