// Leaks of agent sessions rtrack did not start, found by the agents' own markers (no setup): a
// stand-in agent sets exactly what Claude Code and Codex set for their children (recorded in
// shared/agents/), is SIGKILLed, and scan must attribute what it left — and nothing of a live session.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { reapOrphans, scanMachine, takeSnapshot, type LeakGroup, type ScanReport } from '../../src/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { createLinuxReader } from '../../src/platform/linux.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const STAND_IN = fileURLToPath(new URL('../fixtures/tasks/stand-in-agent.mjs', import.meta.url));
const reader = createLinuxReader();

interface Agent {
  child: ChildProcess;
  pids: Record<string, number>;
}

/** Starts a stand-in agent named `name` (its command line starts with it, as the real one's does). */
async function startAgent(name: 'claude' | 'codex', session: string, extra = ''): Promise<Agent> {
  const child = jar.spawn('bash', ['-c', `exec -a ${name} "$0" "$@"`, process.execPath, STAND_IN, name, session, extra], { stdio: ['ignore', 'pipe', 'inherit'], cwd: tempDir('agent-cwd') });
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  const pids = JSON.parse(line) as Record<string, number>;
  for (const pid of Object.values(pids)) await jar.adoptTree(pid);
  return { child, pids };
}

async function kill(agent: Agent): Promise<void> {
  agent.child.kill('SIGKILL');
  await waitFor(async () => !(await isAlive(agent.child.pid!)));
}

const reported = (scan: ScanReport): number[] => [...scan.certain, ...scan.suspected].flatMap((g) => g.processes.map((p) => p.pid));
const sessionGroup = (scan: ScanReport, sessionId: string): LeakGroup | undefined => scan.certain.find((g) => g.session?.sessionId === sessionId);
const uuid = (): string => `${Date.now().toString(16)}-4c3b-a1e4-${Math.random().toString(16).slice(2, 14)}`;

describe('Claude Code sessions (CLAUDE_CODE_SESSION_ID, CLAUDE_PID)', () => {
  it('while the agent lives nothing of its session is reported; once it is SIGKILLed, its MCP tree and its dev server are one certain group', async () => {
    const session = uuid();
    const other = uuid();
    const agent = await startAgent('claude', session);
    const bystander = await startAgent('claude', other);
    const mine = Object.values(agent.pids);
    expect(mine).toHaveLength(3); // MCP server, its browser, the backgrounded dev server
    expect((await reader.readStatus(agent.pids.devServer!))?.ppid).toBe(1); // re-parented at once, while the session goes on

    const during = await scanMachine();
    for (const pid of mine) expect(reported(during)).not.toContain(pid);

    await kill(agent);
    const after = await scanMachine();
    const group = sessionGroup(after, session)!;
    expect(group.session).toMatchObject({ agent: 'claude-code', sessionId: session, agentPid: agent.child.pid, over: 'agent-gone' });
    expect(group.processes.map((p) => p.pid).sort()).toEqual([...mine].sort());
    for (const p of group.processes) expect(p.evidence).toEqual(['agent']);
    // the second session is alive: none of its processes is reported
    for (const pid of Object.values(bystander.pids)) expect(reported(after)).not.toContain(pid);

    const human = await runCli(['scan']);
    expect(human.stdout).toMatch(new RegExp(`claude-code session ${session} in \\S+ \\(agent pid ${agent.child.pid} gone\\): 3 processes`));
  });

  it('a marked process whose agent pid now belongs to a younger process (a reused pid) is a leak', async () => {
    // The marked process starts first and waits; a younger process named like the agent starts
    // beside it (not below it: a live agent's hosts are in use), and its pid becomes CLAUDE_PID.
    const session = uuid();
    const handoff = join(tempDir('reused-pid'), 'pid');
    const [marked, younger] = await jar.orphan(
      `( until [ -s ${handoff} ]; do sleep 0.01; done; CLAUDE_PID=$(cat ${handoff}) CLAUDE_CODE_SESSION_ID=${session} exec sleep 621 ) >/dev/null 2>&1 & echo $!; sleep 0.05; ( exec -a claude sleep 620 ) >/dev/null 2>&1 & echo $! | tee ${handoff}.tmp; mv ${handoff}.tmp ${handoff}`,
    );
    expect(await waitFor(() => readCmd(marked!) === 'sleep 621 ')).toBe(true); // exec'd, with CLAUDE_PID set
    expect(readFileSync(`/proc/${marked}/environ`, 'latin1')).toContain(`CLAUDE_PID=${younger}\0`);
    const scan = await scanMachine();
    expect(sessionGroup(scan, session)?.processes.map((p) => p.pid)).toContain(marked);
  });

  it('a sub-agent the session started in the background outlives it: without the follower\'s lineage it is a live agent — it, its tree and its own dev server are not reported, and the reaper refuses them; the session\'s own leaks are certain', async () => {
    const session = uuid();
    const agent = await startAgent('claude', session, 'sub');
    const sub = agent.pids.subAgent!;
    // the sub-agent starts its own MCP server and dev server; wait for them
    expect(await waitFor(async () => (await jar.adoptTree(sub)).length >= 3, 10_000)).toBe(true);
    await kill(agent);
    const scan = await scanMachine();
    const subTree = await jar.adoptTree(sub);
    // Its markers are its session's, but an agent a person starts in a host the session left carries
    // the same: markers alone do not make a live agent a leak (test/rules/gate.test.ts: with lineage, it is).
    for (const pid of subTree) expect(reported(scan)).not.toContain(pid);
    expect(sessionGroup(scan, `${session}-sub`)).toBeUndefined();
    const outer = sessionGroup(scan, session)!;
    expect(outer.processes.map((p) => p.pid).sort()).toEqual([agent.pids.mcp, agent.pids.browser, agent.pids.devServer].sort());
    const subInfo = (await takeSnapshot()).processes.find((p) => p.pid === sub)!;
    const outcomes = await reapOrphans([{ ...subInfo, evidence: ['agent'] }], { graceMs: 500 });
    expect(outcomes[0]).toMatchObject({ result: 'in-use', signals: [] });
    expect(await isAlive(sub)).toBe(true);
  });
});

