// Gemini CLI and opencode sessions (#27), on stand-ins that behave as the real agents were recorded
// (shared/agents/gemini-cli-0.61.0, opencode-1.18.33): Gemini CLI through the hooks `rtrack hooks
// install gemini` writes (the relaunched agent runs them through `sh -c`; its tools carry only
// GEMINI_CLI=1), and without hooks; opencode through rtrack's real plugin file (loaded and called
// as opencode does) and without it (OPENCODE_PID). HOME and XDG directories are temporary.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { readJournal, readRecords, type JournalEntry } from '../../src/tracking/session-records.js';
import { reapOrphans, takeSnapshot, type ScanReport } from '../../src/index.js';
import { allowShared, followerConfig, installedHooks, newHome, quote, startGemini, startOpencode, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

const uuid = (): string => `${Date.now().toString(16)}-6e61-4d0e-${Math.random().toString(16).slice(2, 14)}`;
const entryFor = (h: Home, session: string): JournalEntry | undefined => readJournal(h.state).entries.find((e) => e.sessionId === session);
/** The session's entry once complete: the entry is journalled before the first signal, the outcome of reaping after. */
const settled = (h: Home, session: string): boolean => {
  const e = entryFor(h, session);
  return e !== undefined && (e.reaping !== 'started' || e.reaped !== undefined);
};
const gone = (pid: number): Promise<boolean> => waitFor(async () => !(await isAlive(pid)), 10_000);
const scan = async (h: Home, ...args: string[]): Promise<ScanReport> => JSON.parse((await runCli(['scan', '--json', ...args], { env: h.env })).stdout) as ScanReport;
const certainPids = (s: ScanReport): number[] => s.certain.flatMap((g) => g.processes.map((p) => p.pid));
const suspectedPids = (s: ScanReport): number[] => s.suspected.flatMap((g) => g.processes.map((p) => p.pid));
const environOf = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');

/** Installs the Gemini CLI hooks with the CLI (by its command's name, `gemini`) and returns the commands it wrote. */
async function geminiHooks(h: Home, config?: string): Promise<{ start: string; end: string }> {
  const r = await runCli(['hooks', 'install', ...allowShared(...(config ? [config] : [])), 'gemini', ...(config ? ['--config', config] : [])], { env: h.env });
  expect(r.code, r.stderr).toBe(0);
  return installedHooks(join(h.home, '.gemini', 'settings.json'));
}

describe('Gemini CLI with its hooks (rtrack hooks install gemini)', () => {
  it('SIGKILLed: the registered agent is the relaunched node; what its tools left — a foreground tool and a server backgrounded with nohup into the tool\'s session — is certain (lineage), journalled and reaped; scan reports it while the follower holds the record', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 1500);
    const session = uuid();
    const g = await startGemini(jar, h, session, { hooks: await geminiHooks(h, config), toolWait: 2 });
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    const [record] = readRecords(h.state).map((r) => r.record);
    expect(record).toMatchObject({ agent: 'gemini-cli', sessionId: session, agentPid: g.pids.agent, cwd: h.home, source: 'startup' });
    expect(environOf(g.pids.devServer!)).toContain('GEMINI_CLI=1');
    expect(environOf(g.pids.devServer!).some((v) => v.startsWith('GEMINI_SESSION_ID='))).toBe(false); // tools carry no session id
    // the tool's shell works a moment (the follower sees it), then backgrounds the server and exits:
    // the server is re-parented before the follower sees it as the shell's child, in the shell's session
    expect(await waitFor(async () => (await takeSnapshot()).processes.find((p) => p.pid === g.pids.devServer)?.ppid === 1)).toBe(true);

    // while the session runs, nothing of it is reported
    const during = await scan(h);
    for (const pid of Object.values(g.pids)) expect([...certainPids(during), ...suspectedPids(during)]).not.toContain(pid);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the follower's next tick

    process.kill(g.pids.agent!, 'SIGKILL'); // no SessionEnd hook runs
    expect(await gone(g.pids.launcher!)).toBe(true); // the launcher exits with its agent
    // within the linger, scan knows the session is over and what the follower saw of its tree
    const over = await scan(h);
    const group = over.certain.find((c) => c.session?.sessionId === session);
    expect(group?.session).toMatchObject({ agent: 'gemini-cli', over: 'agent-gone' });
    expect(group?.processes.map((p) => p.pid).sort()).toEqual([g.pids.devServer, g.pids.tool].sort());
    expect(group?.processes.every((p) => p.evidence.includes('lineage'))).toBe(true);

    expect(await waitFor(() => settled(h, session), 15_000, 100)).toBe(true);
    const entry = entryFor(h, session)!;
    expect(entry).toMatchObject({ agent: 'gemini-cli', agentPid: g.pids.agent, reason: 'agent exited', cwd: h.home });
    expect(entry.leaked.map((p) => p.pid).sort()).toEqual([g.pids.devServer, g.pids.tool].sort());
    expect(entry.leaked.find((p) => p.pid === g.pids.devServer)?.evidence).toEqual(['lineage']);
    expect(entry.reaped?.map((r) => r.result)).toEqual([expect.stringMatching(/^(terminated|killed)$/), expect.stringMatching(/^(terminated|killed)$/)]);
    expect(await gone(g.pids.devServer!)).toBe(true);
  });

  it('a normal end: the SessionEnd hook\'s reason is journalled with the server the session left', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, false, 300);
    const session = uuid();
    const g = await startGemini(jar, h, session, { hooks: await geminiHooks(h, config), toolWait: 2 });
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the follower's next tick
    process.kill(g.pids.agent!, 'SIGTERM');
    expect(await waitFor(() => settled(h, session), 15_000, 100)).toBe(true);
    const entry = entryFor(h, session)!;
    expect(entry.reason).toBe('exit');
    expect(entry.leaked.map((p) => [p.pid, p.evidence])).toEqual([[g.pids.devServer, ['lineage']]]);
    expect(entry.reaped).toBeUndefined(); // reaping off
    expect(await isAlive(g.pids.devServer!)).toBe(true);
    // the follower closed the record and journalled the server, which still runs: scan knows it
    // from the journal (identity-checked) as a certain leak of the session, not by GEMINI_CLI=1
    const after = await scan(h);
    expect(after.certain.find((grp) => grp.session?.sessionId === session)).toMatchObject({ session: { agent: 'gemini-cli', over: 'journalled' } });
    expect(certainPids(after)).toContain(g.pids.devServer);
  });

  it('`--agent gemini` (the command\'s name) registers gemini-cli', async () => {
    const h = newHome(homes);
    const hook = (event: string): string => `${quote(process.execPath)} ${quote(RTRACK)} session ${event} --agent gemini`;
    const g = await startGemini(jar, h, uuid(), { hooks: { start: hook('start'), end: hook('end') } });
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    expect(readRecords(h.state).map((r) => [r.record.agent, r.record.agentPid])).toEqual([['gemini-cli', g.pids.agent]]);
  });

  it('a hook whose parent is not Gemini CLI registers nothing, says why in hooks.log, and exits 0', async () => {
    const h = newHome(homes);
    const { start } = await geminiHooks(h);
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('/bin/sh', ['-c', start], { input: JSON.stringify({ session_id: 'not-gemini', hook_event_name: 'SessionStart', cwd: h.home }), env: h.env, encoding: 'utf8' });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
    // rtrack runs detached: its line comes a moment after the agent went on
    const logged = (): string => (existsSync(join(h.state, 'hooks.log')) ? readFileSync(join(h.state, 'hooks.log'), 'utf8') : '');
    expect(await waitFor(() => logged() !== '')).toBe(true);
    expect(logged()).toMatch(/session start: pid \d+ is not gemini-cli \(.*\): not registered \(session not-gemini\)\n$/);
    expect(readRecords(h.state)).toEqual([]);
  });
});

