// The session records on disk: the hooks and the follower write different files, so neither can
// undo the other's update (the follower saving its lineage once overwrote a SessionEnd reason).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineagePath, readLineage, readRecords, recordSessionEnd, registerSession } from '../../src/operations/agent-sessions.js';
import { tempDir } from '../helpers/temp.js';

describe('session records', () => {
  it('a SessionEnd reason and the follower\'s lineage live side by side; /clear keeps the lineage', async () => {
    const state = tempDir('records');
    const agent = { pid: 4242, startTime: 777 };
    const base = { agent: 'claude-code', agentPid: agent.pid, agentStartTime: agent.startTime, startedAt: new Date(0).toISOString() };
    await registerSession(state, { ...base, sessionId: 's-1' });
    const path = readRecords(state)[0]!.path;
    // the follower saves what it saw
    writeFileSync(lineagePath(path), JSON.stringify([{ pid: 5000, ppid: 4242, startTime: 800 }]));
    expect(await recordSessionEnd(state, agent, 'clear')).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ sessionId: 's-1', endReason: 'clear' });
    expect(readLineage(path)).toEqual([{ pid: 5000, ppid: 4242, startTime: 800 }]);
    // /clear: a new session id on the same process; the lineage stays, the lineage file is no record
    await registerSession(state, { ...base, sessionId: 's-2' });
    expect(readRecords(state).map((r) => r.record.sessionId)).toEqual(['s-2']);
    expect(readLineage(path)).toHaveLength(1);
    expect(await recordSessionEnd(state, { pid: 1, startTime: 2 }, 'other')).toBe(false);
    expect(join(state, 'sessions')).toBe(path.slice(0, path.lastIndexOf('/')));
  });
});
