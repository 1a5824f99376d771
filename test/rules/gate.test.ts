// The gate before every signal, and one meaning of "session over": tables of topologies, and a
// property over generated process tables — live and dead agents, resumed session ids, hosts,
// reused pids, kept processes, rtrack's own processes — asserting the gate's invariant: no process
// that is, holds, hosts or belongs to a live session, or is rtrack's, or is kept, is ever allowed a
// signal; and whatever scan calls a certain leak the gate allows (they never disagree).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_AGENTS } from '../../src/rules/agents.js';
import { ownProcesses, refusalOf, rtrackDaemonOf, type GateView } from '../../src/rules/gate.js';
import { byPid, identityKey, parentOf } from '../../src/rules/identity.js';
import { keptPids } from '../../src/rules/keep.js';
import { judgeLiveness, type RegisteredAgent } from '../../src/rules/liveness.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import { isReparented } from '../../src/rules/orphans.js';
import { processTree, subtree } from '../../src/rules/tree.js';
import { formatTaskTag, parseTaskTag } from '../../src/tracking/task-tag.js';
import type { AgentMarker, ProcessInfo } from '../../src/types.js';
import { proc, snap } from '../helpers/snapshots.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261129 });

const claude = (sessionId: string, agentPid?: number): AgentMarker => ({ agent: 'claude-code', sessionId, ...(agentPid ? { agentPid } : {}) });
const init = proc(1, 0, '/sbin/init');

function view(processes: ProcessInfo[], options: { self?: number; registered?: RegisteredAgent[]; lock?: number } = {}): GateView {
  const live = byPid(processes);
  const tree = processTree(processes);
  const liveness = judgeLiveness({ processes, agents: BUILT_IN_AGENTS, registered: options.registered });
  const extra = options.lock ? [{ pid: options.lock, reason: "the holder of rtrack's follower lock" }] : [];
  return { live, tree, liveness, kept: keptPids(tree, processes), own: ownProcesses(tree, live, options.self, extra) };
}
const refused = (v: GateView, pid: number): string | undefined => refusalOf(pid, v)?.result;

