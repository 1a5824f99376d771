// Whole evidence or none (rules/whole-evidence.ts, rules/keep.ts keptByPipeline): what was read in
// part, overwritten by a title, or shared by a terminal multiplexer's clients is no evidence; a
// kept process keeps its pipeline. Tables of cases, and properties over generated inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { environmentGarbled, parseEnvMarkers } from '../../src/platform/linux.js';
import { BUILT_IN_AGENTS } from '../../src/rules/agents.js';
import { refusalOf, type GateView } from '../../src/rules/gate.js';
import { byPid } from '../../src/rules/identity.js';
import { keptByPipeline, keptPids, type PipeEnd, type SocketPeers } from '../../src/rules/keep.js';
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

  const sockets = (...pairs: [number, number, boolean?, boolean?][]): SocketPeers =>
    new Map(pairs.flatMap(([a, b, aNamed = false, bNamed = false]) => [[a, { peers: [b], named: aNamed }], [b, { peers: [a], named: bNamed }]] as const));
  const sock = (...inodes: number[]): PipeEnd[] => inodes.map((socket) => ({ socket }));
  const parents = (...pairs: [number, number][]): ((pid: number) => number | undefined) => {
    const m = new Map(pairs);
    return (pid) => m.get(pid);
  };

  it('a named FIFO: `tee log < f & KEEP=1 server > f` joins by device and inode; an anonymous pipe of the same inode is another', () => {
    const pipes = new Map<number, PipeEnd[]>([
      [10, [{ inode: 500, dev: 2049, end: 'w' }]], // the server, into the FIFO
      [11, [{ inode: 500, dev: 2049, end: 'r' }]], // tee, from it
      [12, [{ inode: 500, end: 'r' }]], // pipe:[500] of pipefs: not the FIFO
      [13, [{ inode: 500, dev: 64, end: 'r' }]], // inode 500 of another filesystem
    ]);
    expect([...keptByPipeline(pipes, new Set([10]))]).toEqual([[11, 10]]);
  });

  it('a socket pair: the two ends of one connection, both ways; a socket with no account (listening, unconnected) joins nothing', () => {
    const pipes = new Map([
      [10, sock(101, 900)], // the kept server: stdout a socket pair; 900 listening
      [11, sock(102)], // what reads it
      [12, sock(901)], // a client of the listening socket's: no account of 900 or 901 below
    ]);
    expect([...keptByPipeline(pipes, new Set([10]), { peers: sockets([101, 102]) })]).toEqual([[11, 10]]);
    expect([...keptByPipeline(pipes, new Set([11]), { peers: sockets([101, 102]) })]).toEqual([[10, 11]]);
    // The same end, inherited: not joined to the kept one by it, only to what is at the other end.
    const inherited = new Map([[10, sock(101)], [13, sock(101)]]);
    expect(keptByPipeline(inherited, new Set([10]), { peers: sockets([101, 102]) }).size).toBe(0);
    expect(keptByPipeline(pipes, new Set([10])).size).toBe(0); // no peers read: sockets join nothing
  });

  it('a node parent with socket-pair children: a kept child keeps its parent and the parent\'s own parent, not its siblings', () => {
    // 5 runs `node orchestrator` (20) over a socket pair; 20 runs 21 (KEEP=1), 22 and 23 over socket
    // pairs, and pipes its log into 24 (its child, a popen(…, "w")); 22 also reads a pipe 20 does not hold.
    const pipes = new Map<number, PipeEnd[]>([
      [5, sock(300)],
      [20, [...sock(301, 201, 203, 205), { inode: 77, end: 'w' }]],
      [21, sock(202)],
      [22, [...sock(204), { inode: 78, end: 'r' }]],
      [23, sock(206)],
      [24, [{ inode: 77, end: 'r' }]],
    ]);
    const peers = sockets([300, 301], [201, 202], [203, 204], [205, 206]);
    const parentOf = parents([20, 5], [21, 20], [22, 20], [23, 20], [24, 20]);
    expect(new Map(keptByPipeline(pipes, new Set([21]), { peers, parentOf }))).toEqual(new Map([[20, 21], [5, 21], [24, 21]]));
    // Without the tree, the parent's every channel would be followed: the siblings with it.
    expect(new Set(keptByPipeline(pipes, new Set([21]), { peers }).keys())).toEqual(new Set([20, 5, 22, 23, 24]));
  });

  it('a parent that reads its child\'s pipe is not held by it; `a | KEEP=1 b | c` over socket pairs (ksh) is one pipeline', () => {
    const pyParent = new Map<number, PipeEnd[]>([
      [30, [{ inode: 1, end: 'r' }, { inode: 2, end: 'r' }]], // Popen(stdout=PIPE) twice
      [31, [{ inode: 1, end: 'w' }]], // kept
      [32, [{ inode: 2, end: 'w' }]],
    ]);
    expect([...keptByPipeline(pyParent, new Set([31]), { parentOf: parents([31, 30], [32, 30]) })]).toEqual([[30, 31]]);
    const chain = new Map([[1, sock(11)], [2, sock(12, 21)], [3, sock(22, 31)], [4, sock(32)]]);
    const peers = sockets([11, 12], [21, 22], [31, 32]);
    expect(new Map(keptByPipeline(chain, new Set([2]), { peers, parentOf: parents([1, 9], [2, 9], [3, 9], [4, 9]) }))).toEqual(new Map([[1, 2], [3, 2], [4, 2]]));
  });

  it('a client joins its server; a server\'s clients are not its pipeline; a connection named at both ends joins both ways', () => {
    // 40 serves on a path: its accepted ends 401, 403 carry the path; its clients' ends 402, 404 none.
    const pipes = new Map([[40, sock(401, 403)], [41, sock(402)], [42, sock(404)], [50, sock(501)], [51, sock(502)]]);
    const peers = sockets([401, 402, true, false], [403, 404, true, false], [501, 502, true, true]);
    expect([...keptByPipeline(pipes, new Set([41]), { peers })]).toEqual([[40, 41]]); // not, through 40, its other client 42
    expect(keptByPipeline(pipes, new Set([40]), { peers }).size).toBe(0);
    expect([...keptByPipeline(pipes, new Set([51]), { peers })]).toEqual([[50, 51]]);
  });

  it('a process in a kept process\'s terminal keeps that terminal\'s host (script -qfc, unbuffer): its exit would hang the terminal up (second review)', () => {
    // 30 hosts /dev/pts/6 (script: the master), 31 runs in it (its child: the kept server), 32 too.
    const pipes = new Map<number, PipeEnd[]>([[30, [{ pty: 6, end: 'w' }]], [31, [{ pty: 6, end: 'r' }, { pty: 6, end: 'r' }]], [32, [{ pty: 6, end: 'r' }]], [40, [{ pty: 7, end: 'w' }]]]);
    const parentOf = parents([31, 30], [32, 31]);
    // The host only: not, through it, what else runs in that terminal (32), nor another terminal's host 40.
    expect([...keptByPipeline(pipes, new Set([31]), { parentOf })]).toEqual([[30, 31]]);
    expect(keptByPipeline(pipes, new Set([40]), { parentOf }).size).toBe(0);
  });

  // What may join two processes, restated from keptByPipeline's doc comment.
  const joins = (pipes: ReadonlyMap<number, readonly PipeEnd[]>, peers: SocketPeers, parentOf: (pid: number) => number | undefined) => (from: number, to: number): boolean => {
    if (from === to) return false;
    const child = parentOf(to) === from;
    return (pipes.get(from) ?? []).some((a) =>
      (pipes.get(to) ?? []).some((b) => {
        if ('socket' in a || 'socket' in b) {
          if (!('socket' in a) || !('socket' in b)) return false;
          const mine = peers.get(a.socket);
          const server = (mine?.named ?? false) && !(peers.get(b.socket)?.named ?? false);
          return !child && !server && (mine?.peers.includes(b.socket) ?? false);
        }
        if ('pty' in a || 'pty' in b) {
          if (!('pty' in a) || !('pty' in b) || a.pty !== b.pty) return false;
          return a.end === 'r' && b.end === 'w'; // what runs in a terminal keeps its host, only
        } else if (a.inode !== b.inode || a.dev !== b.dev) return false;
        const down = a.end !== 'r' && b.end !== 'w';
        const up = a.end !== 'w' && b.end !== 'r';
        return child ? down : down || up;
      }),
    );
  };
  const channelEnd = fc.oneof(
    fc.record({ inode: fc.integer({ min: 1, max: 4 }), end: fc.constantFrom<'r' | 'w' | 'rw'>('r', 'w', 'rw') }),
    fc.record({ inode: fc.integer({ min: 1, max: 4 }), dev: fc.constantFrom(1, 2), end: fc.constantFrom<'r' | 'w' | 'rw'>('r', 'w', 'rw') }),
    fc.record({ socket: fc.integer({ min: 1, max: 8 }) }),
  ) as fc.Arbitrary<PipeEnd>;
  const world = fc.record({
    rows: fc.array(fc.array(channelEnd, { maxLength: 4 }), { minLength: 1, maxLength: 8 }),
    ppids: fc.array(fc.nat(9), { minLength: 8, maxLength: 8 }),
    links: fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.boolean()), { maxLength: 8 }),
    keptIdx: fc.array(fc.nat(), { maxLength: 3 }),
  });
  type World = typeof world extends fc.Arbitrary<infer T> ? T : never;
  const build = ({ rows, ppids, links, keptIdx }: World) => {
    const pipes = new Map<number, PipeEnd[]>(rows.map((e, i) => [i + 1, e]));
    const peers = new Map<number, { peers: number[]; named: boolean }>();
    for (const [a, b, named] of links) {
      const e = peers.get(a) ?? { peers: [], named };
      if (!e.peers.includes(b)) e.peers.push(b);
      peers.set(a, e);
    }
    const parentOf = (pid: number): number | undefined => ppids[pid - 1];
    return { pipes, peers, parentOf, kept: new Set(keptIdx.map((k) => 1 + (k % rows.length))) };
  };

  it('keeps exactly what the kept reach by the rules of the way: each through an end it holds, and nothing more (property)', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { pipes, peers, parentOf, kept } = build(w);
        const through = keptByPipeline(pipes, kept, { peers, parentOf });
        const all = new Set([...kept, ...through.keys()]);
        const may = joins(pipes, peers, parentOf);
        for (const [pid, root] of through) {
          expect(kept.has(pid)).toBe(false);
          expect(kept.has(root)).toBe(true);
          expect([...all].some((q) => may(q, pid))).toBe(true);
        }
        for (const q of all) for (const pid of pipes.keys()) if (!all.has(pid)) expect(may(q, pid)).toBe(false);
      }),
      RUNS,
    );
  });

  it('more channels, more peers, or no tree never keep less (property)', () => {
    fc.assert(
      fc.property(world, channelEnd, fc.nat(7), fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })), (w, extra, at, [a, b]) => {
        const { pipes, peers, parentOf, kept } = build(w);
        const before = new Set(keptByPipeline(pipes, kept, { peers, parentOf }).keys());
        const pid = 1 + (at % pipes.size);
        const more = new Map(pipes).set(pid, [...pipes.get(pid)!, extra]);
        const morePeers = new Map(peers).set(a, { peers: [...(peers.get(a)?.peers ?? []), b], named: peers.get(a)?.named ?? false });
        for (const after of [keptByPipeline(more, kept, { peers, parentOf }), keptByPipeline(pipes, kept, { peers: morePeers, parentOf }), keptByPipeline(pipes, kept, { peers })]) {
          for (const q of before) expect(after.has(q) || kept.has(q)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});
