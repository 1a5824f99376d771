// The torture suite's own rules, on plain data: when a process is protected (its owner live, kept,
// a person's, hosting something protected), what counts as a wrong kill, rtrack's signal record,
// and that a seed always gives the same world.
import { describe, expect, it } from 'vitest';
import { featuresOf, generatePlan } from './plan.js';
import { judge, parseRtrackSignals, protection, type Interval, type SignalSeen, type TruthRecord } from './truth.js';

const record = (over: Partial<TruthRecord> & { key: string }): TruthRecord => ({
  pid: Number(over.key.split(':')[0]),
  start: Number(over.key.split(':')[1]),
  label: over.key,
  kind: 'proc:nohup',
  owner: 's1',
  role: 'leak',
  at: 0,
  hosting: false,
  from: [],
  ...over,
});
const signal = (key: string, at: number, by = 'scan'): SignalSeen => ({ at, key, signal: 'SIGTERM', source: 'recorder', by });
const run = (records: TruthRecord[], ownerLive: Record<string, Interval[]>, signals: SignalSeen[], dead: Record<string, Interval> = {}, end = 10_000) =>
  judge({ records, ownerLive: new Map(Object.entries(ownerLive)), signals, alive: (r) => !(r.key in dead), deathWindow: (r) => dead[r.key], end });

describe('protection', () => {
  it('a session\'s process: protected while the session is live, and again once it is resumed', () => {
    const p = protection([record({ key: '10:1' })], new Map([['s1', [[-Infinity, 1000], [3000, Infinity]] as Interval[]]]));
    expect(p.get('10:1')!.intervals).toEqual([
      [-Infinity, 1000],
      [3000, Infinity],
    ]);
    expect(p.get('10:1')!.why(500).cls).toBe('owner live');
    expect(p.get('10:1')!.why(2000).cls).toBe('leak');
  });

  it('a host is protected from the moment it hosts something protected, through a pane to what a person typed in it', () => {
    const server = record({ key: '20:1', kind: 'tmux:server', hosting: true });
    const pane = record({ key: '21:1', kind: 'tmux:pane', hosting: true, parentKey: '20:1', at: 100 });
    const typed = record({ key: '22:1', kind: 'person:typed', role: 'person', owner: 'p1', parentKey: '21:1', at: 2000 });
    const p = protection([server, pane, typed], new Map([['s1', [[-Infinity, 1000]] as Interval[]]]));
    expect(p.get('20:1')!.intervals).toEqual([
      [-Infinity, 1000],
      [2000, Infinity],
    ]);
    expect(p.get('20:1')!.why(5000).cls).toBe('hosts tmux:pane (hosts person:typed (person))');
    expect(p.get('21:1')!.why(5000).text).toMatch(/^hosts 22:1 \(pid 22, person\)$/);
  });

  it('what a person took (attached to, typed into) is protected from then on', () => {
    const p = protection([record({ key: '30:1', from: [4000] })], new Map([['s1', [[-Infinity, 1000]] as Interval[]]]));
    expect(p.get('30:1')!.intervals).toEqual([
      [-Infinity, 1000],
      [4000, Infinity],
    ]);
  });
});