describe('the gate (topologies)', () => {
  it('a resumed session: the ended agent\'s dev server belongs to the live session while the resumed agent runs', () => {
    const devA = proc(50, 1, 'python3 -m http.server', { agent: claude('S', 40) }); // agent 40 is gone
    const a2 = proc(60, 1, 'claude -p --continue');
    const toolA2 = proc(61, 60, 'bash -c npm test', { agent: claude('S', 60) });
    const v = view([init, devA, a2, toolA2]);
    expect(refusalOf(50, v)).toEqual({ result: 'in-use', reason: 'belongs to the live claude-code session S' });
    expect(refused(v, 60)).toBe('in-use');
    expect(refused(v, 61)).toBe('in-use');
    // once the resumed agent is gone too, the session is over: nothing of it is in use
    const over = view([init, devA, { ...toolA2, ppid: 1 }]);
    expect(refused(over, 50)).toBeUndefined();
    expect(refused(over, 61)).toBeUndefined();
  });

  it('a hook registration keeps a session live even when none of its processes names the agent', () => {
    const devA = proc(50, 1, 'python3 -m http.server', { agent: claude('S', 40) });
    const gemini = proc(70, 1, 'node --max-old-space-size=4096 /usr/lib/node_modules/@google/gemini-cli/bin/gemini -p x');
    const registered = [{ agent: 'claude-code', sessionId: 'S', pid: 70, identity: identityKey(gemini) }];
    expect(refused(view([init, devA, gemini], { registered }), 50)).toBe('in-use');
    expect(refused(view([init, devA, gemini], { registered: [{ ...registered[0]!, identity: '70:1' }] }), 50)).toBeUndefined(); // a reused pid is not it
  });

  it('a host an ended session started (tmux), with a live agent a person runs inside it: the host, its shell, the agent and its tools are in use', () => {
    const tmux = proc(50, 1, 'tmux new-session -d -s work', { agent: claude('A', 40) });
    const shell = proc(51, 50, '-bash', { agent: claude('A', 40) });
    const c = proc(52, 51, 'claude', { agent: claude('A', 40) });
    const mcp = proc(53, 52, 'npm exec @playwright/mcp', { agent: claude('C') });
    const devC = proc(54, 1, 'python3 -m http.server 8000', { agent: claude('C', 52) });
    const otherLeakOfA = proc(55, 1, 'node dev-server.js', { agent: claude('A', 40) });
    const v = view([init, tmux, shell, c, mcp, devC, otherLeakOfA]);
    expect(refusalOf(50, v)).toEqual({ result: 'in-use', reason: 'hosts a live claude-code agent (pid 52)' });
    expect(refused(v, 51)).toBe('in-use');
    expect(refusalOf(52, v)).toEqual({ result: 'in-use', reason: 'a live claude-code agent' });
    expect(refused(v, 53)).toBe('in-use');
    expect(refused(v, 54)).toBe('in-use');
    expect(refused(v, 55)).toBeUndefined(); // the old session's own leak
    const scan = analyzeMachine(snap([init, tmux, shell, c, mcp, devC, otherLeakOfA]), { ageSeconds: () => 1, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS });
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).toEqual([55]);
  });

  it('a sub-agent an ended session started in the background is that session\'s leak, with its tree — when the follower saw it born in that session\'s tree', () => {
    const sub = proc(50, 1, 'claude -p review', { agent: claude('A', 40) });
    const subMcp = proc(51, 50, 'npm exec @playwright/mcp', { agent: claude('A-sub') });
    const subDev = proc(52, 1, 'python3 -m http.server', { agent: claude('A-sub', 50) });
    // the ended agent's record, its lineage holding the sub-agent (pid 40 is gone: A is over)
    const registered = [{ agent: 'claude-code', sessionId: 'A', pid: 40, identity: '40:400', lineage: [identityKey(sub)] }];
    const v = view([init, sub, subMcp, subDev], { registered });
    for (const pid of [50, 51, 52]) expect(refused(v, pid)).toBeUndefined();
    expect(v.liveness.session('claude-code', 'A-sub')).toMatchObject({ status: 'over', over: 'agent-leaked' });
    // markers alone do not tell it from an agent a person started in a host the session left: live
    const markersOnly = view([init, sub, subMcp, subDev]);
    for (const pid of [50, 51, 52]) expect(refused(markersOnly, pid)).toBe('in-use');
  });

  it('rtrack\'s own: itself, its ancestors, a follower or watch (by marker or command line), the lock holder', () => {
    const sshd = proc(10, 1, 'sshd: user');
    const shell = proc(11, 10, '-bash');
    const me = proc(12, 11, 'node /opt/rtrack/bin/rtrack.js scan --reap');
    const follower = proc(20, 1, 'node --max-opt=1 /opt/rtrack/dist/cli/follower-main.cjs', { agent: claude('A', 40) });
    const marked = proc(21, 1, 'node something', { trackerDaemon: 'follower' });
    const watch = proc(22, 1, 'node /usr/lib/node_modules/rtrack/bin/rtrack.js watch --reap', { agent: claude('A', 40) });
    const npx = proc(23, 1, 'npm exec rtrack watch');
    const lockHolder = proc(24, 1, 'node renamed');
    const v = view([init, sshd, shell, me, follower, marked, watch, npx, lockHolder], { self: 12, lock: 24 });
    expect(refusalOf(12, v)).toEqual({ result: 'refused', reason: 'rtrack itself' });
    expect(refusalOf(11, v)).toEqual({ result: 'refused', reason: 'an ancestor of rtrack (pid 12)' });
    for (const pid of [20, 21, 22, 23, 24]) expect(refused(v, pid)).toBe('refused');
    expect([follower, watch, npx].map(rtrackDaemonOf)).toEqual(['follower', 'watch', 'watch']);
    expect(rtrackDaemonOf(proc(30, 1, 'vim notes-about-rtrack.md'))).toBeUndefined();
  });

  it('kept is judged on the table as it is now: a process that exec\'d into a kept command is kept', () => {
    const forked = proc(50, 1, 'bash -c sleep 405 &');
    const execd = { ...forked, command: 'sleep 405', commandLine: 'sleep 405', keepReason: 'pattern' as const };
    expect(refused(view([init, forked]), 50)).toBeUndefined();
    expect(refusalOf(50, view([init, execd]))).toEqual({ result: 'kept', reason: 'kept (pattern)' });
  });

  it('a Codex session whose rollout file a process holds, whatever it is called, is live', () => {
    const tool = proc(50, 1, 'node dev-server.js', { agent: { agent: 'codex', sessionId: 'X' } });
    const wrapper = proc(60, 1, 'node /opt/agents/runner.js');
    const judged = (holder: number | null | undefined): string | undefined =>
      judgeLiveness({ processes: [init, tool, wrapper], agents: BUILT_IN_AGENTS, sessionHolder: () => holder }).session('codex', 'X')?.status;
    expect(judged(60)).toBe('live');
    expect(judged(null)).toBe('over');
    expect(judged(undefined)).toBe('unknown'); // open files that could not be read: never over
  });

  it('a process carrying two agents\' markers (Codex inside a Claude Code session) is in use while either session is live', () => {
    const codexAgent = proc(60, 1, '/usr/lib/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/bin/codex exec');
    const tool = proc(61, 1, 'node dev-server.js', { agent: claude('A', 40), agentSessions: [claude('A', 40), { agent: 'codex', sessionId: 'X' }] });
    const processes = [init, codexAgent, tool];
    const live = judgeLiveness({ processes, agents: BUILT_IN_AGENTS, sessionHolder: () => 60 });
    expect(live.inUse.get(61)).toBe('belongs to the live codex session X');
  });
});

