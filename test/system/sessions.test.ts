// The agents' hooks (installing them: hooks.test.ts): `rtrack session start|end` run
// by a stand-in agent through `sh -c` with the hook JSON on stdin, the one follower per user, the
// journal, and bad input that must never break the agent. HOME and XDG_STATE_HOME are temporary
// directories: nothing of the real user's is read or written.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { followerLockPath, readJournal, readRecords, type JournalEntry } from '../../src/tracking/session-records.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { hookCommand as installedHook } from '../../src/hooks/hook-commands.js';
import { takeSnapshot, type ScanReport } from '../../src/index.js';
import { ALLOW_SHARED, allowShared, followerConfig, hookCommand, newHome as homeIn, STAND_IN, startSession, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  // A follower left by a failed test is this test's: stop it by pid (identity-checked by the jar).
  await stopFollowers(homes, jar);
  await jar.cleanup();
});
const newHome = (): Home => homeIn(homes);

describe('rtrack session start|end and the follower', () => {
  /** A stand-in Claude Code that runs our hook commands; returns its child process and the pid of its scrubbed, double-forked server. */
  async function startHookedAgent(h: Home, session: string, config?: string, env: NodeJS.ProcessEnv = {}): Promise<{ agent: ReturnType<ProcessJar['spawn']>; scrubbed: number }> {
    const agent = jar.spawn('bash', ['-c', 'exec -a claude "$0" "$@"', process.execPath, STAND_IN, 'hooked', session], {
      env: { ...h.env, ...env, STAND_IN_HOOK_START: hookCommand('start', config), STAND_IN_HOOK_END: hookCommand('end', config) },
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: h.home,
    });
    const line = await new Promise<string>((resolve) => agent.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
    const scrubbed = (JSON.parse(line) as { scrubbed: number }).scrubbed;
    await jar.adopt(scrubbed);
    return { agent, scrubbed };
  }

  const entryFor = (h: Home, session: string): JournalEntry | undefined => readJournal(h.state).entries.find((e) => e.sessionId === session);

  it('the installed hooks run detached: the agent waits for a shell alone; a SessionEnd that runs after its agent exited records its reason all the same', async () => {
    const h = newHome();
    const config = followerConfig(h, false, 300);
    const installed = (subcommand: 'start' | 'end'): string => installedHook({ node: process.execPath, bin: RTRACK, subcommand, agent: 'claude-code', config });
    const session = `detached-${Date.now()}`;
    const t0 = Date.now();
    const agent = await startSession(jar, h, session, { env: { STAND_IN_HOOK_START: installed('start'), STAND_IN_HOOK_END: installed('end') } });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await waitFor(() => readRecords(h.state).some(({ record }) => record.sessionId === session && record.agentPid === agent.pids.agent))).toBe(true);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    // SessionEnd's rtrack starts after the agent has exited (it exits as soon as its hook's shell has)
    agent.child.kill('SIGTERM');
    expect(await waitFor(() => entryFor(h, session) !== undefined, 15_000, 100)).toBe(true);
    expect(entryFor(h, session)).toMatchObject({ agent: 'claude-code', agentPid: agent.pids.agent, reason: 'prompt_input_exit' });
    expect((await runCli(['sessions'], { env: h.env })).stdout).toMatch(new RegExp(`session ${session} in .*: ended .* ago \\(prompt_input_exit: the user left at the prompt \\(/exit, Ctrl\\+D\\)\\), left`));
    expect(existsSync(join(h.state, 'hooks.log'))).toBe(false);
  });

  it('a crashed agent: the journal records its scrubbed, double-forked server with lineage evidence; with reaping on nothing of it survives, a bystander does; the follower then exits', async () => {
    const h = newHome();
    const config = join(h.home, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n      linger_ms: 300\n');
    const session = `c0ffee-${Date.now()}`;
    const { agent, scrubbed } = await startHookedAgent(h, session, config);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    const follower = (await runningFollower(h.state))!;
    await jar.adopt(follower.pid);
    expect(await waitFor(async () => (await takeSnapshot()).processes.find((p) => p.pid === scrubbed)?.ppid === 1)).toBe(true); // detached
    const [bystander] = await jar.orphan('sleep 631 >/dev/null 2>&1 & echo $!');

    agent.kill('SIGKILL'); // no SessionEnd hook runs
    // the entry is journalled before the first signal, the outcome of reaping after it
    expect(await waitFor(() => entryFor(h, session)?.reaped !== undefined, 15_000, 100)).toBe(true);
    const entry = entryFor(h, session)!;
    expect(entry).toMatchObject({ agent: 'claude-code', agentPid: agent.pid, reason: 'agent exited', cwd: h.home });
    // the SessionStart hook gave later Bash-tool commands rtrack's tag, owned by the agent process
    expect(readFileSync(join(h.home, `env-${session}.sh`), 'utf8')).toMatch(new RegExp(`^export RESOURCE_TRACKER_TASK=rt2\\.${agent.pid}\\.\\d+\\.\\d+\\.[0-9a-f]+\\n$`));
    expect(entry.leaked.find((p) => p.pid === scrubbed)).toMatchObject({ command: 'scrubbed-server 630', evidence: ['lineage'] });
    expect(entry.leaked.find((p) => p.pid === scrubbed)?.cost?.pssBytes).toBeGreaterThan(0); // what it cost, measured before reaping
    expect(entry.reaped?.find((r) => r.pid === scrubbed)?.result).toMatch(/^(terminated|killed)$/);
    expect(await isAlive(scrubbed)).toBe(false);
    expect(await isAlive(bystander!)).toBe(true);
    expect(entry.leaked.map((p) => p.pid)).not.toContain(bystander);
    // it follows nothing now: it exits, and removes its lock
    expect(await waitFor(async () => !(await isAlive(follower.pid)), 10_000)).toBe(true);
    expect(existsSync(followerLockPath(h.state, createLinuxReader().readPidNamespaceId!(process.pid)))).toBe(false);

    const human = await runCli(['sessions'], { env: h.env });
    expect(human.stdout).toMatch(new RegExp(`claude-code session ${session} in .*: ended .* ago \\(agent exited: no SessionEnd hook ran: the agent was killed, or crashed\\), left \\d+ process`));
    expect(human.stdout).toMatch(/scrubbed-server 630 {2}\(lineage\) → (terminated|killed)/);
  });

  it('an agent that runs under `rtrack run` (its tag in the environment): SessionStart leaves the run\'s tag to its Bash-tool commands', async () => {
    const h = newHome();
    const session = `under-run-${Date.now()}`;
    const runTag = 'rt3.4242.99.4026531836.0123456789ab';
    await startHookedAgent(h, session, undefined, { RESOURCE_TRACKER_TASK: runTag });
    expect(await waitFor(() => readRecords(h.state).some((r) => r.record.sessionId === session))).toBe(true);
    // The hook starts the follower after it has written to the environment file, if it does.
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    expect(existsSync(join(h.home, `env-${session}.sh`)) ? readFileSync(join(h.home, `env-${session}.sh`), 'utf8') : '').not.toContain('RESOURCE_TRACKER_TASK');
  });

  it('two agents started at once share one follower, which exits after the last; SessionEnd records the reason', async () => {
    const h = newHome();
    const config = join(h.home, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n      linger_ms: 200\n');
    const [a, b] = await Promise.all([startHookedAgent(h, `a-${Date.now()}`, config), startHookedAgent(h, `b-${Date.now()}`, config)]);
    const followers = async (): Promise<number[]> =>
      (await takeSnapshot()).processes
        .filter((p) => p.commandLine?.includes("dist/cli/follower-main.cjs"))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p.pid}/environ`, 'latin1').includes(`XDG_STATE_HOME=${h.env.XDG_STATE_HOME}\0`);
          } catch {
            return false;
          }
        })
        .map((p) => p.pid);
    expect(await waitFor(async () => (await followers()).length === 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const one = await followers();
    expect(one).toHaveLength(1);
    for (const pid of one) await jar.adopt(pid);

    a.agent.kill('SIGTERM'); // a clean exit: its SessionEnd hook runs
    expect(await waitFor(() => readJournal(h.state).entries.length >= 1, 15_000, 100)).toBe(true);
    expect(readJournal(h.state).entries[0]!.reason).toBe('prompt_input_exit');
    expect(await isAlive(one[0]!)).toBe(true); // still following the other
    b.agent.kill('SIGKILL');
    expect(await waitFor(async () => !(await isAlive(one[0]!)), 15_000)).toBe(true);
    expect(readJournal(h.state).entries).toHaveLength(2);
  });

  it('bad input never breaks the agent: exit 0 at once, and one line in hooks.log', async () => {
    const h = newHome();
    for (const input of ['', '{not json', '{"hook_event_name":"SessionStart"}']) {
      const started = Date.now();
      const r = spawnSync(process.execPath, [RTRACK, 'session', 'start', '--agent', 'claude-code'], { input, env: h.env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.stdout + r.stderr).toBe('');
    }
    const log = readFileSync(join(h.state, 'hooks.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(3);
    expect(log[0]).toMatch(/session start: no hook input on stdin$/);
    expect(log[1]).toMatch(/session start: hook input on stdin is not JSON$/);
    expect(log[2]).toMatch(/session start: hook input has no session_id$/);
    expect(await runningFollower(h.state)).toBeUndefined();
    const end = spawnSync(process.execPath, [RTRACK, 'session', 'end', '--agent', 'claude-code'], { input: '{"session_id":"x","hook_event_name":"SessionEnd","reason":"clear"}', env: h.env, encoding: 'utf8' });
    expect(end.status).toBe(0);
    // An agent that writes its JSON and never closes stdin: the hook reads what came within a
    // second and exits, on the hooks' fast path and through the full CLI (`--agent=…`) alike
    for (const agent of [['--agent', 'claude-code'], ['--agent=claude-code']]) {
      const started = Date.now();
      const child = jar.spawn(process.execPath, [RTRACK, 'session', 'end', ...agent], { env: h.env, stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin!.write('{"session_id":"open","hook_event_name":"SessionEnd","reason":"other"}');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect([code, Date.now() - started < 4000]).toEqual([0, true]);
      child.stdin!.destroy();
    }
    expect(readFileSync(join(h.state, 'hooks.log'), 'utf8')).toMatch(/session end: session open was not registered .*\n.*session end: session open was not registered/);
  });

  it('the journal and scan agree: a journalled leftover that still runs (reaping off) is a certain leak of its session in scan, `rtrack sessions` says it still runs and how to reap it, and `scan --reap --session` reaps it alone', async () => {
    const h = newHome();
    const config = followerConfig(h, false, 200);
    const session = `journal-${Date.now()}`;
    const { agent, scrubbed } = await startHookedAgent(h, session, config);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    expect(await waitFor(async () => (await takeSnapshot()).processes.find((p) => p.pid === scrubbed)?.ppid === 1)).toBe(true);
    agent.kill('SIGKILL');
    expect(await waitFor(() => entryFor(h, session) !== undefined, 15_000, 100)).toBe(true);
    expect(entryFor(h, session)!.leaked.find((p) => p.pid === scrubbed)).toMatchObject({ evidence: ['lineage'] });
    // A leftover of another session, certain too, that --session leaves alone.
    const [other] = await jar.orphan(`CLAUDE_CODE_SESSION_ID=other-${session} CLAUDE_PID=${2 ** 22 + 11} nohup sleep 632 >/dev/null 2>&1 & echo $!`);

    // The scrubbed server carries no marker: only the journal knows whose it is.
    const scan = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    const group = scan.certain.find((g) => g.session?.sessionId === session);
    expect(group?.session).toMatchObject({ agent: 'claude-code', over: 'journalled' });
    expect(group?.processes.map((p) => [p.pid, p.evidence])).toEqual([[scrubbed, ['lineage']]]);

    const listed = await runCli(['sessions'], { env: h.env });
    expect(listed.stdout).toMatch(new RegExp(`scrubbed-server 630 .*still running`));
    expect(listed.stdout).toContain(`1 process of it still runs; to reap it: rtrack scan --reap --session '${session}'`);
    const json = JSON.parse((await runCli(['sessions', '--json'], { env: h.env })).stdout) as (JournalEntry & { stillRunning: number[] })[];
    expect(json.find((e) => e.sessionId === session)?.stillRunning).toEqual([scrubbed]);

    const reaped = await runCli(['scan', '--reap', '--session', session, '--grace', '300'], { env: h.env });
    expect(reaped.code, reaped.stderr).toBe(0);
    expect(await waitFor(async () => !(await isAlive(scrubbed)))).toBe(true);
    expect(await isAlive(other!)).toBe(true);
    expect((await runCli(['sessions'], { env: h.env })).stdout).not.toContain('still run');
  });

  it('rtrack sessions skips a corrupt journal line with a warning', async () => {
    const h = newHome();
    const entry: JournalEntry = { agent: 'claude-code', sessionId: 's-1', agentPid: 5, startedAt: new Date(0).toISOString(), endedAt: new Date().toISOString(), reason: 'other', leaked: [{ pid: 9, command: 'sleep 1', memoryMB: 1, evidence: ['agent'] }] };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(h.state, { recursive: true });
    writeFileSync(join(h.state, 'journal.jsonl'), `${JSON.stringify(entry)}\n{"truncated\n`);
    const r = await runCli(['sessions', '--json'], { env: h.env });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as JournalEntry[]).map((e) => e.sessionId)).toEqual(['s-1']);
    expect(r.stderr).toBe('rtrack: warning: 1 corrupt line in the journal skipped\n');
  });
  it('rtrack sessions says whether the follower reaps and which config it reads: the hooks\' --config, else the per-user one', async () => {
    const h = newHome();
    const sessions = async (): Promise<string> => (await runCli(['sessions'], { env: h.env, cwd: h.home })).stdout;
    expect(await sessions()).toContain('rtrack: no agent hooks are installed, so no session is followed: `rtrack hooks install claude --reap`');
    const userConfig = join(h.home, 'config', 'rtrack', 'config.yaml');
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code'], { env: h.env, cwd: h.home })).code).toBe(0);
    expect(await sessions()).toContain(`rtrack: claude-code sessions: reaping is off: the follower reads no config file (there is no ${userConfig}), the defaults; \`rtrack hooks install claude-code --reap\` turns it on`);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--reap'], { env: h.env, cwd: h.home })).code).toBe(0);
    expect(await sessions()).toContain(`rtrack: claude-code sessions: reaping is on: the follower reads ${userConfig}\n`);
    const own = join(h.home, 'rtrack.yaml');
    writeFileSync(own, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: false\n');
    expect((await runCli(['hooks', 'install', ...allowShared(own), 'gemini-cli', '--config', own], { env: h.env, cwd: h.home })).code).toBe(0);
    expect(await sessions()).toContain(`rtrack: gemini-cli sessions: reaping is off: the follower reads ${own}\n`);
  });
});
