// The follower's incremental table: each tick lists pids and reads only new ones. What it must still
// get right: a new process under an agent's tree is recorded (even listed before its new parent), and
// a pid that a stranger took over between two ticks never passes the stranger's children off as the
// agent's. A scripted reader plays the ticks; the journal shows what was recorded.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerSession } from '../../src/operations/agent-sessions.js';
import { readJournal, readLineage } from '../../src/tracking/session-records.js';
import { followSessions } from '../../src/operations/session-follower.js';
import { createLogger } from '../../src/log.js';
import { memoryStream, scriptedReader, type TickProcess } from '../helpers/fake-reader.js';
import { tempDir } from '../helpers/temp.js';

type Proc = TickProcess;

async function follow(ticks: Proc[][], onTick?: (index: number, state: string) => void): Promise<{ leaked: number[]; statusReads: number[]; tableReads: number }> {
  const state = tempDir('follower');
  await registerSession(state, { agent: 'claude-code', sessionId: 's', agentPid: 100, agentStartTime: 50, startedAt: new Date(0).toISOString() });
  const reader = scriptedReader(ticks, { onTick: onTick && ((index) => onTick(index, state)) });
  await followSessions({ state, intervalMs: 1, lingerMs: 0, logger: createLogger({ stream: memoryStream() }), reader });
  const entry = readJournal(state).entries[0];
  return { leaked: (entry?.leaked.map((p) => p.pid) ?? []).sort((a, b) => a - b), statusReads: reader.statusReads, tableReads: reader.tableReads };
}

const init = { pid: 1, ppid: 0, startTime: 1 };
const agent = { pid: 100, ppid: 1, startTime: 50 };

describe('the session follower', () => {
  it('records new children, grandchildren listed before their parent, and what they leave behind; reads only what is new', async () => {
    const child = { pid: 300, ppid: 100, startTime: 60 };
    // listed first, but started after its parent 290 (pids wrap around)
    const grandchild = { pid: 120, ppid: 290, startTime: 71 };
    const parent = { pid: 290, ppid: 100, startTime: 70 };
    const stranger = { pid: 400, ppid: 1, startTime: 65 };
    const { leaked, statusReads, tableReads } = await follow([
      [init, agent, stranger],
      [init, agent, stranger, child],
      [init, agent, stranger, child, grandchild, parent],
      [init, agent, stranger, child, grandchild, parent],
      // the agent is gone; its tree is re-parented to init
      [init, stranger, { ...child, ppid: 1 }, grandchild, { ...parent, ppid: 1 }],
    ]);
    expect(leaked).toEqual([120, 290, 300]);
    // the table was read whole twice (the first tick, and the session's close); between, a tick lists
    // the pids and reads the new ones and the agent: never the stranger, never a child twice
    expect(tableReads).toBe(2);
    expect(statusReads).not.toContain(400);
    expect(statusReads.filter((pid) => pid === 300)).toHaveLength(1);
  });

  it('a pid a stranger took over between two ticks is read again before its child is taken for the agent\'s', async () => {
    const child = { pid: 300, ppid: 100, startTime: 60 };
    // 300 exits and a stranger (started by init) takes its pid before the next tick; then it forks
    const usurper = { pid: 300, ppid: 1, startTime: 80 };
    const strangersChild = { pid: 310, ppid: 300, startTime: 81 };
    const { leaked } = await follow([
      [init, agent, child],
      [init, agent, usurper],
      [init, agent, usurper, strangersChild],
      [init, usurper, strangersChild],
    ]);
    expect(leaked).toEqual([]);
  });

  it('a pid the agent\'s own child took over between two ticks is recorded once it forks', async () => {
    const stranger = { pid: 300, ppid: 1, startTime: 40 };
    const child = { pid: 300, ppid: 100, startTime: 80 };
    const grandchild = { pid: 310, ppid: 300, startTime: 81 };
    const { leaked } = await follow([
      [init, agent, stranger],
      [init, agent, child],
      [init, agent, child, grandchild],
      [init, { ...child, ppid: 1 }, grandchild],
    ]);
    expect(leaked).toEqual([300, 310]);
  });

  it('a busy test loop: a thousand processes come and go, and the lineage on disk stays a fraction of them; a server whose shell exited is still the session\'s leak', async () => {
    const shell = { pid: 500, ppid: 100, startTime: 51 };
    const server = { pid: 501, ppid: 500, startTime: 52 };
    const ticks: Proc[][] = [[init, agent], [init, agent, shell, server]];
    // 60 ticks of 20 short-lived workers each: each lives one tick
    for (let k = 0; k < 60; k++) {
      const workers = Array.from({ length: 20 }, (_, j) => ({ pid: 1000 + k * 20 + j, ppid: 100, startTime: 60 + k }));
      ticks.push([init, agent, { ...server, ppid: 1 }, ...workers]);
    }
    ticks.push([init, { ...server, ppid: 1 }]); // the agent is gone
    const onDisk: number[] = [];
    const { leaked } = await follow(ticks, (index, state) => {
      if (index % 10 === 0) onDisk.push(readLineage(join(state, 'sessions', '100-50.json')).entries.length);
    });
    expect(leaked).toEqual([501]);
    // 1,202 processes were followed; what is kept (the server, its shell, the last ticks' workers)
    // is written out, and the file rewritten when it holds twice that and 256 lines more
    expect(Math.max(...onDisk)).toBeLessThan(600);
    expect(onDisk.at(-1)).toBeGreaterThan(0);
  });
});