describe('Gemini CLI without hooks: GEMINI_CLI=1 alone', () => {
  it('a re-parented process carrying it is not reported, and the gate refuses it, while a Gemini CLI of the user that started before it runs; once none does it is a suspect, never certain', async () => {
    const h = newHome(homes);
    const g = await startGemini(jar, h, uuid());
    const server = g.pids.devServer!;
    expect(await waitFor(async () => (await takeSnapshot()).processes.find((p) => p.pid === server)?.ppid === 1)).toBe(true);
    const during = await scan(h);
    expect([...certainPids(during), ...suspectedPids(during)]).not.toContain(server);
    const [refused] = await reapOrphans([(await takeSnapshot()).processes.find((p) => p.pid === server)!], { allowUnattributed: true, graceMs: 100, state: h.state });
    expect(refused).toMatchObject({ pid: server, result: 'in-use', reason: expect.stringMatching(/^may belong to the live gemini-cli agent \(pid \d+\): it carries GEMINI_CLI, which names no session$/) });
    expect(await isAlive(server)).toBe(true);

    process.kill(g.pids.agent!, 'SIGKILL');
    expect(await gone(g.pids.launcher!)).toBe(true);
    // scan --reap would reap certain leaks only (dry: other tests' leaks on this machine are theirs)
    const after = (await scan(h, '--reap', '--dry-run')) as ScanReport & { plan?: { pid: number }[] }; // no plan: nothing to reap
    expect((after.plan ?? []).map((p) => p.pid)).not.toContain(server);
    expect(certainPids(after)).not.toContain(server);
    expect(suspectedPids(after)).toContain(server);
    expect(after.suspected.find((s) => s.root.pid === server)?.processes[0]?.evidence).toEqual(['heuristic']);
    expect(await isAlive(server)).toBe(true);
  });
});

