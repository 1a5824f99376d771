// Whole evidence or none (rules/whole-evidence.ts, rules/keep.ts keptByPipeline): what was read in
// part, overwritten by a title, or shared by a terminal multiplexer's clients is no evidence; a
// kept process keeps its pipeline. Tables of cases, and properties over generated inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { environmentGarbled, parseEnvMarkers } from '../../src/platform/linux.js';
import { BUILT_IN_AGENTS } from '../../src/rules/agents.js';
import { refusalOf, type GateView } from '../../src/rules/gate.js';
import { byPid } from '../../src/rules/identity.js';
import { keptByPipeline, keptPids, type PipeEnd } from '../../src/rules/keep.js';
import { hasAttachedClient, judgeLiveness } from '../../src/rules/liveness.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import { processTree } from '../../src/rules/tree.js';
import { paneOf, resolveRetitled, sharedEvidence, sharedHostKind, unreadableEvidence } from '../../src/rules/whole-evidence.js';
import { formatTaskTag, parseTaskTag } from '../../src/tracking/task-tag.js';
import type { AgentMarker, ProcessInfo } from '../../src/types.js';
import { proc, snap } from '../helpers/snapshots.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261207 });

const env = (...entries: string[]): Buffer => Buffer.from(entries.map((e) => `${e}\0`).join(''));
const claude = (sessionId: string, agentPid?: number): AgentMarker => ({ agent: 'claude-code', sessionId, ...(agentPid ? { agentPid } : {}) });
const init = proc(1, 0, '/sbin/init');