function readCmd(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe('Codex sessions (CODEX_SESSION_ID, the rollout file the agent holds open)', () => {
  it('a setsid-detached tool process is not a leak while the agent holds its session file, and is one after', async () => {
    const session = uuid();
    const agent = await startAgent('codex', session, tempDir('codex-home'));
    const detached = agent.pids.detached!;
    expect((await reader.readStatus(detached))?.ppid).toBe(1);
    expect(reported(await scanMachine())).not.toContain(detached);
    await kill(agent);
    const group = sessionGroup(await scanMachine(), session)!;
    expect(group.session).toMatchObject({ agent: 'codex', over: 'session-file-closed' });
    expect(group.processes.map((p) => p.pid)).toEqual([detached]);
  });
});

describe('agents of your own (config `agents:`)', () => {
  it('a YAML-declared agent\'s leftovers are certain once its agent pid is gone', async () => {
    const config = join(tempDir('agents-config'), 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    agents:\n      - name: house-agent\n        session_env: HOUSE_SESSION\n        pid_env: HOUSE_PID\n        process: "^house-agent( |$)"\n');
    const [leak] = await jar.orphan(`HOUSE_SESSION=h-1 HOUSE_PID=${2 ** 22 + 7} bash -c 'exec sleep 622' >/dev/null 2>&1 & echo $!`);
    const r = await runCli(['scan', '--json', '--config', config]);
    const scan = JSON.parse(r.stdout) as ScanReport;
    expect(sessionGroup(scan, 'h-1')?.processes.map((p) => p.pid)).toEqual([leak]);
    // without the config, the same process is no agent's
    expect(sessionGroup(JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport, 'h-1')).toBeUndefined();
  });

  it('what steers a kill is the user\'s own config: a cloned repository\'s ./resource-tracker.yaml is not read by scan --reap; $XDG_CONFIG_HOME/rtrack/config.yaml is', async () => {
    const house = 'diagnostics:\n  resource_tracking:\n    agents:\n      - name: house-agent\n        session_env: HOUSE_SESSION\n        pid_env: HOUSE_PID\n        process: "^house-agent( |$)"\n';
    const repo = tempDir('cloned-repo');
    writeFileSync(join(repo, 'resource-tracker.yaml'), house); // a repository that would make a bystander a certain leak
    const home = tempDir('home');
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config') };
    const [bystander] = await jar.orphan(`HOUSE_SESSION=h-2 HOUSE_PID=${2 ** 22 + 9} bash -c 'exec sleep 625' >/dev/null 2>&1 & echo $!`);
    const fromRepo = await runCli(['scan', '--reap', '--json', '--grace', '300'], { env, cwd: repo });
    expect(sessionGroup(JSON.parse(fromRepo.stdout) as ScanReport, 'h-2')).toBeUndefined();
    expect(await isAlive(bystander!)).toBe(true);
    // the user's own config is read by the machine-wide commands
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(home, 'config', 'rtrack'), { recursive: true });
    writeFileSync(join(home, 'config', 'rtrack', 'config.yaml'), house);
    const fromUser = JSON.parse((await runCli(['scan', '--json'], { env, cwd: repo })).stdout) as ScanReport;
    expect(sessionGroup(fromUser, 'h-2')?.processes.map((p) => p.pid)).toEqual([bystander]);
    // a user config rtrack reads nothing from is one warning line naming the file; --config with it is a usage error
    writeFileSync(join(home, 'config', 'rtrack', 'config.yaml'), 'sessions: { reap: true }\n');
    const warned = await runCli(['scan'], { env, cwd: repo });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^rtrack: warning: \S+config\.yaml: rtrack reads nothing from this file: its settings go under diagnostics\.resource_tracking \(sessions is at the top level\)\n$/);
    const named = await runCli(['scan', '--config', join(home, 'config', 'rtrack', 'config.yaml')], { env });
    expect(named.code).toBe(2);
    expect(named.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('watch --reap', () => {
  it('reaps certain leaks once they have lingered, counts them by result, and never touches a suspect', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(status.pid)));
    const [leak] = await jar.orphan('sleep 623 >/dev/null 2>&1 & echo $!', { ...process.env, RESOURCE_TRACKER_TASK: formatTaskTag(status, 'feed') });
    const [suspect] = await jar.orphan('(exec -a "npm exec mcp-server-suspect" sleep 624) >/dev/null 2>&1 & echo $!');
    const started = Date.now();
    const home = tempDir('watch-reap'); // where watch --reap journals what it reaped
    const watch = startCli(['watch', '--port', '0', '--interval', '100ms', '--reap', '--linger', '800ms', '--grace', '300'], { env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state') } });
    let stderr = '';
    watch.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      expect(await waitFor(async () => !(await isAlive(leak!)), 15_000, 50)).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
      expect(await isAlive(suspect!)).toBe(true);
      expect(await waitFor(() => /rtrack watch listening url=\S+/.test(stderr))).toBe(true);
      const url = /url=(\S+)/.exec(stderr)![1]!;
      // The count goes up when reaping returns, which can be a moment after the process is gone.
      const counted = async (): Promise<boolean> => /^rtrack_reaped_processes_total\{result="(terminated|killed)"\} [1-9]/m.test(await (await fetch(url)).text());
      expect(await waitFor(counted, 10_000, 100)).toBe(true);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.result;
    }
  });
});
