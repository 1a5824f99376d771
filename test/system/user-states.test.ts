// A look reads several users' state directories (a system-wide watch judges every user's processes,
// so it reads each user's hook registrations and journal): each as the user's alone — owned by that
// user, writable by no one else — or not at all.
import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSession } from '../../src/operations/agent-sessions.js';
import { lookAtTable } from '../../src/operations/table-look.js';
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

  it('a directory listed for one user but owned by another, or writable by others, is not read', async () => {
    const theirs = await registered(NOBODY);
    expect((await lookAtTable({ reader, states: [{ path: theirs.path, uid: 1000 }] })).liveness.liveAgents.has(theirs.pid)).toBe(false);
    chmodSync(theirs.path, 0o772);
    expect((await lookAtTable({ reader, states: [{ path: theirs.path, uid: NOBODY }] })).liveness.liveAgents.has(theirs.pid)).toBe(false);
  });
});