describe('judge', () => {
  const ended: Record<string, Interval[]> = { s1: [[-Infinity, 1000]] };

  it('a signal to a kept process is a wrong kill; to a leak of an ended session it is not, and the leak counts as reaped', () => {
    const kept = record({ key: '1:1', role: 'kept' });
    const leak = record({ key: '2:1' });
    const [k, l] = run([kept, leak], ended, [signal('1:1', 2000), signal('2:1', 2000)], { '1:1': [1900, 2100], '2:1': [1900, 2100] });
    expect(k!.wrongSignals).toHaveLength(1);
    expect(l!.wrongSignals).toHaveLength(0);
    expect(l!.leak).toBe(true);
    expect(k!.leak).toBe(false);
  });

  it('a signal before the session ended is a wrong kill (it was live then)', () => {
    const [v] = run([record({ key: '3:1' })], ended, [signal('3:1', 500)], { '3:1': [400, 600] });
    expect(v!.wrongSignals).toHaveLength(1);
  });

  it('a protected process dead at the end without any signal is a wrong kill (SIGKILL, cgroup.kill leave no record); one killed while it was a leak is not', () => {
    const resumed: Record<string, Interval[]> = { s1: [[-Infinity, 1000], [3000, Infinity]] };
    const [silent] = run([record({ key: '4:1' })], resumed, [], { '4:1': [3100, 3300] });
    expect(silent!.deadWhileProtected).toBe(true);
    const [before] = run([record({ key: '5:1' })], resumed, [signal('5:1', 2000)], { '5:1': [1900, 3300] });
    expect(before!.deadWhileProtected).toBe(false);
    expect(before!.wrongSignals).toHaveLength(0);
    const [window] = run([record({ key: '6:1' })], resumed, [], { '6:1': [1500, 2500] });
    expect(window!.deadWhileProtected).toBe(false); // it died while it was a leak
  });

  it('what may exit by itself (rtrack\'s own commands) is judged by its signals only; what the world ended is never a leak', () => {
    const [own] = run([record({ key: '7:1', role: 'own', mayExit: true })], {}, [], { '7:1': [100, 200] });
    expect(own!.deadWhileProtected).toBe(false);
    const [ownHit] = run([record({ key: '8:1', role: 'own', mayExit: true })], {}, [{ ...signal('8:1', 150), source: 'rtrack' }], { '8:1': [100, 200] });
    expect(ownHit!.wrongSignals).toHaveLength(1);
    const [agent] = run([record({ key: '9:1', kind: 'session:agent', notALeak: 'the agent the world ended', mayExit: true })], ended, [], { '9:1': [1000, 1000] });
    expect(agent!.leak).toBe(false);
    expect(agent!.deadWhileProtected).toBe(false);
  });
});

describe("rtrack's record of its signals (signals.jsonl)", () => {
  it('reads each line by identity and keeps what is not a record apart', () => {
    const text = [
      JSON.stringify({ at: '2026-12-07T10:00:00.000Z', by: 'scan', pid: 123, identity: '123:4567', signal: 'SIGTERM', command: 'sleep 300', evidence: ['agent'], via: 'kill' }),
      JSON.stringify({ at: '2026-12-07T10:00:00.300Z', by: 'run', pid: 124, identity: '124:4568', signal: 'SIGKILL', command: 'x', evidence: ['cgroup'], via: 'cgroup.kill' }),
      '{"at":"2026-12-07T10:00:01.000Z","by":"watch","pid":1',
      '',
    ].join('\n');
    const { signals, bad, lines } = parseRtrackSignals(text);
    expect(signals).toEqual([
      { at: Date.parse('2026-12-07T10:00:00.000Z'), key: '123:4567', signal: 'SIGTERM', source: 'rtrack', by: 'scan', via: 'kill', evidence: ['agent'] },
      { at: Date.parse('2026-12-07T10:00:00.300Z'), key: '124:4568', signal: 'SIGKILL', source: 'rtrack', by: 'run', via: 'cgroup.kill', evidence: ['cgroup'] },
    ]);
    expect(lines).toHaveLength(2);
    expect(bad).toHaveLength(1);
  });
});

describe('plans', () => {
  it('a seed always gives the same world', () => {
    for (const seed of [1, 42, 2 ** 31 - 1]) expect(generatePlan(seed, { foreign: true })).toEqual(generatePlan(seed, { foreign: true }));
  });

  it('without screen, dtach or another user, the same seed draws the same numbers and never those blocks', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const f = featuresOf(generatePlan(seed, { foreign: false, screen: false, dtach: false }));
      expect([...f].filter((x) => /screen|dtach|foreign/.test(x))).toEqual([]);
    }
  });
});
