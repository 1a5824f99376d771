// The follower's state (#26): a record written while the follower lets go of its lock, records and
// lineage of another boot, the journal written before the first signal and after, and the journal
// read across its rotation. Real processes, real files; HOME and XDG_* are temporary directories.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { registerSession, runningFollower, writeLineage } from '../../src/operations/agent-sessions.js';
import { lineagePath, readJournal, readRecords, registeredSessions, type JournalEntry } from '../../src/tracking/session-records.js';
import { followSessions } from '../../src/operations/session-follower.js';
import { lookAtTable } from '../../src/operations/table-look.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { followerConfig, namedProcess, newHome, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, readIdentity, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const reader = createLinuxReader();
const OTHER_BOOT = '00000000-0000-4000-8000-000000000000';
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger whose lines are kept. */
function keptLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ stream: { write: (line: string) => (lines.push(line), true) } }) };
}

/** A stand-in agent process (`claude` on its command line: Claude Code's pattern knows it), and how to kill it. */
async function claudeProcess(script?: string): Promise<{ pid: number; startTime: number; kill: () => void }> {
  const identity = await namedProcess(jar, script);
  return { ...identity, kill: () => process.kill(identity.pid, 'SIGKILL') };
}

/** Runs `rtrack session start` as a hook runs it, for the agent process `pid`. */
function sessionStart(h: Home, pid: number, session: string, config?: string): void {
  const r = spawnSync(process.execPath, [RTRACK, 'session', 'start', '--agent', 'claude-code', '--pid', String(pid), ...(config ? ['--config', config] : [])], {
    input: JSON.stringify({ session_id: session, hook_event_name: 'SessionStart', cwd: h.home, source: 'startup' }),
    env: h.env,
    encoding: 'utf8',
  });
  expect([r.status, r.stderr]).toEqual([0, '']);
}

describe('the follower lets go of its lock', () => {
  it('a SessionStart that writes its record while the follower, following nothing, lets go of its lock — and so starts no follower — is followed all the same', async () => {
    const h = newHome(homes);
    mkdirSync(h.state, { recursive: true, mode: 0o700 });
    const agent = await claudeProcess();
    const { logger } = keptLogger();
    let raced = false;
    let done = false;
    const following = followSessions({
      state: h.state,
      intervalMs: 100,
      lingerMs: 100,
      logger,
      reader,
      beforeExit: async () => {
        if (raced) return;
        raced = true;
        // The hook writes its record and sees the lock held (by this follower): it starts none.
        sessionStart(h, agent.pid, 'race');
        expect((await runningFollower(h.state, reader))?.pid).toBe(process.pid);
      },
    }).then(() => {
      done = true;
    });
    expect(await waitFor(() => raced)).toBe(true);
    await sleep(1500);
    expect(done).toBe(false); // it follows the new record
    expect(readRecords(h.state).map((r) => r.record)).toMatchObject([{ agent: 'claude-code', sessionId: 'race', agentPid: agent.pid }]);
    expect((await runningFollower(h.state, reader))?.pid).toBe(process.pid);
    agent.kill();
    await following;
    expect(readRecords(h.state)).toEqual([]); // closed once its agent was gone
  });
});

describe('another boot', () => {
  it('a record and lineage of another boot — whose agent pid and start time a live process of this boot now has — are trusted by nobody, removed by the follower with one line, and nothing of them is reaped', async () => {
    const h = newHome(homes);
    const heir = await claudeProcess('exec -a claude sleep 301'); // has the pid and start time the old record names
    const [leftover] = await jar.orphan('sleep 302 >/dev/null 2>&1 & echo $!'); // what the old lineage names
    const old = (await readIdentity(leftover!))!;
    await registerSession(h.state, { agent: 'claude-code', sessionId: 'old-boot', agentPid: heir.pid, agentStartTime: heir.startTime, startedAt: new Date().toISOString(), bootId: OTHER_BOOT });
    const path = join(h.state, 'sessions', `${heir.pid}-${heir.startTime}.json`);
    await writeLineage(path, OTHER_BOOT, [{ pid: old.pid, ppid: heir.pid, startTime: old.startTime }]);
    // a record without a boot id (an older rtrack's), written before this boot began
    const legacy = await claudeProcess('exec -a claude sleep 303');
    await registerSession(h.state, { agent: 'claude-code', sessionId: 'legacy', agentPid: legacy.pid, agentStartTime: legacy.startTime, startedAt: new Date(0).toISOString() });
    expect(readRecords(h.state)).toHaveLength(2);

    expect(registeredSessions(h.state, reader)).toEqual([]);
    const look = await lookAtTable({ state: h.state, reader });
    expect(look.liveness.session('claude-code', 'old-boot')).toBeUndefined();

    const { logger, lines } = keptLogger();
    const following = followSessions({ state: h.state, intervalMs: 100, lingerMs: 0, reap: true, logger, reader });
    // Were they followed, their agents' exit would close them, and reap what the lineage names.
    await Promise.race([following, sleep(1500)]);
    heir.kill();
    legacy.kill();
    await following;
    const removed = lines.filter((l) => l.includes('a record of another boot: removed, nothing reaped'));
    expect(removed).toHaveLength(2);
    expect(removed).toEqual(
      expect.arrayContaining([expect.stringMatching(/session=old-boot agent_pid=\d+ boot=00000000-0000-4000-8000-000000000000/), expect.stringMatching(/session=legacy agent_pid=\d+ boot=unknown/)]),
    );
    expect(existsSync(path)).toBe(false);
    expect(existsSync(lineagePath(path))).toBe(false);
    expect(readRecords(h.state)).toEqual([]);
    expect(await isAlive(old.pid)).toBe(true);
    expect(readJournal(h.state).entries).toEqual([]);
  });
});

