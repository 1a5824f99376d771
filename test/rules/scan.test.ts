import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentDefinitions } from '../../src/rules/agents.js';
import type { ProcessInfo } from '../../src/types.js';
import { identityKey } from '../../src/rules/identity.js';
import { analyzeMachine, leftBySession, portCandidates, startedInASession } from '../../src/rules/machine-leaks.js';
import { portHolders } from '../../src/rules/port-holders.js';
import { formatTaskTag, holdsRunFile, parseTaskTag, UNKNOWN_PID_NAMESPACE } from '../../src/tracking/task-tag.js';
import { proc, snap } from '../helpers/snapshots.js';

const init = proc(1, 0, '/sbin/init');
const kthreadd = proc(2, 0, 'kthreadd');
const kworker = proc(3, 2, 'kworker/0:0');
const sshd = proc(10, 1, '/usr/sbin/sshd -D');
const userSystemd = proc(20, 1, '/lib/systemd/systemd --user');
const liveRtrack = proc(30, 20, 'rtrack run -- claude');
const goneTag = formatTaskTag({ pid: 999, startTime: 5 }, 'aa');
const liveTag = formatTaskTag({ pid: 30, startTime: 300 }, 'bb');

const options = { ageSeconds: (t: number) => 10_000 - t, parseTag: parseTaskTag };

