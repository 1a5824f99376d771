// One name per leak (issue 34): what an ended agent session left is shown under that session —
// its id, agent, folder, how it ended — whatever other evidence it carries. Claude Code's
// SessionStart hook gives later Bash-tool commands rtrack's tag, owned by the agent process; that
// tag never names a group, and one tree is never cut across groups. scan, scan --json and
// `rtrack sessions` agree. A stand-in Claude Code session as recorded (its Bash tool sources the
// hook's environment file), HOME and XDG directories temporary.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/tracking/session-records.js';
import type { ScanReport } from '../../src/index.js';
import { followerConfig, newHome, startSession, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

describe('a Claude Code session SIGKILLed with an MCP server, a dev server and a shell waiting for its job', () => {
  it('is one certain group named by its session — not by the hook\'s tag — holding the whole tree; scan, --json and sessions agree', async () => {
    const h = newHome(homes);
    const config = followerConfig(h, false, 300); // the follower journals, and reaps nothing
    const session = `${Date.now().toString(16)}-1e4c-4d0e-8a5e-${Math.random().toString(16).slice(2, 14)}`;
    const s = await startSession(jar, h, session, { hooks: true, config, env: { STAND_IN_SHELL_JOB: '1', STAND_IN_SOURCE_ENV_FILE: '1' } });
    const { agent, mcp, tool, devServer, shell, job } = s.pids as Record<string, number>;
    // (A process forked but not yet exec'd still shows its shell's environment: wait for the exec.)
    const execd = (pid: number, name: string) => waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith(name));
    expect(await execd(job!, 'job-')).toBe(true);
    expect(await execd(devServer!, 'server-')).toBe(true);
    // what the Bash tool started carries the hook's tag; the shell that sourced it does not
    const tagOf = (pid: number): string | undefined => /(?:^|\0)RESOURCE_TRACKER_TASK=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1];
    expect(tagOf(job!)).toMatch(new RegExp(`^rt2\\.${agent}\\.`));
    expect(tagOf(devServer!)).toBe(tagOf(job!));
    expect(tagOf(shell!)).toBeUndefined();

    s.child.kill('SIGKILL'); // no SessionEnd hook: the shell and the MCP server are re-parented
    expect(await waitFor(async () => !(await isAlive(agent!)))).toBe(true);
    expect(await waitFor(() => readJournal(h.state).entries.some((e) => e.sessionId === session), 15_000, 100)).toBe(true);
    const left = [mcp!, tool!, devServer!, shell!, job!];

    const scan = JSON.parse((await runCli(['scan', '--json'], { env: h.env })).stdout) as ScanReport;
    const groups = scan.certain.filter((g) => g.processes.some((p) => left.includes(p.pid)));
    expect(groups.map((g) => ({ session: g.session?.sessionId, tag: g.tag }))).toEqual([{ session, tag: undefined }]);
    expect(groups[0]!.session).toMatchObject({ agent: 'claude-code', sessionId: session, agentPid: agent, cwd: h.home });
    expect(groups[0]!.processes.map((p) => p.pid).sort()).toEqual([...left].sort());
    // the job with its parent shell, in one tree
    expect(groups[0]!.processes.find((p) => p.pid === job)?.ppid).toBe(shell);

    const text = (await runCli(['scan'], { env: h.env })).stdout;
    expect(text).toContain(`claude-code session ${session} in ${h.home} (agent pid ${agent} gone): 5 processes`);
    expect(text).not.toMatch(/^ {2}tag rt2\./m);

    const journalled = readJournal(h.state).entries.filter((e) => e.sessionId === session).flatMap((e) => e.leaked.map((p) => p.pid));
    expect(journalled.length).toBeGreaterThan(0);
    for (const pid of journalled) expect(groups[0]!.processes.map((p) => p.pid)).toContain(pid);
    const sessions = (await runCli(['sessions'], { env: h.env })).stdout;
    expect(sessions).toContain(`claude-code session ${session}`);
    expect(sessions).toMatch(new RegExp(`5 processes of it still run; to reap them: rtrack scan --reap --session '?${session}'?\n`));
  });
});