describe('the journal is the record of every kill', () => {
  /**
   * An agent whose child, detached when the agent is killed, is reaped by the follower: on SIGTERM
   * it writes to `mark` whether the journal already named it, then ignores the signal (so the
   * reaper waits its grace before SIGKILL).
   */
  async function reapedAgent(h: Home): Promise<{ agent: { pid: number; kill: () => void }; child: number; mark: string; follower: number }> {
    const journal = join(h.state, 'journal.jsonl');
    const mark = join(h.home, 'mark');
    const script = join(h.home, 'leak.sh');
    writeFileSync(script, `trap 'if grep -q "\\"pid\\":$$," ${journal} 2>/dev/null; then echo before > ${mark}; else echo after > ${mark}; fi' TERM\nwhile :; do sleep 0.2; done\n`);
    const agent = await claudeProcess(`exec -a claude bash -c 'bash ${script} & wait'`);
    expect(await waitFor(async () => (await reader.readChildren([agent.pid])).length > 0)).toBe(true);
    const child = (await reader.readChildren([agent.pid]))[0]!.pid;
    await jar.adoptTree(child);
    sessionStart(h, agent.pid, `reap-${agent.pid}`, followerConfig(h, true, 200));
    expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
    const follower = (await runningFollower(h.state))!.pid;
    await jar.adopt(follower);
    await sleep(2500); // a tick or two: the follower has walked the agent's tree
    return { agent, child, mark, follower };
  }

  it('what the follower reaps is in the journal before the first signal, and the outcome after', async () => {
    const h = newHome(homes);
    const { agent, child, mark } = await reapedAgent(h);
    agent.kill();
    expect(await waitFor(() => existsSync(mark), 15_000, 50)).toBe(true);
    expect(readFileSync(mark, 'utf8')).toBe('before\n');
    expect(await waitFor(() => readJournal(h.state).entries.some((e) => e.reaped !== undefined), 15_000, 100)).toBe(true);
    const [entry] = readJournal(h.state).entries;
    expect(entry!.leaked.map((p) => p.pid)).toContain(child);
    expect(entry!.reaped?.find((r) => r.pid === child)?.result).toBe('killed');
    expect(entry!.reaping).toBeUndefined();
  });

  it('a follower that dies while reaping leaves the entry, marked "reaping started", which `rtrack sessions` shows', async () => {
    const h = newHome(homes);
    const { agent, child, mark, follower } = await reapedAgent(h);
    agent.kill();
    expect(await waitFor(() => existsSync(mark), 15_000, 50)).toBe(true);
    process.kill(follower, 'SIGKILL'); // during the reaper's grace, before its SIGKILL
    expect(await waitFor(async () => !(await isAlive(follower)))).toBe(true);
    const [entry] = readJournal(h.state).entries;
    expect(entry).toMatchObject({ sessionId: `reap-${agent.pid}`, reaping: 'started' });
    expect(entry!.reaped).toBeUndefined();
    const shown = await runCli(['sessions'], { env: h.env });
    expect(shown.stdout).toMatch(new RegExp(`${child} .*\\(lineage\\) → reaping started, no outcome recorded`));
    expect(await isAlive(child)).toBe(true);
  });
});

describe('rotation', () => {
  it('`rtrack sessions` reads across the journal\'s rotation: an entry rotated into journal.1.jsonl gets the outcome written after', async () => {
    const h = newHome(homes);
    mkdirSync(h.state, { recursive: true, mode: 0o700 });
    const entry = (sessionId: string, extra: Partial<JournalEntry> = {}): JournalEntry => ({ agent: 'claude-code', sessionId, agentPid: 5, startedAt: new Date(0).toISOString(), endedAt: new Date().toISOString(), reason: 'other', leaked: [{ pid: 9, command: 'sleep 9', memoryMB: 1, evidence: ['lineage'] }], ...extra });
    writeFileSync(join(h.state, 'journal.2.jsonl'), `${JSON.stringify(entry('oldest'))}\n`);
    writeFileSync(join(h.state, 'journal.1.jsonl'), `${JSON.stringify(entry('rotated', { id: 'r1', reaping: 'started' }))}\n`);
    writeFileSync(join(h.state, 'journal.jsonl'), `${JSON.stringify({ outcomeOf: 'r1', reaped: [{ pid: 9, command: 'sleep 9', result: 'terminated', signals: ['SIGTERM'] }] })}\n${JSON.stringify(entry('newest'))}\n`);
    const r = await runCli(['sessions', '--json'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as JournalEntry[];
    expect(shown.map((e) => e.sessionId)).toEqual(['oldest', 'rotated', 'newest']);
    expect(shown[1]).toMatchObject({ reaped: [{ pid: 9, result: 'terminated' }] });
    expect(shown[1]!.reaping).toBeUndefined();
    expect((await runCli(['sessions'], { env: h.env })).stdout).toMatch(/sleep 9 {2}\(lineage\) → terminated/);
  });
});