describe('analyzeMachine', () => {
  const leakRoot = proc(100, 1, 'node mcp-server.js', { taskTag: goneTag, memoryMB: 40 });
  const leakBrowser = proc(101, 100, 'chromium --headless', { taskTag: goneTag, memoryMB: 200 });
  const leakRenderer = proc(102, 101, 'chromium --type=renderer', { memoryMB: 100 }); // scrubbed env
  const liveRunChild = proc(110, 1, 'chromium', { taskTag: liveTag });
  const suspectRoot = proc(200, 20, 'npm exec @playwright/mcp', { memoryMB: 60 });
  const suspectChild = proc(201, 200, 'node cli.js', { memoryMB: 30 });
  const plainDaemon = proc(300, 1, 'cron -f');
  const keptDaemon = proc(400, 1, 'node dev-server.js', { keepReason: 'env', taskTag: '' });
  const keptChild = proc(401, 400, 'node worker.js');
  const all = snap([init, kthreadd, kworker, sshd, userSystemd, liveRtrack, leakRoot, leakBrowser, leakRenderer, liveRunChild, suspectRoot, suspectChild, plainDaemon, keptDaemon, keptChild]);

  it('certain leaks: tagged by a gone run, grouped by tag, with untagged descendants', () => {
    const scan = analyzeMachine(all, options);
    expect(scan.certain).toHaveLength(1);
    expect(scan.certain[0]).toMatchObject({ tag: goneTag, owner: { pid: 999, startTime: 5 }, totalMemoryMB: 340, ageSeconds: 10_000 - 1000 });
    expect(scan.certain[0]!.processes.map((p) => p.pid)).toEqual([100, 101, 102]);
  });

  it('the tagged process of a live run is not reported at all', () => {
    const scan = analyzeMachine(all, options);
    const reported = [...scan.certain, ...scan.suspected].flatMap((g) => g.processes.map((p) => p.pid));
    expect(reported).not.toContain(110);
  });

  it('suspected: agent-like trees re-parented to init or a subreaper, largest first', () => {
    const scan = analyzeMachine(all, options);
    expect(scan.suspected.map((g) => [g.root.pid, g.processes.map((p) => p.pid), g.totalMemoryMB])).toEqual([[200, [200, 201], 90]]);
  });

  it('--all drops the pattern filter but never lists kernel threads, init or excluded pids', () => {
    const scan = analyzeMachine(all, { ...options, all: true, exclude: new Set([20]) });
    const roots = scan.suspected.map((g) => g.root.pid).sort((a, b) => a - b);
    expect(roots).toEqual([10, 200, 300]);
  });

  it('kept processes and their children are listed apart and never leaks', () => {
    const scan = analyzeMachine(all, { ...options, all: true });
    expect(scan.kept.map((p) => p.pid)).toEqual([400, 401]);
    expect(scan.suspected.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(400);
    // the scanning process itself is never listed, even when a keep pattern matches its command line
    expect(analyzeMachine(all, { ...options, exclude: new Set([401]) }).kept.map((p) => p.pid)).toEqual([400]);
  });

  it('a tag whose owner cannot be told (another PID namespace, out of view) is no evidence: never a certain leak', () => {
    const unknown = analyzeMachine(all, { ...options, ownerPid: (owner) => (owner.pid === 999 ? undefined : owner.pid) }); // the live run stays alive
    expect(unknown.certain).toEqual([]);
    // the seed's rule may still suspect such a tree (re-parented, agent-like); it is never reaped for it
    expect(unknown.suspected.map((g) => g.root.pid)).toContain(100);
  });

  it('a run found through ownerPid (its pid here differs from its pid in its namespace) is alive, and is not a leak itself', () => {
    const inContainer = proc(50, 1, 'node rtrack run -- claude', { startTime: 7 });
    const tag = formatTaskTag({ pid: 3, startTime: 7, pidNamespace: '4026532180' }, 'cc');
    const child = proc(51, 50, 'chromium', { taskTag: tag });
    const scan = analyzeMachine(snap([init, inContainer, child]), { ...options, all: true, ownerPid: (owner) => (owner.pid === 3 ? 50 : null) });
    expect(scan.certain).toEqual([]);
    expect(scan.suspected).toEqual([]);
  });

  it('a descendant of a certain leak whose environment could not be read is left out (it may carry a live run\'s tag)', () => {
    const hidden = proc(103, 101, 'chromium --type=gpu-process', { environmentUnreadable: true });
    const scan = analyzeMachine(snap([...all.processes, hidden]), options);
    expect(scan.certain[0]!.processes.map((p) => p.pid)).toEqual([100, 101, 102]);
  });

  it('an owner that exists but could not be read (listed, unreadable) is alive: its tag is no leak', () => {
    const scan = analyzeMachine({ ...all, unreadable: [999] }, options);
    expect(scan.certain).toEqual([]);
  });

  it('members carry their evidence: tag, lineage (an untagged descendant), heuristic (suspected)', () => {
    const scan = analyzeMachine(all, options);
    expect(scan.certain[0]!.processes.map((p) => p.evidence)).toEqual([['tag'], ['tag'], ['lineage']]);
    expect(scan.suspected[0]!.processes.map((p) => p.evidence)).toEqual([['heuristic'], ['heuristic']]);
  });

  it('the agent-helper filter reads the whole command line, not its 100-character display form', () => {
    const long = `/usr/bin/python3 ${'x'.repeat(120)} --serve`;
    const helper = proc(500, 1, `${long.slice(0, 100)}...`, { commandLine: `${long} --name mcp-server-git` });
    const scan = analyzeMachine(snap([init, helper]), options);
    expect(scan.suspected.map((g) => g.root.pid)).toEqual([500]);
  });

  it('inside a container: pid 2 is an ordinary process, and a parent outside the namespace (ppid 0) is never taken for gone', () => {
    const containerInit = proc(1, 0, 'tini -- node server.js');
    const leaked = proc(2, 1, 'node mcp-server.js');
    const entered = proc(40, 0, 'node repl.js'); // `docker exec`: its parent is outside
    const scan = analyzeMachine(snap([containerInit, leaked, entered]), { ...options, all: true });
    expect(scan.suspected.map((g) => g.root.pid)).toEqual([2]);
  });

  it('counts MCP/browser processes and their memory', () => {
    const scan = analyzeMachine(all, options);
    expect(scan.mcpProcessCount).toBe(4);
    expect(scan.mcpMemoryMB).toBe(200 + 100 + 10 + 60); // the browser tree, the live run's chromium, npm exec @playwright/mcp
  });
});

describe('task tags', () => {
  it('round-trip their owner and reject foreign values', () => {
    expect(parseTaskTag(formatTaskTag({ pid: 12, startTime: 345 }, 'beef'))).toEqual({ pid: 12, startTime: 345 });
    const inNamespace = { pid: 2, startTime: 684599, pidNamespace: '4026532180' };
    expect(formatTaskTag(inNamespace, 'beef')).toBe('rt2.2.684599.4026532180.beef');
    expect(parseTaskTag(formatTaskTag(inNamespace, 'beef'))).toEqual(inNamespace);
    const bad = ['', '1', 'rt2.x.2.0.ab', 'rt2.1.2.ab', 'rt1.1.2.ab', 'rt2.1.2.0', 'rt2.1.2.0.zz', 'rt2.-1.2.0.ab', 'rt2.1.2.ns.ab', 'rt2.1.2.0.ab.x', 'rt4.1.2.0.ab'];
    for (const text of bad) expect(parseTaskTag(text)).toBeUndefined();
  });

  it('a registered run is rt3; a namespace that could not be read is x, "unknown", never ours', () => {
    const registered = { pid: 5, startTime: 9, pidNamespace: '4026531836', registered: true };
    expect(formatTaskTag(registered, 'ab')).toBe('rt3.5.9.4026531836.ab');
    expect(parseTaskTag('rt3.5.9.4026531836.ab')).toEqual(registered);
    const unknown = { pid: 5, startTime: 9, pidNamespace: UNKNOWN_PID_NAMESPACE };
    expect(formatTaskTag(unknown, 'ab')).toBe('rt2.5.9.x.ab');
    expect(parseTaskTag('rt2.5.9.x.ab')).toEqual(unknown);
  });

  it('a run file is recognised among open files, deleted or not, and only its own', () => {
    const tag = 'rt3.5.9.0.c0ffee';
    expect(holdsRunFile(['/dev/null', '/tmp/rtrack-run-c0ffee (deleted)'], tag)).toBe(true);
    expect(holdsRunFile(['/var/tmp/rtrack-run-c0ffee'], tag)).toBe(true);
    expect(holdsRunFile(['/tmp/rtrack-run-c0ffee0 (deleted)', '/tmp/rtrack-run-c0ff', 'socket:[123]'], tag)).toBe(false);
  });
});

describe('a re-parented process that listens on a port is at least a suspect', () => {
  const devServer = proc(500, 1, 'python3 -m http.server 38111'); // orphaned from a shell's session (sid 480)
  const service = proc(510, 1, '/usr/sbin/nginx -g daemon off;'); // a service: leads its own session
  const quiet = proc(520, 1, 'python3 worker.py'); // re-parented, listens on nothing
  const child = proc(501, 500, 'python3 -c pass');
  const all = snap([init, sshd, devServer, child, service, quiet]);

  it('portCandidates names the re-parented processes the agent-helper pattern misses, and no others', () => {
    expect(portCandidates(all.processes).map((p) => p.pid).sort((a, b) => a - b)).toEqual([10, 500, 510, 520]);
  });

  it.each([
    [480, true], // started from someone's session
    [500, false], // the leader of its own session: a service
    [0, false], // a session outside our PID namespace says nothing
    [undefined, false],
  ])('session %s: a suspect %s', (session, suspected) => {
    const listeningSessions = new Map(session === undefined ? [] : [[500, session]]);
    const scan = analyzeMachine(all, { ...options, listeningSessions });
    expect(scan.suspected.some((g) => g.root.pid === 500)).toBe(suspected);
    if (suspected) expect(scan.suspected.find((g) => g.root.pid === 500)!.processes.map((p) => p.pid)).toEqual([500, 501]);
  });

  it('a session leader that listens (setsid nohup python3 -m http.server) is a suspect when it carries what a session gave it — an agent\'s markers (its session not known to be over), GEMINI_CLI, a tag whose run cannot be told — and not otherwise', () => {
    const leader = (extra: Parameters<typeof proc>[3]) => snap([init, sshd, proc(530, 1, 'python3 -m http.server 18125', extra)]);
    const listeningSessions = new Map([[530, 530]]);
    const suspectIn = (scan: ReturnType<typeof analyzeMachine>): boolean => scan.suspected.some((g) => g.root.pid === 530);
    expect(suspectIn(analyzeMachine(leader({}), { ...options, listeningSessions }))).toBe(false); // a service's daemon
    expect(suspectIn(analyzeMachine(leader({ agent: { agent: 'claude-code', sessionId: 's-1' } }), { ...options, listeningSessions }))).toBe(true);
    expect(suspectIn(analyzeMachine(leader({ startedBy: ['gemini-cli'] }), { ...options, listeningSessions: new Map() }))).toBe(true); // GEMINI_CLI alone makes it one
    expect(suspectIn(analyzeMachine(leader({ taskTag: formatTaskTag({ pid: 31, startTime: 310 }, 'dd') }), { ...options, ownerPid: () => undefined, listeningSessions }))).toBe(true);
    expect(suspectIn(analyzeMachine(leader({ agent: { agent: 'claude-code', sessionId: 's-1' } }), { ...options, listeningSessions: new Map() }))).toBe(false); // listens on nothing
    expect(leftBySession(proc(530, 1, 'x'), 530)).toBe(false);
    expect(leftBySession(proc(530, 1, 'x', { taskTag: 'rt2.1.2.0.ab' }), 530)).toBe(true);
  });

  it('without a listening port, the same process is not a suspect; a listening service is not one either', () => {
    const scan = analyzeMachine(all, { ...options, listeningSessions: new Map([[510, 510]]) });
    expect(scan.suspected.map((g) => g.root.pid)).toEqual([]);
    expect(startedInASession(510, 510)).toBe(false);
    expect(startedInASession(500, 480)).toBe(true);
  });
});

describe('who holds a port', () => {
  const tag = formatTaskTag({ pid: 999, startTime: 5 }, 'cc');
  const certainLeak = proc(600, 1, 'node server.js', { taskTag: tag });
  const suspect = proc(610, 1, 'npx vite');
  const kept = proc(620, 1, 'postgres', { keepReason: 'env' });
  const bystander = proc(630, 40, 'python3 -m http.server');
  const shell = proc(40, 1, 'bash');
  const all = snap([init, shell, certainLeak, suspect, kept, bystander]);
  const on = (port: number, address = '127.0.0.1') => [{ protocol: 'tcp' as const, address, port }];

  it('names each holder for what the scan made of it: certain, suspected, kept, or not a leak (with its live parent); leaks first', () => {
    const scan = analyzeMachine(all, options);
    const listening = new Map([
      [600, on(3000)],
      [610, [...on(3000, '::1'), ...on(4000)]],
      [620, on(3000)],
      [630, on(3000)],
      [40, on(4000)],
    ]);
    const holders = portHolders(scan, all.processes, listening, 3000);
    expect(holders.map((h) => [h.kind, h.process.pid, h.listening.map((l) => l.address)])).toEqual([
      ['certain', 600, ['127.0.0.1']],
      ['suspected', 610, ['::1']],
      ['kept', 620, ['127.0.0.1']],
      ['not-a-leak', 630, ['127.0.0.1']],
    ]);
    expect(holders[0]!.group?.tag).toBe(tag);
    expect(holders[3]!.parent?.pid).toBe(40);
    expect(portHolders(scan, all.processes, listening, 5000)).toEqual([]);
  });
});

describe('analyzeMachine: what the follower journalled', () => {
  const options = { ageSeconds: () => 1, parseTag: parseTaskTag };
  it('a journalled leftover still running (the same identity) is a certain leak of its session, with what runs below it; a reused pid is not it; one in use or kept is not', () => {
    const server = proc(300, 1, 'scrubbed-server 630');
    const child = proc(301, 300, 'worker');
    const reused = proc(310, 1, 'sleep 1'); // pid 310 was journalled with another start time
    const kept = proc(320, 1, 'sleep 2', { keepReason: 'env' });
    const journalled = [
      {
        agent: 'claude-code',
        sessionId: 's-j',
        agentPid: 200,
        leaked: [
          { identity: identityKey(server), evidence: ['lineage'] },
          { identity: '310:1', evidence: ['agent'] },
          { identity: identityKey(kept), evidence: ['lineage'] },
        ],
      },
    ];
    const scan = analyzeMachine(snap([init, server, child, reused, kept]), { ...options, journalled });
    expect(scan.certain).toHaveLength(1);
    expect(scan.certain[0]!.session).toEqual({ agent: 'claude-code', sessionId: 's-j', agentPid: 200, over: 'journalled' });
    expect(scan.certain[0]!.processes.map((p) => [p.pid, p.evidence])).toEqual([[300, ['lineage']], [301, ['lineage']]]);
  });
});

describe('one name per leak: a leak of an agent session is shown under that session', () => {
  const claude = agentDefinitions();
  const agentPid = 4337;
  const hookTag = formatTaskTag({ pid: agentPid, startTime: 433 }, 'feed'); // the SessionStart hook's: owned by the agent
  const marked = (sessionId: string, withPid = true): Partial<ProcessInfo> => ({ agent: { agent: 'claude-code', sessionId, ...(withPid ? { agentPid } : {}) } });
  const opts = { ...options, agents: claude };
  const names = (scan: ReturnType<typeof analyzeMachine>): unknown[] =>
    scan.certain.map((g) => ({ session: g.session?.sessionId, tag: g.tag, pids: g.processes.map((p) => p.pid).sort((a, b) => a - b) }));

  it('a dev server a Bash-tool command backgrounded carries the hook\'s tag and the markers: named by the session, with its id and how it ended, never by the tag', () => {
    const devServer = proc(600, 1, 'python3 -m http.server 18125', { taskTag: hookTag, ...marked('s-1') });
    const scan = analyzeMachine(snap([init, devServer]), opts);
    expect(names(scan)).toEqual([{ session: 's-1', tag: undefined, pids: [600] }]);
    expect(scan.certain[0]!.session).toEqual({ agent: 'claude-code', sessionId: 's-1', agentPid, over: 'agent-gone' });
    expect(scan.certain[0]!.processes[0]!.evidence).toEqual(['tag', 'agent']);
  });

  it('a session with an MCP server (markers, no tag) and a dev server (the hook\'s tag): one group, not two', () => {
    const mcp = proc(610, 1, 'npm exec @playwright/mcp', marked('s-2', false));
    const devServer = proc(620, 1, 'python3 -m http.server 18126', { taskTag: hookTag, ...marked('s-2') });
    expect(names(analyzeMachine(snap([init, mcp, devServer]), opts))).toEqual([{ session: 's-2', tag: undefined, pids: [610, 620] }]);
  });

  it('after a SIGKILL: a shell (markers, re-parented) and its python3 child (the hook\'s tag) are one tree in one group', () => {
    const shell = proc(630, 1, 'bash -c python3 -m http.server', marked('s-3'));
    const python = proc(631, 630, 'python3 -m http.server 18127', { taskTag: hookTag, ...marked('s-3') });
    expect(names(analyzeMachine(snap([init, shell, python]), opts))).toEqual([{ session: 's-3', tag: undefined, pids: [630, 631] }]);
  });

  it('a run started inside a session that is over: its processes are the session\'s; a run outside any session keeps its tag as name', () => {
    const runTag = formatTaskTag({ pid: 7001, startTime: 70 }, 'cafe'); // `rtrack run` inside the session, gone
    const inSession = proc(640, 1, 'node server.js', { taskTag: runTag, ...marked('s-4') });
    const mcp = proc(641, 1, 'npm exec @playwright/mcp', marked('s-4', false));
    const alone = proc(650, 1, 'node other.js', { taskTag: goneTag });
    const scan = analyzeMachine(snap([init, inSession, mcp, alone]), opts);
    expect(names(scan).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { session: 's-4', tag: undefined, pids: [640, 641] },
      { session: undefined, tag: goneTag, pids: [650] },
    ]);
  });

  it('a tag owned by the agent of a session that cannot be told over still names the session (the agent, its owner, is gone)', () => {
    // an unreadable process somewhere names the agent pid: the session is unknown, the hook's tag says its agent is gone
    const devServer = proc(660, 1, 'python3 -m http.server 18128', { taskTag: hookTag, agent: { agent: 'claude-code', sessionId: 's-5', agentPid } });
    const other = proc(661, 1, 'node x.js', { agent: { agent: 'claude-code', sessionId: 's-5', agentPid: 999_999 } });
    const scan = analyzeMachine({ ...snap([init, devServer, other]), unreadable: [999_999] }, opts);
    expect(names(scan)).toEqual([{ session: 's-5', tag: undefined, pids: [660] }]);
    expect(scan.certain[0]!.session).toMatchObject({ agentPid, over: 'agent-gone' });
    expect(scan.certain[0]!.processes[0]!.evidence).toEqual(['tag']); // the session is not known to be over: no agent evidence
  });

  it('property: whatever tags and markers a forest carries, a certain process and its certain parent are in one group, and no group is named by a tag its processes\' agent owns', () => {
    const SESSIONS = ['a', 'b'];
    const tags = [hookTag, goneTag, formatTaskTag({ pid: 7002, startTime: 71 }, 'beef')];
    const node = fc.record({
      parent: fc.nat(),
      tag: fc.option(fc.constantFrom(...tags), { nil: undefined }),
      session: fc.option(fc.constantFrom(...SESSIONS), { nil: undefined }),
      withPid: fc.boolean(),
      scrubbed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 30 }), (nodes) => {
        // pid 1000 + i; a parent among the earlier ones or init
        const processes = [init, ...nodes.map((n, i) => {
          const ppid = i === 0 || n.parent % (i + 1) === i ? 1 : 1000 + (n.parent % i);
          const extra: Partial<ProcessInfo> = n.scrubbed ? {} : { ...(n.tag ? { taskTag: n.tag } : {}), ...(n.session ? marked(n.session, n.withPid) : {}) };
          return proc(1000 + i, ppid, `node helper-${i}.js`, extra);
        })];
        const scan = analyzeMachine(snap(processes), opts);
        const groupOf = new Map<number, number>();
        scan.certain.forEach((g, i) => g.processes.forEach((p) => groupOf.set(p.pid, i)));
        for (const p of processes) {
          if (!groupOf.has(p.pid) || !groupOf.has(p.ppid)) continue;
          expect(groupOf.get(p.pid)).toBe(groupOf.get(p.ppid));
        }
        for (const g of scan.certain) {
          if (g.tag === undefined) {
            expect(g.session).toBeDefined();
            continue;
          }
          // named by a tag: no process carrying it carries the markers of the agent that owns it
          const owner = parseTaskTag(g.tag)!.pid;
          expect(processes.some((p) => p.taskTag === g.tag && p.agent?.agentPid === owner)).toBe(false);
        }
        // every pid is in one group at most
        expect(groupOf.size).toBe(scan.certain.reduce((s, g) => s + g.processes.length, 0));
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  });
});
