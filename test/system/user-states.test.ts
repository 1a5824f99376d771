// A look reads several users' state directories (a system-wide watch judges every user's processes,
// so it reads each user's hook registrations and journal): each as the user's alone — owned by that
// user, writable by no one else — or not at all.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSession } from '../../src/operations/agent-sessions.js';
import { lookAtTable } from '../../src/operations/table-look.js';
import { scanMachine } from '../../src/operations/scan-machine.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { ProcessJar, readIdentity } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const reader = createLinuxReader();
const NOBODY = 65534;

/** A state directory with one registration naming a fresh sleeper (an agent only by that registration). */
async function registered(owner: number): Promise<{ path: string; pid: number }> {
  const home = tempDir('user-state');
  chmodSync(home, 0o755);
  const path = join(home, 'state', 'rtrack');
  const sleeper = jar.spawn('sleep', ['306']);
  const identity = (await readIdentity(sleeper.pid!))!;
  await registerSession(path, { agent: 'claude-code', sessionId: `s-${owner}`, agentPid: identity.pid, agentStartTime: identity.startTime, startedAt: new Date().toISOString(), bootId: reader.readBootId?.() });
  for (const dir of [join(home, 'state'), path, join(path, 'sessions')]) chownSync(dir, owner, owner);
  return { path, pid: identity.pid };
}

describe.skipIf(process.getuid?.() !== 0)('a look over several users\' state directories', () => {
  it('reads every listed user\'s registrations, each judged against its own user', async () => {
    const mine = await registered(0);
    const theirs = await registered(NOBODY);
    const both = await lookAtTable({ reader, states: [{ path: mine.path }, { path: theirs.path, uid: NOBODY }] });
    expect(both.liveness.liveAgents.get(mine.pid)).toBe('claude-code');
    expect(both.liveness.liveAgents.get(theirs.pid)).toBe('claude-code');
    // The default is the one state directory it always read: the other user's is not read.
    expect((await lookAtTable({ reader, state: mine.path })).liveness.liveAgents.has(theirs.pid)).toBe(false);
  });

  it('a user\'s journal or lineage that names another user\'s process (root\'s) attributes nothing to that user\'s sessions: a system-wide scan never calls it certain (found by review: any user could have root\'s watch reap any process)', async () => {
    const victim = jar.spawn('sleep', ['307']); // root's
    const id = (await readIdentity(victim.pid!))!;
    const home = tempDir('forger');
    chmodSync(home, 0o755);
    const path = join(home, 'state', 'rtrack');
    mkdirSync(join(path, 'sessions'), { recursive: true, mode: 0o700 });
    const boot = reader.readBootId?.();
    const now = new Date().toISOString();
    // A journal entry naming it, and a registration of a dead agent whose lineage names it.
    writeFileSync(join(path, 'journal.jsonl'), `${JSON.stringify({ agent: 'claude-code', sessionId: 'forged', agentPid: 4_000_000, startedAt: now, endedAt: now, reason: 'x', bootId: boot, leaked: [{ pid: id.pid, identity: `${id.pid}:${id.startTime}`, command: 'sleep', memoryMB: 1, evidence: ['tag'] }] })}\n`);
    writeFileSync(join(path, 'sessions', '4000001-1.json'), JSON.stringify({ agent: 'claude-code', sessionId: 'forged2', agentPid: 4_000_001, agentStartTime: 1, startedAt: now, bootId: boot }));
    writeFileSync(join(path, 'sessions', '4000001-1.lineage.jsonl'), `${JSON.stringify({ bootId: boot })}\n${JSON.stringify({ pid: id.pid, startTime: id.startTime, ppid: 1 })}\n`);
    for (const dir of [join(home, 'state'), path, join(path, 'sessions'), join(path, 'journal.jsonl'), join(path, 'sessions', '4000001-1.json'), join(path, 'sessions', '4000001-1.lineage.jsonl')]) chownSync(dir, NOBODY, NOBODY);
    const scan = await scanMachine({ reader, states: [{ path, uid: NOBODY }], cpuSampleMs: 0 });
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(id.pid);
  });

  it('a directory listed for one user but owned by another, or writable by others, is not read', async () => {
    const theirs = await registered(NOBODY);
    expect((await lookAtTable({ reader, states: [{ path: theirs.path, uid: 1000 }] })).liveness.liveAgents.has(theirs.pid)).toBe(false);
    chmodSync(theirs.path, 0o772);
    expect((await lookAtTable({ reader, states: [{ path: theirs.path, uid: NOBODY }] })).liveness.liveAgents.has(theirs.pid)).toBe(false);
  });
});
