// The hooks an agent runs, hardened (#26): the state directory is the user's alone; a follower that
// cannot start says why; the hook finds its agent without reading every process (one stuck in the
// kernel must not eat the hook's 10 s); its stdin is capped; agents by their commands' names. Real
// processes; HOME and XDG_* are temporary directories.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSession, runningFollower } from '../../src/operations/agent-sessions.js';
import { readRecords } from '../../src/tracking/session-records.js';
import { findHookAgent } from '../../src/operations/hook-agent.js';
import { lookAtTable } from '../../src/operations/table-look.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import type { PlatformReader } from '../../src/platform/types.js';
import type { ProcessIdentity } from '../../src/types.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';
import { hookCommand, namedProcess, newHome, STAND_IN, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, readIdentity, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const reader = createLinuxReader();
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

const input = (session: string): string => JSON.stringify({ session_id: session, hook_event_name: 'SessionStart', cwd: '/tmp', source: 'startup' });

/** Runs `rtrack session start|end` as a hook runs it (`args` after the subcommand). */
function hook(h: Home, args: string[], stdin: string, env: NodeJS.ProcessEnv = h.env): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(process.execPath, [RTRACK, 'session', ...args], { input: stdin, env, encoding: 'utf8' }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
}

const claudeProcess = (script?: string, name?: string): Promise<ProcessIdentity> => namedProcess(jar, script, name);

const hooksLog = (h: Home): string => {
  try {
    return readFileSync(join(h.state, 'hooks.log'), 'utf8');
  } catch {
    return '';
  }
};

describe('the state directory is the user\'s alone', () => {
  it('made 0700 (and $XDG_STATE_HOME with it) when missing', () => {
    const h = newHome(homes);
    expect(hook(h, ['start', '--agent', 'claude-code'], '').status).toBe(0);
    expect(statSync(h.state).mode & 0o777).toBe(0o700);
    expect(statSync(join(h.home, 'state')).mode & 0o777).toBe(0o700);
  });

  const unsafe: [string, (h: Home) => void, RegExp][] = [
    ['writable by its group', (h) => (mkdirSync(h.state, { recursive: true, mode: 0o700 }), chmodSync(h.state, 0o770)), /is writable by its group \(mode 0770\)/],
    ["another user's", (h) => (mkdirSync(h.state, { recursive: true, mode: 0o700 }), chownSync(h.state, 65534, 65534)), /is owned by uid 65534, not by you \(uid 0\)/],
    ['in an $XDG_STATE_HOME writable by all', (h) => (mkdirSync(join(h.home, 'state'), { mode: 0o700 }), chmodSync(join(h.home, 'state'), 0o1777)), /state is writable by its group and others \(mode 1777\)/],
  ];
  it.skipIf(process.getuid?.() !== 0)('root\'s, in the user\'s own directory (a sudo made it): trusted but not writable — the hook says so on stderr (exit 0) instead of failing silently', () => {
    const h = newHome(homes);
    chownSync(h.home, 65534, 65534);
    mkdirSync(join(h.home, 'state'), { mode: 0o700 });
    chownSync(join(h.home, 'state'), 65534, 65534);
    mkdirSync(h.state, { mode: 0o700 }); // root's
    const forNobody = packageForOtherUsers();
    try {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, forNobody.rtrack, 'session', 'start', '--agent', 'claude-code'], {
        input: input('s-root-state'),
        env: h.env,
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/^rtrack session start: the state directory \S+ is not writable by this user \(uid 65534\); rtrack's hooks do nothing until it is fixed\n$/);
    } finally {
      forNobody.cleanup();
    }
  });

  it.each(unsafe)('%s: the hooks write nothing there and start no follower (one line on stderr, exit 0); the follower refuses to run', async (_, make, why) => {
    const h = newHome(homes);
    make(h);
    const agent = await claudeProcess();
    for (const args of [['start', '--agent', 'claude-code'], ['start', '--agent', 'claude', '--pid', String(agent.pid)], ['end', '--agent', 'claude-code']]) {
      const r = hook(h, args, input('s-1'));
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toEqual([expect.stringMatching(/^rtrack session (start|end): the state directory .* is not yours alone: .*; rtrack's hooks do nothing until it is fixed$/), '']);
      expect(r.stderr).toMatch(why);
    }
    expect(existsSync(h.state) ? readdirSync(h.state) : []).toEqual([]);
    expect(await runningFollower(h.state)).toBeUndefined();
    const follow = await runCli(['session', 'follow'], { env: h.env });
    expect(follow.code).toBe(1);
    expect(follow.stderr).toMatch(/^rtrack session follow: the state directory .* is not yours alone: .*; no follower runs until it is fixed\n$/);
    // The installed hooks run detached, their stderr nowhere: status says it
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: h.home });
    expect(status.stdout).toMatch(/^follower: not running; state in \S+; the state directory .* is not yours alone: .*: the hooks do nothing until it is fixed$/m);
  });

  it('SessionStart never appends the tag through a link in $CLAUDE_ENV_FILE (a file it leads to stays byte-identical); one line in hooks.log, exit 0 (review)', async () => {
    const h = newHome(homes);
    const agent = await claudeProcess();
    const target = join(h.home, 'not-the-env-file');
    writeFileSync(target, 'root only\n');
    const envFile = join(h.home, 'session-env.sh');
    symlinkSync(target, envFile);
    const r = hook(h, ['start', '--agent', 'claude', '--pid', String(agent.pid)], input('s-link'), { ...h.env, CLAUDE_ENV_FILE: envFile });
    expect(r.status).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('root only\n');
    expect(hooksLog(h)).toMatch(/session start: .*session-env\.sh is a symbolic link: nothing was written to it/);
    await stopFollowers([h], jar);
  });

  it('the gate, scan and watch do not take registrations from a state directory that is not the user\'s alone', async () => {
    const h = newHome(homes);
    const sleeper = jar.spawn('sleep', ['305']); // no agent by its command line: only a registration makes it one
    const identity = (await readIdentity(sleeper.pid!))!;
    await registerSession(h.state, { agent: 'claude-code', sessionId: 's-1', agentPid: identity.pid, agentStartTime: identity.startTime, startedAt: new Date().toISOString(), bootId: reader.readBootId?.() });
    expect((await lookAtTable({ state: h.state, reader })).liveness.liveAgents.get(identity.pid)).toBe('claude-code');
    chmodSync(h.state, 0o770); // anyone in the group could have written that record
    expect((await lookAtTable({ state: h.state, reader })).liveness.liveAgents.has(identity.pid)).toBe(false);
  });
});

describe('a follower that cannot start says why', () => {
  it('a bad --config: one line in hooks.log, shown by `rtrack hooks status` until a follower starts', async () => {
    const h = newHome(homes);
    const bad = join(h.home, 'bad.yaml');
    writeFileSync(bad, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: maybe\n');
    const agent = await claudeProcess();
    expect(hook(h, ['start', '--agent', 'claude', '--pid', String(agent.pid), '--config', bad], input('s-1')).status).toBe(0);
    expect(await waitFor(() => hooksLog(h).includes('follower could not start'), 10_000, 50)).toBe(true);
    expect(hooksLog(h).trim().split('\n')).toEqual([expect.stringMatching(/^\S+Z follower could not start: .*reap/)]);
    const status = await runCli(['hooks', 'status'], { env: h.env });
    expect(status.stdout).toMatch(new RegExp(`^follower: not running; state in ${h.state}; the last one could not start \\(\\S+Z\\): .*reap.*$`, 'm'));

    // a follower that starts: status says it runs, and once it has exited, no more about the failure
    expect(hook(h, ['start', '--agent', 'claude', '--pid', String(agent.pid)], input('s-2')).status).toBe(0);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    const follower = (await runningFollower(h.state))!.pid;
    await jar.adopt(follower);
    expect((await runCli(['hooks', 'status'], { env: h.env })).stdout).toMatch(new RegExp(`^follower: running \\(pid ${follower}\\); state in ${h.state}$`, 'm'));
    process.kill(agent.pid, 'SIGKILL');
    expect(await waitFor(async () => !(await isAlive(follower)), 15_000, 100)).toBe(true);
    expect((await runCli(['hooks', 'status'], { env: h.env })).stdout).toMatch(new RegExp(`^follower: not running; state in ${h.state}$`, 'm'));
  });

  it('a state directory on a filesystem without link(2): one line in hooks.log naming the error', async () => {
    const h = newHome(homes);
    // link(2) fails as it does on FAT or some network filesystems (EPERM), in the hook and the follower it starts
    const shim = join(h.home, 'no-link.cjs');
    writeFileSync(shim, "const fs = require('node:fs');\nfs.linkSync = (from, to) => { throw Object.assign(new Error(`EPERM: operation not permitted, link '${from}' -> '${to}'`), { code: 'EPERM', syscall: 'link' }); };\n");
    const agent = await claudeProcess();
    const r = hook(h, ['start', '--agent', 'claude', '--pid', String(agent.pid)], input('s-1'), { ...h.env, NODE_OPTIONS: `--require ${shim}` });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(await waitFor(() => hooksLog(h).includes('follower could not start'), 10_000, 50)).toBe(true);
    expect(hooksLog(h)).toMatch(/follower could not start: EPERM: operation not permitted, link '.*follower(\.\d+)?\.lock\.\d+\.\w+\.tmp' -> '.*follower(\.\d+)?\.lock'\n$/); // follower.<ns>.lock outside the host's PID namespace
    expect((await runCli(['hooks', 'status'], { env: h.env })).stdout).toMatch(/^follower: not running; state in .*; the last one could not start \(\S+\): EPERM/m);
  });
});

describe('the hook finds its agent', () => {
  /** claude → sh → sleep: the way a hook runs below its agent (`sleep` stands for the hook). */
  async function hookChain(): Promise<{ agent: number; hookPid: number }> {
    const agent = await claudeProcess(`exec -a claude bash -c 'sh -c "sleep 306; :"; :'`);
    let hookPid = 0;
    expect(
      await waitFor(async () => {
        const [sh] = await reader.readChildren([agent.pid]);
        const [sleeper] = sh ? await reader.readChildren([sh.pid]) : [];
        hookPid = sleeper?.pid ?? 0;
        return hookPid > 0 && readFileSync(`/proc/${hookPid}/cmdline`, 'latin1').startsWith('sleep');
      }),
    ).toBe(true);
    await jar.adoptTree(agent.pid);
    return { agent: agent.pid, hookPid };
  }

  it('from the hook\'s ancestors and CLAUDE_PID, reading no process but those it names: one stuck in the kernel (its command line hangs) does not stop it', async () => {
    const { agent, hookPid } = await hookChain();
    const stuck = jar.spawn('sleep', ['307']).pid!; // stands for a process in D state: reading its command line hangs
    const bystander = await claudeProcess('exec -a claude-helper sleep 308', 'claude-helper'); // not Claude Code's command line
    const otherAgent = await claudeProcess('exec -a claude sleep 309'); // Claude Code's command line, not an ancestor
    const read: number[] = [];
    const hanging: PlatformReader = {
      ...reader,
      readProcessTable: () => new Promise(() => {}), // every process's command line: never done
      readCommandLine: (pid: number) => {
        read.push(pid);
        if (pid === stuck) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
        return reader.readCommandLine!(pid);
      },
    };
    const find = (env: NodeJS.ProcessEnv): Promise<number | undefined | 'hung'> =>
      Promise.race([findHookAgent('claude-code', { self: hookPid, env, reader: hanging }).then((a) => a?.pid), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2000))]);
    expect(await find({})).toBe(agent); // the nearest ancestor that is not a shell
    expect(await find({ CLAUDE_PID: String(agent) })).toBe(agent); // an ancestor: taken
    expect(await find({ CLAUDE_PID: String(otherAgent.pid) })).toBe(otherAgent.pid); // Claude Code's command line: taken
    expect(await find({ CLAUDE_PID: String(bystander.pid) })).toBe(agent); // neither: not an agent, the ancestors decide
    expect(await find({ CLAUDE_PID: 'x' })).toBe(agent);
    expect(read).not.toContain(stuck);
    expect(read).not.toContain(process.pid);
  });

  it('`session start|end --agent claude` (the fast path) and `--agent gemini --pid` record the canonical names', async () => {
    const h = newHome(homes);
    const agent = jar.spawn('bash', ['-c', 'exec -a claude "$0" "$@"', process.execPath, STAND_IN, 'session', 's-alias'], {
      env: { ...h.env, STAND_IN_HOOK_START: hookCommand('start', undefined, 'claude'), STAND_IN_HOOK_END: hookCommand('end', undefined, 'claude') },
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: h.home,
    });
    const pids = JSON.parse(await new Promise<string>((resolve) => agent.stdout!.once('data', (d: Buffer) => resolve(d.toString())))) as Record<string, number>;
    for (const pid of Object.values(pids)) await jar.adoptTree(pid);
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    await jar.adopt((await runningFollower(h.state))!.pid);
    expect(readRecords(h.state).map((r) => r.record)).toMatchObject([{ agent: 'claude-code', sessionId: 's-alias', agentPid: agent.pid }]);
    agent.kill('SIGTERM'); // its SessionEnd hook runs, with --agent claude
    expect(await waitFor(() => readRecords(h.state)[0]?.record.endReason === 'prompt_input_exit', 5000, 20)).toBe(true);
    expect(hooksLog(h)).toBe('');

    const gemini = await namedProcess(jar, 'exec -a gemini sleep 300', 'gemini'); // its --pid must be Gemini CLI's
    expect(hook(h, ['start', '--agent', 'gemini', '--pid', String(gemini.pid)], input('s-gemini')).status).toBe(0);
    expect(readRecords(h.state).find((r) => r.record.sessionId === 's-gemini')?.record.agent).toBe('gemini-cli');
  });
});

describe('hook input', () => {
  it('more than 1 MiB on stdin: not read, one line in hooks.log, exit 0 at once', () => {
    const h = newHome(homes);
    const huge = JSON.stringify({ session_id: 'huge', hook_event_name: 'SessionStart', padding: 'x'.repeat(2 << 20) });
    const started = Date.now();
    const r = hook(h, ['start', '--agent', 'claude-code'], huge);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(hooksLog(h)).toMatch(/^\S+ session start: hook input on stdin is larger than 1048576 bytes; not read\n$/);
    expect(readRecords(h.state)).toEqual([]);
  });
});
