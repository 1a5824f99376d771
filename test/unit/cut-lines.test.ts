// A line of a state file cut short (ENOSPC, a follower killed during a large write) must not
// swallow the entry appended after it (found by review: the kill record that followed was lost);
// and a file rotated with no older file kept stays within its bound.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendJournal, appendLineage, writeLineage } from '../../src/operations/agent-sessions.js';
import { readJournal, readLineage, type JournalEntry } from '../../src/tracking/session-records.js';
import { tempDir } from '../helpers/temp.js';

const entry = (sessionId: string): JournalEntry => ({
  agent: 'claude-code',
  sessionId,
  agentPid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:01:00.000Z',
  reason: 'agent exited',
  leaked: [{ pid: 4343, identity: '4343:100', command: 'sleep 777', memoryMB: 1, evidence: ['lineage'] }],
  id: `${sessionId}-id`,
  reaping: 'started',
});

describe('a line of the journal or a lineage cut short (a crash, a full disk)', () => {
  it('an entry appended after a line cut short by a crash is still read (the kill record is not lost)', () => {
    const state = tempDir('cut-journal');
    // What a follower that hit ENOSPC in the middle of its append leaves (reproduced for real on a full tmpfs).
    appendFileSync(join(state, 'journal.jsonl'), '{"agent":"claude-code","sessionId":"S0","agentPid":1,"leaked":[{"pid":5');
    appendJournal(state, entry('S1'));
    appendJournal(state, { outcomeOf: 'S1-id', reaped: [{ pid: 4343, command: 'sleep 777', result: 'terminated', signals: ['SIGTERM'] }] });
    const { entries } = readJournal(state);
    expect(entries.map((e) => e.sessionId)).toContain('S1');
    expect(entries.find((e) => e.sessionId === 'S1')?.reaped?.[0]?.result).toBe('terminated');
  });

  it('a lineage entry appended after a cut line is still read', async () => {
    const state = tempDir('cut-lineage');
    mkdirSync(join(state, 'sessions'));
    const record = join(state, 'sessions', '100-200.json');
    await writeLineage(record, 'boot', [{ pid: 101, ppid: 100, startTime: 201 }]);
    appendFileSync(record.replace(/\.json$/, '.lineage.jsonl'), '{"pid":102,"ppid":1'); // cut short
    appendLineage(record, [{ pid: 103, ppid: 100, startTime: 203 }]);
    expect(readFileSync(record.replace(/\.json$/, '.lineage.jsonl'), 'utf8')).toContain('"pid":103');
    expect(readLineage(record).entries.map((e) => e.pid)).toContain(103);
  });
});

describe('a rotated file with no older file kept (keep: 0)', () => {
  it('starts afresh at its bound instead of growing', async () => {
    const { appendRotated } = await import('../../src/files.js');
    const { statSync } = await import('node:fs');
    const file = join(tempDir('rotate-zero'), 'x.end.jsonl');
    for (let i = 0; i < 100; i++) appendRotated(file, `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`, { maxBytes: 1024, keep: 0 });
    expect(statSync(file).size).toBeLessThanOrEqual(1024);
    expect(readFileSync(file, 'utf8')).toContain('"i":99');
  });
});
