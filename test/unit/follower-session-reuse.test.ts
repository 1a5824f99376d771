// The follower adopts a newcomer "in the session of one it saw" (session-follower.ts,
// adoptNewcomers): a tool command that leads its own session (Gemini CLI, opencode) backgrounds a
// server and exits, and the server, re-parented before the next tick, is known by its session.
// But a session id is a bare pid: once nobody is in the old session, the kernel hands the pid out
// again, and a stranger that becomes a session leader there and daemonizes was taken for the
// agent's (found by review, reproduced on real processes with a forced pid; here a scripted table).
// A newcomer is the tree's by its session only when it started before the leader was found gone.
import { describe, expect, it } from 'vitest';
import { registerSession } from '../../src/operations/agent-sessions.js';
import { readJournal } from '../../src/tracking/session-records.js';
import { followSessions } from '../../src/operations/session-follower.js';
import { createLogger } from '../../src/log.js';
import { memoryStream, scriptedReader } from '../helpers/fake-reader.js';
import { tempDir } from '../helpers/temp.js';

describe('the session follower and a reused session id', () => {
  it('a stranger\'s daemon whose session leader took the pid of an exited process of the agent\'s tree is not the agent\'s', async () => {
    const init = { pid: 1, ppid: 0, startTime: 1, session: 1 };
    const agent = { pid: 100, ppid: 1, startTime: 50, session: 1 };
    // the agent's tool runs as a session leader (Gemini CLI, opencode), then exits
    const tool = { pid: 300, ppid: 100, startTime: 60, session: 300 };
    // later pid 300 is a stranger's: `setsid daemon` — the new leader forks its daemon and exits
    const strangerDaemon = { pid: 500, ppid: 1, startTime: 90, session: 300 };
    const state = tempDir('follower-reuse');
    await registerSession(state, { agent: 'gemini-cli', sessionId: 'g', agentPid: 100, agentStartTime: 50, startedAt: new Date(0).toISOString() });
    const reader = scriptedReader(
      [
        [init, agent],
        [init, agent, tool], // seen: the agent's child
        [init, agent], // the tool exited (its record is kept a few ticks)
        [init, agent, strangerDaemon], // nobody is in session 300 any more: the pid was handed out again
        [init, strangerDaemon], // the agent exits
      ],
      { epochOf: { 90: Date.now() + 60_000 } }, // the stranger started after the tool was found gone
    );
    await followSessions({ state, intervalMs: 1, lingerMs: 0, logger: createLogger({ stream: memoryStream() }), reader });
    const leaked = readJournal(state).entries.flatMap((e) => e.leaked.map((p) => p.pid));
    expect(leaked, 'the stranger\'s daemon is not journalled (nor, with reaping on, reaped) as the session\'s').not.toContain(500);
  });

  it('a server the tool backgrounded before it exited, found at the next tick in the tool\'s session, is the agent\'s', async () => {
    const init = { pid: 1, ppid: 0, startTime: 1, session: 1 };
    const agent = { pid: 100, ppid: 1, startTime: 50, session: 1 };
    const tool = { pid: 300, ppid: 100, startTime: 60, session: 300 };
    const server = { pid: 301, ppid: 1, startTime: 61, session: 300 }; // nohup … & — re-parented before the tick
    const state = tempDir('follower-session');
    await registerSession(state, { agent: 'gemini-cli', sessionId: 'g', agentPid: 100, agentStartTime: 50, startedAt: new Date(0).toISOString() });
    const reader = scriptedReader([[init, agent], [init, agent, tool], [init, agent, server], [init, server]]);
    await followSessions({ state, intervalMs: 1, lingerMs: 0, logger: createLogger({ stream: memoryStream() }), reader });
    expect(readJournal(state).entries.flatMap((e) => e.leaked.map((p) => p.pid))).toContain(301);
  });
});