/** A generated table: a forest under init with agents, markers, registrations, kept and own processes. */
interface Generated {
  processes: ProcessInfo[];
  registered: RegisteredAgent[];
  self: number;
}

const table = fc
  .array(
    fc.record({
      parent: fc.nat(), // index of an earlier process (mod), or init
      orphan: fc.boolean(),
      reusedParent: fc.boolean(),
      kind: fc.constantFrom('agent', 'plain', 'plain', 'plain', 'host'),
      marker: fc.option(fc.record({ session: fc.constantFrom('S1', 'S2', 'S3'), agentRef: fc.option(fc.nat(), { nil: undefined }) }), { nil: undefined }),
      keep: fc.nat({ max: 9 }).map((n) => n < 2),
      daemon: fc.nat({ max: 19 }).map((n) => n < 2),
      registered: fc.option(fc.record({ session: fc.constantFrom('S1', 'S2', 'S3'), stale: fc.boolean() }), { nil: undefined }),
      tagged: fc.boolean(),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .chain((rows) => fc.nat({ max: rows.length - 1 }).map((self) => ({ rows, self })))
  .map(({ rows, self }): Generated => {
    const processes: ProcessInfo[] = [init];
    const registered: RegisteredAgent[] = [];
    const goneTag = formatTaskTag({ pid: 9999, startTime: 1 }, 'ab');
    rows.forEach((r, i) => {
      const pid = 100 + i;
      const earlier = processes.length > 1 ? processes[1 + (r.parent % (processes.length - 1))]! : init;
      const ppid = r.orphan || i === 0 ? 1 : r.reusedParent ? 100 + rows.length + i : earlier.pid; // a parent pid no process holds
      const command = r.kind === 'agent' ? 'claude -p work' : r.kind === 'host' ? 'tmux new-session -d' : `node worker-${i}.js`;
      const p = proc(pid, ppid, command, { startTime: pid * 10 });
      if (r.marker) {
        const agentPid = r.marker.agentRef === undefined ? undefined : 100 + (r.marker.agentRef % (rows.length + 5)); // some name no process
        p.agent = claude(r.marker.session, agentPid);
      }
      if (r.keep) p.keepReason = 'env';
      if (r.daemon) p.trackerDaemon = 'follower';
      if (r.tagged) p.taskTag = goneTag;
      if (r.registered) registered.push({ agent: 'claude-code', sessionId: r.registered.session, pid, identity: r.registered.stale ? `${pid}:1` : identityKey(p) });
      processes.push(p);
    });
    return { processes, registered, self: 100 + self };
  });

describe('the gate (property)', () => {
  it('never allows a signal to a live agent, what runs below or hosts one, a live session\'s process, rtrack\'s own, or a kept one — and does not refuse a plain bystander', () => {
    fc.assert(
      fc.property(table, ({ processes, registered, self }) => {
        const v = view(processes, { self, registered });
        const live = byPid(processes);
        const tree = processTree(processes);
        const mustRefuse = new Set<number>();
        const below = (p: ProcessInfo): ProcessInfo[] => subtree(tree, p);
        const above = (p: ProcessInfo): ProcessInfo[] => {
          const out: ProcessInfo[] = [];
          for (let q = parentOf(p, live); q && q.pid > 1; q = parentOf(q, live)) out.push(q);
          return out;
        };
        const registeredAlive = registered.filter((r) => live.has(r.pid) && identityKey(live.get(r.pid)!) === r.identity);
        // An agent process that was not re-parented cannot have been left behind: it is surely live.
        const surelyLive = processes.filter((p) => (/^claude /.test(p.command) || registeredAlive.some((r) => r.pid === p.pid)) && !isReparented(p, live));
        for (const a of surelyLive) for (const q of [...below(a), ...above(a)]) mustRefuse.add(q.pid);
        // Sessions with a surely live agent: named by a marker (the agent started no later), or registered.
        const liveSessions = new Set<string>();
        for (const p of processes) {
          const pid = p.agent?.agentPid;
          const holder = pid === undefined ? undefined : live.get(pid);
          if (holder && surelyLive.includes(holder) && holder.startTime <= p.startTime && /^claude /.test(holder.command)) liveSessions.add(p.agent!.sessionId);
        }
        for (const r of registeredAlive) if (surelyLive.some((a) => a.pid === r.pid)) liveSessions.add(r.sessionId);
        for (const p of processes) if (p.agent && liveSessions.has(p.agent.sessionId)) for (const q of below(p)) mustRefuse.add(q.pid);
        // rtrack's own and kept
        const me = live.get(self)!;
        for (const q of [me, ...above(me)]) mustRefuse.add(q.pid);
        for (const p of processes) if (p.trackerDaemon || p.keepReason) for (const q of below(p)) mustRefuse.add(q.pid);
        // A terminal multiplexer's server, and what runs in it carrying only the server's markers and tag (shared evidence).
        const hostOf = (p: ProcessInfo): ProcessInfo | undefined => [p, ...above(p)].find((q) => /^tmux /.test(q.command));
        for (const p of processes) {
          const host = hostOf(p);
          if (host && (p === host || ((p.taskTag ?? '') === (host.taskTag ?? '') && (p.agent === undefined || (host.agent?.sessionId === p.agent.sessionId && host.agent.agentPid === p.agent.agentPid))))) mustRefuse.add(p.pid);
        }
        for (const pid of mustRefuse) expect(refusalOf(pid, v), `pid ${pid} must be refused`).toBeDefined();

        // A bystander — no markers, not kept, not own, no agent or registration above or below — is not refused.
        const agentish = (q: ProcessInfo): boolean => /^claude /.test(q.command) || registered.some((r) => r.pid === q.pid) || q.agent !== undefined || q.trackerDaemon !== undefined || q.keepReason !== undefined;
        for (const p of processes) {
          if (p.pid <= 1 || p.pid === self || [...below(p), ...above(p)].some(agentish) || above(me).includes(p) || hostOf(p)) continue;
          expect(refusalOf(p.pid, v), `bystander ${p.pid}`).toBeUndefined();
        }

        // scan and the gate never disagree: what scan calls certain, the gate allows
        // (what the follower journalled as an ended session's leftovers included: any process may be named there)
        const journalled = [{ agent: 'claude-code', sessionId: 'J', leaked: processes.filter((p) => p.pid % 3 === 0).map((p) => ({ identity: identityKey(p), evidence: ['lineage'] })) }];
        const scan = analyzeMachine(snap(processes), { ageSeconds: () => 1, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS, liveness: v.liveness, exclude: new Set(v.own.keys()), journalled });
        // The look ties what the follower journalled to its session whatever it carries (judgeLook's `tied`).
        const tied: GateView = { ...v, tied: new Set(processes.filter((p) => p.pid % 3 === 0).map((p) => p.pid)) };
        for (const g of scan.certain) for (const p of g.processes) expect(refusalOf(p.pid, tied), `certain ${p.pid}`).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe('Gemini CLI: GEMINI_CLI=1 alone (property)', () => {
  // Gemini CLI agents (some re-parented, of two users), processes carrying only GEMINI_CLI=1 (some
  // with a tag of their own), and registrations whose lineage names some of them.
  const geminiTable = fc.array(
    fc.record({
      kind: fc.constantFrom('gemini', 'present', 'present', 'plain'),
      orphan: fc.boolean(),
      parent: fc.nat(),
      user: fc.constantFrom(1000, 1001),
      tagged: fc.nat({ max: 4 }).map((n) => n === 0),
      registered: fc.option(fc.record({ alive: fc.boolean(), lineage: fc.array(fc.nat(), { maxLength: 4 }) }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 30 },
  );

  it('is never certain; while a Gemini CLI of its user started before it, with its tag, runs (and no ended session\'s lineage names it) it is in use — refused by the gate, not reported by scan; what scan calls certain the gate allows', () => {
    fc.assert(
      fc.property(geminiTable, (rows) => {
        const processes: ProcessInfo[] = [init];
        const owners: Record<number, number> = {};
        const registered: RegisteredAgent[] = [];
        rows.forEach((r, i) => {
          const pid = 100 + i;
          const earlier = processes.length > 1 ? processes[1 + (r.parent % (processes.length - 1))]! : init;
          const command = r.kind === 'gemini' ? 'node --max-old-space-size=8192 /usr/lib/node_modules/@google/gemini-cli/bin/gemini -p x' : `python3 -m http.server ${i}`;
          const p = proc(pid, r.orphan || i === 0 ? 1 : earlier.pid, command, { startTime: pid * 10 });
          if (r.kind === 'present') p.startedBy = ['gemini-cli'];
          if (r.tagged) p.taskTag = formatTaskTag({ pid: 9999, startTime: 1 }, 'cd');
          owners[pid] = r.user;
          processes.push(p);
        });
        rows.forEach((r, i) => {
          if (!r.registered || rows[i]!.kind !== 'gemini') return;
          const p = processes[1 + i]!;
          const lineage = r.registered.lineage.map((n) => identityKey(processes[1 + (n % rows.length)]!));
          registered.push({ agent: 'gemini-cli', sessionId: `g${i}`, pid: p.pid, identity: r.registered.alive ? identityKey(p) : `${p.pid}:1`, lineage });
        });
        const liveness = judgeLiveness({ processes, agents: BUILT_IN_AGENTS, registered, ownerOf: (pid) => owners[pid] });
        const live = byPid(processes);
        const tree = processTree(processes);
        const v: GateView = { live, tree, liveness, kept: keptPids(tree, processes), own: ownProcesses(tree, live) };
        const scan = analyzeMachine(snap(processes), { ageSeconds: () => 1, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS, liveness, exclude: new Set(v.own.keys()) });
        const certain = new Set(scan.certain.flatMap((g) => g.processes.map((p) => p.pid)));
        const reported = new Set([...certain, ...scan.suspected.flatMap((g) => g.processes.map((p) => p.pid))]);
        const inLineage = new Set(registered.flatMap((r) => r.lineage ?? []));
        const geminis = processes.filter((p) => p.command.includes('/bin/gemini '));
        for (const p of processes) {
          if (!p.startedBy) continue;
          const attributed = inLineage.has(identityKey(p)) || p.taskTag !== undefined || subtreeAbove(p, live).some((q) => inLineage.has(identityKey(q)) || q.taskTag !== undefined);
          if (!attributed) expect(certain.has(p.pid), `${p.pid} certain on GEMINI_CLI=1 alone`).toBe(false);
          const couldOwn = geminis.some((g) => g.startTime <= p.startTime && owners[g.pid] === owners[p.pid] && (g.taskTag ?? '') === (p.taskTag ?? ''));
          if (couldOwn && !inLineage.has(identityKey(p))) {
            expect(refusalOf(p.pid, v), `${p.pid} may be a live Gemini CLI's`).toBeDefined();
            expect(reported.has(p.pid), `${p.pid} reported`).toBe(false);
          }
        }
        for (const pid of certain) expect(refusalOf(pid, v), `certain ${pid}`).toBeUndefined();
      }),
      RUNS,
    );
  });
});

/** Its ancestors in the table. */
function subtreeAbove(p: ProcessInfo, live: Map<number, ProcessInfo>): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (let q = parentOf(p, live); q && q.pid > 1; q = parentOf(q, live)) out.push(q);
  return out;
}
