// The session records on disk: the hooks and the follower write different files, so neither can
// undo the other's update (the follower saving its lineage once overwrote a SessionEnd reason).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendJournal, HOOKS_LOG_ROTATION, logHookProblem, recordSessionEnd, registerSession, writeLineage } from '../../src/operations/agent-sessions.js';
import { JOURNAL_ROTATION, readJournal, readLineage, readRecords, type JournalEntry } from '../../src/tracking/session-records.js';
import { tempDir } from '../helpers/temp.js';

describe('session records', () => {
  it('a SessionEnd reason and the follower\'s lineage live side by side; /clear keeps the lineage', async () => {
    const state = tempDir('records');
    const agent = { pid: 4242, startTime: 777 };
    const base = { agent: 'claude-code', agentPid: agent.pid, agentStartTime: agent.startTime, startedAt: new Date(0).toISOString() };
    await registerSession(state, { ...base, sessionId: 's-1' });
    const path = readRecords(state)[0]!.path;
    // the follower saves what it saw
    await writeLineage(path, 'boot-1', [{ pid: 5000, ppid: 4242, startTime: 800 }]);
    expect(await recordSessionEnd(state, agent, { sessionId: 's-1', reason: 'clear' })).toBe(true);
    expect(readRecords(state).map((r) => r.record)).toMatchObject([{ sessionId: 's-1', endReason: 'clear' }]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ sessionId: 's-1' }); // the record itself is never rewritten by SessionEnd
    expect(readLineage(path).entries).toEqual([{ pid: 5000, ppid: 4242, startTime: 800 }]);
    // /clear: a new session id on the same process; the lineage stays, the lineage file is no record
    await registerSession(state, { ...base, sessionId: 's-2' });
    expect(readRecords(state).map((r) => r.record.sessionId)).toEqual(['s-2']);
    expect(readRecords(state)[0]!.record.endReason).toBeUndefined(); // s-1's end is not s-2's
    expect(readLineage(path).entries).toHaveLength(1);
    expect(await recordSessionEnd(state, { pid: 1, startTime: 2 }, { sessionId: 's-3', reason: 'other' })).toBe(false);
    expect(join(state, 'sessions')).toBe(path.slice(0, path.lastIndexOf('/')));
  });

  it('a SessionEnd racing a SessionStart of /clear (same agent process, a new session id) never writes the old session back over the new one', async () => {
    const state = tempDir('records');
    const agent = { pid: 4242, startTime: 777 };
    const base = { agent: 'claude-code', agentPid: agent.pid, agentStartTime: agent.startTime, startedAt: new Date(0).toISOString() };
    await registerSession(state, { ...base, sessionId: 'before-clear' });
    // /clear runs SessionEnd (reason clear) and SessionStart (source clear): the start lands while the end is under way
    const ended = await recordSessionEnd(state, agent, { sessionId: 'before-clear', reason: 'clear' }, { beforeWrite: () => registerSession(state, { ...base, sessionId: 'after-clear', source: 'clear' }) });
    expect(ended).toBe(true);
    expect(readRecords(state).map((r) => r.record)).toEqual([{ ...base, sessionId: 'after-clear', source: 'clear' }]);
    // the later session's own end is its own
    await recordSessionEnd(state, agent, { sessionId: 'after-clear', reason: 'prompt_input_exit' });
    expect(readRecords(state)[0]!.record).toMatchObject({ sessionId: 'after-clear', endReason: 'prompt_input_exit' });
  });

  it('hooks.log and the journal are bounded: rotated at their size, a few older files kept, the journal read across them', () => {
    const state = tempDir('records');
    for (let i = 0; i < 3000; i++) logHookProblem(state, `session start: problem ${i} ${'x'.repeat(200)}`);
    const size = (name: string): number => statSync(join(state, name)).size;
    expect(size('hooks.log')).toBeLessThanOrEqual(HOOKS_LOG_ROTATION.maxBytes);
    expect(size('hooks.1.log')).toBeLessThanOrEqual(HOOKS_LOG_ROTATION.maxBytes);
    expect(existsSync(join(state, 'hooks.2.log'))).toBe(false);
    expect(readFileSync(join(state, 'hooks.log'), 'utf8').trim().split('\n').at(-1)).toMatch(/problem 2999 x+$/);

    const entry = (i: number): JournalEntry => ({ agent: 'claude-code', sessionId: `s-${i}`, agentPid: 5, startedAt: '', endedAt: '', reason: 'other', leaked: Array.from({ length: 300 }, (_, pid) => ({ pid, command: `worker ${pid} ${'y'.repeat(100)}`, memoryMB: 1, evidence: ['lineage'] })) });
    for (let i = 0; i < 200; i++) appendJournal(state, entry(i)); // about 40 KB each: 8 MB in all
    for (const name of ['journal.jsonl', 'journal.1.jsonl', 'journal.2.jsonl', 'journal.3.jsonl']) expect(size(name)).toBeLessThanOrEqual(JOURNAL_ROTATION.maxBytes);
    expect(existsSync(join(state, 'journal.4.jsonl'))).toBe(false);
    const { entries, corrupt } = readJournal(state);
    expect(corrupt).toBe(0);
    expect(entries.at(-1)!.sessionId).toBe('s-199');
    // the newest, contiguous, across the rotated files
    const first = Number(entries[0]!.sessionId.slice(2));
    expect(entries.map((e) => e.sessionId)).toEqual(Array.from({ length: 200 - first }, (_, i) => `s-${first + i}`));
    expect(entries.length).toBeGreaterThan(50);
  });
});
