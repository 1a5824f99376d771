// The follower lock (one follower per user): a stale lock — its follower gone after a crash, a
// reboot — is routine, and taking it over must be exclusive. Real processes race for it, each
// waiting a random time between finding the lock stale and taking it over (where a check-then-
// unlink take-over lets a late starter remove the lock another has just made).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireFollowerLock, runningFollower } from '../../src/operations/agent-sessions.js';
import { followerLockPath, readFollowerLock, registeredSessions } from '../../src/tracking/session-records.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import type { ProcessIdentity } from '../../src/types.js';
import { ProcessJar, readIdentity, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const RACER = fileURLToPath(new URL('../fixtures/tasks/lock-racer.mjs', import.meta.url));
const jar = new ProcessJar();
const reader = createLinuxReader();
const bootId = reader.readBootId!()!;
const ns = reader.readPidNamespaceId!(process.pid);
const lockOf = (state: string): string => followerLockPath(state, ns);
afterEach(() => jar.cleanup());

/** The identity a process had, once it has exited. */
async function exited(): Promise<ProcessIdentity> {
  const child = jar.spawn('sleep', ['60']);
  const identity = (await readIdentity(child.pid!))!;
  child.kill('SIGKILL');
  expect(await waitFor(async () => (await readIdentity(identity.pid))?.startTime !== identity.startTime)).toBe(true);
  return identity;
}

const lines = (child: ChildProcess): string[] => {
  const seen: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    seen.push(...parts);
  });
  return seen;
};

describe('the follower lock', () => {
  it('20 followers starting at once over a stale lock, each pausing between finding it stale and taking it over: exactly one holds it (three rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const state = tempDir('lock');
      const dead = await exited();
      writeFileSync(lockOf(state), `${dead.pid} ${dead.startTime} ${bootId}\n`);
      const racers = Array.from({ length: 20 }, () => jar.spawn(process.execPath, [RACER, state, '150'], { stdio: ['pipe', 'pipe', 'inherit'] }));
      const outputs = racers.map(lines);
      expect(await waitFor(() => outputs.every((o) => o.includes('ready')), 30_000)).toBe(true);
      for (const r of racers) r.stdin!.write('go\n');
      expect(await waitFor(() => outputs.every((o) => o.length === 2), 30_000)).toBe(true);
      const answers = outputs.map((o) => o[1]);
      expect(answers.filter((a) => a === 'held'), `round ${round}: ${answers.join(' ')}`).toHaveLength(1);
      const holder = racers[answers.indexOf('held')]!;
      expect(readFollowerLock(state, ns)).toMatchObject({ pid: holder.pid, bootId });
      expect((await runningFollower(state, reader))?.pid).toBe(holder.pid);
      for (const r of racers) r.stdin!.end();
      await jar.cleanup();
    }
  });

  it('a take-over left by a starter that died while taking a stale lock over is itself taken over', async () => {
    const state = tempDir('lock');
    const [dead, deadTaker] = [await exited(), await exited()];
    writeFileSync(lockOf(state), `${dead.pid} ${dead.startTime} ${bootId}\n`);
    writeFileSync(`${lockOf(state)}.takeover-${dead.pid}-${dead.startTime}`, `${deadTaker.pid} ${deadTaker.startTime} ${bootId}\n`);
    expect(await acquireFollowerLock(state, reader, { waitMs: 2000 })).toBe(true);
    expect(readFollowerLock(state, ns)).toMatchObject({ pid: process.pid, bootId });
  });

  it('a lock of another boot is stale, even when a live process now has its pid and start time', async () => {
    const state = tempDir('lock');
    const self = reader.selfIdentity();
    writeFileSync(lockOf(state), `${self.pid} ${self.startTime} 00000000-0000-4000-8000-000000000000\n`);
    expect(await runningFollower(state, reader)).toBeUndefined();
    expect(await acquireFollowerLock(state, reader)).toBe(true);
    expect(readFollowerLock(state, ns)).toEqual({ ...self, bootId, pidNamespace: reader.readPidNamespaceId!(process.pid) });
    // a live holder of this boot keeps it
    expect(await acquireFollowerLock(state, reader)).toBe(false);
  });

  it('a lock and session records of another PID namespace (a container sharing the home) neither block nor are judged here (review)', async () => {
    const state = join(tempDir('lock'), 'rtrack'); // the user's alone, in a directory of theirs
    mkdirSync(state, { mode: 0o700 });
    const gone = await exited(); // its pid names nothing here: in the container it may be a live follower, or one killed with it
    // Each namespace has its lock: a container's (live or left behind) keeps nothing from running here.
    expect(followerLockPath(state, '1')).not.toBe(lockOf(state));
    writeFileSync(followerLockPath(state, '1'), `${gone.pid} ${gone.startTime} ${bootId} 1\n`);
    expect(await runningFollower(state, reader)).toBeUndefined();
    expect(await acquireFollowerLock(state, reader)).toBe(true);
    expect(readFollowerLock(state, '1')).toEqual({ ...gone, bootId, pidNamespace: '1' }); // left alone
    // A registration made there names its agent by that namespace's pid: not this look's to judge.
    mkdirSync(join(state, 'sessions'), { mode: 0o700 });
    const record = { agent: 'claude-code', sessionId: 'S', agentPid: gone.pid, agentStartTime: gone.startTime, startedAt: new Date().toISOString(), bootId };
    writeFileSync(join(state, 'sessions', `${gone.pid}-${gone.startTime}.json`), JSON.stringify({ ...record, pidNamespace: '1' }));
    expect(registeredSessions(state, reader)).toEqual([]);
    writeFileSync(join(state, 'sessions', `${gone.pid}-${gone.startTime}.json`), JSON.stringify(record)); // an older rtrack's: judged as before
    expect(registeredSessions(state, reader).map((r) => r.record.sessionId)).toEqual(['S']);
  });
});