describe('opencode with rtrack\'s plugin (rtrack hooks install opencode)', () => {
  async function plugin(h: Home, config: string): Promise<string> {
    const r = await runCli(['hooks', 'install', ...allowShared(config), 'opencode', '--config', config], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    return join(h.home, 'config', 'opencode', 'plugins', 'rtrack.js');
  }

  it('a normal end (dispose): the session is registered under its id, tool commands carry OPENCODE_SESSION_ID, and the server a tool left is journalled with the end', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, false, 300);
    const session = `ses_${Math.random().toString(36).slice(2, 14)}`;
    const o = await startOpencode(jar, h, session, { plugin: await plugin(h, config) });
    expect(await waitFor(async () => readRecords(h.state).some((r) => r.record.sessionId === session) && (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    expect(readRecords(h.state).map((r) => r.record)).toEqual([expect.objectContaining({ agent: 'opencode', sessionId: session, agentPid: o.pids.agent, cwd: h.home })]);
    expect(environOf(o.pids.devServer!)).toEqual(expect.arrayContaining([`OPENCODE_SESSION_ID=${session}`, `OPENCODE_PID=${o.pids.agent}`, 'OPENCODE=1', 'AGENT=1']));
    const during = await scan(h);
    for (const pid of Object.values(o.pids)) expect([...certainPids(during), ...suspectedPids(during)]).not.toContain(pid);

    o.end();
    expect(await gone(o.pids.agent!)).toBe(true);
    expect(await waitFor(() => settled(h, session), 15_000, 100)).toBe(true);
    const entry = entryFor(h, session)!;
    expect(entry).toMatchObject({ agent: 'opencode', agentPid: o.pids.agent, reason: 'dispose' });
    expect(entry.leaked.map((p) => [p.pid, p.evidence])).toEqual([[o.pids.devServer, ['agent']]]);
    expect(existsSync(join(h.state, 'hooks.log')) ? readFileSync(join(h.state, 'hooks.log'), 'utf8') : '').toBe('');
  });

  it('SIGKILLed (nothing runs): the foreground tool and the server are certain, journalled and reaped', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 300);
    const session = `ses_${Math.random().toString(36).slice(2, 14)}`;
    const o = await startOpencode(jar, h, session, { plugin: await plugin(h, config) });
    expect(await waitFor(async () => readRecords(h.state).some((r) => r.record.sessionId === session) && (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    o.child.kill('SIGKILL');
    expect(await waitFor(() => settled(h, session), 15_000, 100)).toBe(true);
    const entry = entryFor(h, session)!;
    expect(entry.reason).toBe('agent exited');
    expect(entry.leaked.map((p) => p.pid).sort()).toEqual([o.pids.devServer, o.pids.tool].sort());
    expect(entry.reaped?.every((r) => /^(terminated|killed)$/.test(r.result))).toBe(true);
    expect(await gone(o.pids.devServer!)).toBe(true);
    expect(await gone(o.pids.tool!)).toBe(true);
  });

  it('resumed (`opencode run --continue`: the same id, a new process): what the first process left is the live session\'s while the second runs; then both are journalled', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 800);
    const session = `ses_${Math.random().toString(36).slice(2, 14)}`;
    const first = await startOpencode(jar, h, session, { plugin: await plugin(h, config) });
    expect(await waitFor(async () => readRecords(h.state).some((r) => r.record.sessionId === session) && (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    first.end();
    expect(await gone(first.pids.agent!)).toBe(true);
    const second = await startOpencode(jar, h, session, { plugin: await plugin(h, config) });
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past the first one's linger
    expect(await isAlive(first.pids.devServer!)).toBe(true);
    expect(entryFor(h, session)).toBeUndefined();
    expect(certainPids(await scan(h))).not.toContain(first.pids.devServer);
    second.child.kill('SIGKILL');
    expect(await waitFor(async () => (await runningFollower(h.state)) === undefined, 25_000, 200)).toBe(true);
    const leaked = readJournal(h.state).entries.filter((e) => e.sessionId === session).flatMap((e) => e.leaked.map((p) => p.pid));
    expect(leaked).toEqual(expect.arrayContaining([first.pids.devServer, second.pids.devServer, second.pids.tool]));
    expect(await gone(first.pids.devServer!)).toBe(true);
  });
});

describe('opencode without the plugin: OPENCODE_PID', () => {
  it('a live session\'s server is not reported; once its opencode is gone it is a certain leak of session pid-<pid>', async () => {
    const h = newHome(homes);
    const o = await startOpencode(jar, h, 'unused');
    expect(environOf(o.pids.devServer!).some((v) => v.startsWith('OPENCODE_SESSION_ID='))).toBe(false);
    const during = await scan(h);
    expect([...certainPids(during), ...suspectedPids(during)]).not.toContain(o.pids.devServer);
    o.child.kill('SIGKILL');
    expect(await gone(o.pids.agent!)).toBe(true);
    const after = await scan(h);
    const group = after.certain.find((g) => g.session?.sessionId === `pid-${o.pids.agent}`);
    expect(group?.session).toMatchObject({ agent: 'opencode', agentPid: o.pids.agent, over: 'agent-gone' });
    expect(group?.processes.map((p) => p.pid).sort()).toEqual([o.pids.devServer, o.pids.tool].sort());
  });
});