describe('an environment overwritten by a title rewrite (environmentGarbled)', () => {
  it.each([
    ['a whole one', env('HOME=/root', 'PATH=/bin', 'RESOURCE_TRACKER_KEEP=1'), false],
    ['an empty one (env -i)', Buffer.alloc(0), false],
    ['a value holding "=" and blanks', env('A=b=c d', 'BASH_FUNC_f%%=() {  echo; }'), false],
    ['perl $0: blanks, then one NUL', Buffer.from(`${' '.repeat(1493)}\0`), true],
    ['setproctitle: the title\'s tail, then NUL padding', Buffer.from('ver -p 8000\0\0\0\0\0\0'), true],
    ['an entry without "="', env('HOME=/root', 'junk', 'PATH=/bin'), true],
    ['a name with a blank', env('HOME=/root', 'nginx: worker=1'), true],
    ['an empty entry in the middle', Buffer.from('A=1\0\0B=2\0'), true],
    ['a last entry cut (no NUL)', Buffer.from('A=1\0B=2'), true],
    ['a nameless entry', env('=x'), true],
  ])('%s', (_name, buf, garbled) => {
    expect(environmentGarbled(buf, buf.length)).toBe(garbled);
  });

  it('a whole environment of arbitrary NAME=value entries is never garbled, and its markers are found (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.%-]{0,20}$/);
    const value = fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, ''));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), fc.boolean(), (vars, keep) => {
        const entries = vars.map(([k, v]) => `${k}=${v}`);
        if (keep) entries.push('RESOURCE_TRACKER_KEEP=1');
        const buf = env(...entries);
        expect(environmentGarbled(buf, buf.length)).toBe(false);
        expect(parseEnvMarkers(buf, buf.length).keep).toBe(keep || vars.some(([k, v]) => k === 'RESOURCE_TRACKER_KEEP' && v !== '' && v !== '0'));
      }),
      RUNS,
    );
  });

  it('any rewrite that pads the area with NULs or blanks past a whole environment is garbled (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }).map((s) => s.replace(/\0/g, '')), fc.integer({ min: 1, max: 64 }), fc.constantFrom(0, 0x20), (title, pad, byte) => {
        const buf = Buffer.concat([Buffer.from(title), Buffer.alloc(pad, byte), Buffer.from([0])]);
        fc.pre(!/^[^\s=\0]+=[^\0]*\0$/.test(buf.toString('latin1')) || byte === 0); // a title that is itself NAME=value, then NULs, is garbled by its padding
        expect(environmentGarbled(buf, buf.length)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('what a process read in part carries (unreadableEvidence)', () => {
  it.each([
    ['read whole', {}, undefined],
    ['another user\'s environment', { environmentUnreadable: true }, /cannot be read/],
    ['an environment past 4 MiB', { environmentUnreadable: true, environmentProblem: 'truncated' as const }, /longer than rtrack reads/],
    ['an overwritten environment', { environmentUnreadable: true, environmentProblem: 'garbled' as const }, /overwritten/],
    ['a command line cut at 4 KiB', { commandLineTruncated: true }, /read only in part/],
    ['a command line cut at 4 KiB, kept by what was read', { commandLineTruncated: true, keepReason: 'pattern' as const }, undefined],
  ])('%s', (_name, extra, reason) => {
    const why = unreadableEvidence(proc(10, 1, 'x', extra));
    if (reason === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(reason);
  });
});

describe('a title rewrite of a program that passed its environment on (resolveRetitled)', () => {
  const tag = formatTaskTag({ pid: 9, startTime: 1 }, 'ab');
  it('Chromium\'s zygote and renderer carry the browser\'s tag and keep; perl started by a shell does not', () => {
    const browser = proc(10, 1, '/usr/lib/chromium/chromium --headless', { executable: 'chromium', taskTag: tag, keepReason: 'env', agent: claude('S') });
    const zygote = proc(11, 10, '/usr/lib/chromium/chromium --type=zygote', { executable: 'chromium', environmentUnreadable: true, environmentProblem: 'garbled' });
    const renderer = proc(12, 11, '/usr/lib/chromium/chromium --type=renderer', { executable: 'chromium', environmentUnreadable: true, environmentProblem: 'garbled' });
    const shell = proc(20, 1, 'bash -c x', { executable: 'bash', taskTag: tag });
    const perl = proc(21, 20, 'mydaemon', { executable: 'perl', environmentUnreadable: true, environmentProblem: 'garbled' });
    const denied = proc(30, 1, 'chromium', { executable: 'chromium', environmentUnreadable: true });
    const below = proc(31, 30, 'chromium --type=zygote', { executable: 'chromium', environmentUnreadable: true, environmentProblem: 'garbled' });
    const out = byPid(resolveRetitled([init, browser, zygote, renderer, shell, perl, denied, below]));
    for (const pid of [11, 12]) {
      expect(out.get(pid)).toMatchObject({ taskTag: tag, keepReason: 'env', agent: claude('S'), environmentFrom: pid - 1 });
      expect(out.get(pid)!.environmentUnreadable).toBeUndefined();
    }
    expect(out.get(21)).toBe(perl); // its marker may have been added at its own exec
    expect(out.get(31)).toBe(below); // its parent's environment could not be read
  });

  it('an interpreter started by the same interpreter, or a process re-parented to init, carries nothing of its parent — unless it is a fork that never exec\'d', () => {
    const script = proc(40, 1, 'perl launcher.pl', { executable: 'perl', taskTag: tag });
    const child = proc(41, 40, 'mydaemon', { executable: 'perl', environmentUnreadable: true, environmentProblem: 'garbled' }); // execs perl with a marker added
    const worker = proc(42, 40, 'worker', { executable: 'perl', environmentUnreadable: true, environmentProblem: 'garbled' }); // forked
    const initPerl = proc(1, 0, 'perl init.pl', { executable: 'perl' });
    const orphan = proc(43, 1, 'mydaemon', { executable: 'perl', environmentUnreadable: true, environmentProblem: 'garbled' }); // re-parented to a perl init
    const out = byPid(resolveRetitled([initPerl, script, child, worker, orphan], (c, p) => c.pid === 42 && p.pid === 40));
    expect(out.get(41)).toBe(child);
    expect(out.get(42)).toMatchObject({ taskTag: tag, environmentFrom: 40 });
    expect(out.get(43)).toBe(orphan);
  });
});

describe('terminal multiplexers: hosts shared by every client of their socket', () => {
  it('are told by the file they run, whatever their title, or by their program name', () => {
    expect(sharedHostKind(proc(5, 1, 'tmux new-session -d -s work'))).toBe('tmux');
    expect(sharedHostKind(proc(5, 1, 'my-title', { executable: 'tmux' }))).toBe('tmux');
    expect(sharedHostKind(proc(5, 1, 'SCREEN -dmS x sleep 1'))).toBe('screen');
    expect(sharedHostKind(proc(5, 1, 'tmux: server (/tmp/s)'))).toBe('tmux');
    for (const kind of ['zellij', 'dtach', 'abduco', 'tmate']) expect(sharedHostKind(proc(5, 1, `/usr/bin/${kind} -n x`))).toBe(kind);
    expect(sharedHostKind(proc(5, 1, 'bash -c tmux'))).toBeUndefined();
    expect(sharedHostKind(proc(5, 1, 'tmuxinator start'))).toBeUndefined();
  });

  it('screen is attached while its socket file has the owner-execute bit; tmux while a connection is accepted', () => {
    expect(hasAttachedClient([{ path: '/run/screen/S-u/1.x', connected: false, ownerExecutable: true }], 'screen')).toBe(true);
    expect(hasAttachedClient([{ path: '/run/screen/S-u/1.x', connected: false, ownerExecutable: false }], 'screen')).toBe(false);
    expect(hasAttachedClient([{ path: '/tmp/s', connected: true }], 'tmux')).toBe(true);
    expect(hasAttachedClient([{ path: '/tmp/s', connected: false }], 'dtach')).toBe(false);
  });

  // A's tmux server (A's markers and a run's tag), a pane with only its markers, one where an agent
  // set markers of its own, and a live session B's job on it carrying A's markers.
  const tag = formatTaskTag({ pid: 9, startTime: 1 }, 'ab');
  const server = proc(10, 1, 'tmux new-session -d -s a', { agent: claude('A', 99), taskTag: tag });
  const pane = proc(11, 10, '-bash', { agent: claude('A', 99), taskTag: tag });
  const bJob = proc(12, 10, 'sleep 3003', { agent: claude('A', 99), taskTag: tag });
  const own = proc(13, 11, 'python3 -m http.server', { agent: claude('C', 77), taskTag: tag });
  const live = byPid([init, server, pane, bJob, own]);

  it('what carries only the server\'s markers and tag is the server\'s evidence, not its own', () => {
    expect(sharedEvidence(server, live)).toMatch(/^a tmux server: a host shared/);
    expect(sharedEvidence(pane, live)).toMatch(/runs in a tmux server \(pid 10\)/);
    expect(sharedEvidence(bJob, live)).toMatch(/runs in a tmux server/);
    expect(sharedEvidence(own, live)).toBeUndefined(); // set inside the pane: its own
  });

  it('scan never calls the server or a pane a certain leak of A, and the gate refuses them unless a person named them', () => {
    const processes = [init, server, pane, bJob];
    const liveness = judgeLiveness({ processes, agents: BUILT_IN_AGENTS });
    expect(liveness.session('claude-code', 'A')?.status).toBe('over');
    const scan = analyzeMachine(snap(processes), { ageSeconds: () => 1, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS, liveness });
    expect(scan.certain).toEqual([]);
    expect(scan.suspected.flatMap((g) => g.processes.map((p) => [p.pid, p.suspectBecause !== undefined]))).toEqual([[10, true], [11, true], [12, true]]);
    const tree = processTree(processes);
    const view: GateView = { live: byPid(processes), tree, liveness, kept: keptPids(tree, processes), own: new Map() };
    for (const pid of [10, 11, 12]) expect(refusalOf(pid, view, { targets: new Set([10, 11, 12]) })?.result).toBe('in-use');
    // Named by a person (scan --reap --match … --yes) with all it hosts: allowed…
    for (const pid of [10, 11, 12]) expect(refusalOf(pid, view, { targets: new Set([10, 11, 12]), named: true })).toBeUndefined();
    // …but never the server while it hosts something that is not reaped with it.
    expect(refusalOf(10, view, { targets: new Set([10, 11]), named: true })).toEqual({ result: 'in-use', reason: 'a tmux server that hosts pid 12, which is not reaped with it' });
  });

  it('the pane a process was started in is read from the variables the multiplexer sets (paneOf)', () => {
    expect(paneOf({ TMUX: '/tmp/tmux-0/default,4242,0' })).toEqual({ host: 'tmux', serverPid: 4242 });
    expect(paneOf({ TMUX: '/tmp/s,,0' })).toEqual({ host: 'tmux' });
    expect(paneOf({ STY: '4343.work' })).toEqual({ host: 'screen', serverPid: 4343 });
    expect(paneOf({ STY: '1.work' })).toEqual({ host: 'screen' }); // never init
    expect(paneOf({ ZELLIJ_SESSION_NAME: 'x' })).toEqual({ host: 'zellij' });
    expect(paneOf({ HOME: '/h' })).toBeUndefined();
    expect(paneOf(undefined)).toBeUndefined();
  });

  it('a process that left a pane: the server\'s markers are the server\'s, its own are its own; with the server gone, nothing is told', () => {
    const left = proc(20, 1, 'sleep 6001', { agent: claude('A', 99), taskTag: tag, startedInPane: { host: 'tmux', serverPid: 10 } });
    const ownLeft = proc(21, 1, 'node dev.js', { agent: claude('C', 77), startedInPane: { host: 'tmux', serverPid: 10 } });
    const withServer = byPid([init, server, left, ownLeft]);
    expect(sharedEvidence(left, withServer)).toMatch(/started in a tmux pane \(server pid 10\)/);
    expect(sharedEvidence(ownLeft, withServer)).toBeUndefined(); // an agent inside the pane set its own
    const serverGone = byPid([init, left, ownLeft]);
    expect(sharedEvidence(left, serverGone)).toMatch(/server is gone/);
    expect(sharedEvidence(ownLeft, serverGone)).toMatch(/server is gone/);
    // A pid the server's number now names, started after the process: not its server.
    const impostor = proc(10, 1, 'tmux new -d', { startTime: 10_000 });
    expect(sharedEvidence(left, byPid([init, impostor, left]))).toMatch(/server is gone/);
  });
});

describe('a kept process keeps its pipeline (keptByPipeline)', () => {
  const ends = (...e: [number, 'r' | 'w' | 'rw'][]): PipeEnd[] => e.map(([inode, end]) => ({ inode, end }));
  it('`KEEP=1 server 2>&1 | tee log`: tee reads what the kept server writes; the inherited stdout both write joins nothing', () => {
    const pipes = new Map([
      [10, ends([100, 'w'], [100, 'w'], [7, 'w'])], // the server: stdout and stderr into the pipe; fd 3 the harness's pipe
      [11, ends([100, 'r'], [7, 'w'])], // tee
      [12, ends([7, 'w'])], // a leak that inherited the same stdout
    ]);
    expect([...keptByPipeline(pipes, new Set([10]))]).toEqual([[11, 10]]);
  });

  it('along the pipeline, both ways: `a | KEEP=1 b | c`', () => {
    const pipes = new Map([
      [1, ends([100, 'w'])],
      [2, ends([100, 'r'], [200, 'w'])],
      [3, ends([200, 'r'], [300, 'w'])],
      [4, ends([300, 'r'])],
    ]);
    expect(new Map(keptByPipeline(pipes, new Set([2])))).toEqual(new Map([[1, 2], [3, 2], [4, 2]]));
  });

  it('never keeps a process joined to nothing kept, and only through opposite ends (property)', () => {
    const end = fc.record({ inode: fc.integer({ min: 1, max: 6 }), end: fc.constantFrom<'r' | 'w' | 'rw'>('r', 'w', 'rw') });
    fc.assert(
      fc.property(fc.array(fc.array(end, { maxLength: 4 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 3 }), (rows, keptIdx) => {
        const pipes = new Map(rows.map((e, i) => [i + 1, e] as const));
        const kept = new Set(keptIdx.map((k) => 1 + (k % rows.length)));
        const through = keptByPipeline(pipes, kept);
        const all = new Set([...kept, ...through.keys()]);
        for (const [pid, root] of through) {
          expect(kept.has(pid)).toBe(false);
          expect(kept.has(root)).toBe(true);
          // joined to something kept (or kept through) by a pipe it holds the other end of
          const mine = pipes.get(pid)!;
          const joined = [...all].some((q) => q !== pid && pipes.get(q)!.some((e) => mine.some((m) => m.inode === e.inode && (m.end === 'rw' || e.end === 'rw' || m.end !== e.end))));
          expect(joined).toBe(true);
        }
      }),
      RUNS,
    );
  });
});
