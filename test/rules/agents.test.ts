import { describe, expect, it } from 'vitest';
import { agentDefinitions, agentMarkerOf, agentMarkersOf, agentPidVerdict, agentPresenceOf, agentVariables, BUILT_IN_AGENTS, isAgentProcess } from '../../src/rules/agents.js';
import { identityKey } from '../../src/rules/identity.js';
import { judgeLiveness, type RegisteredAgent } from '../../src/rules/liveness.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import type { ProcessInfo } from '../../src/types.js';
import { parseTaskTag } from '../../src/tracking/task-tag.js';
import { proc, snap } from '../helpers/snapshots.js';

const claude = BUILT_IN_AGENTS.find((a) => a.name === 'claude-code')!;
const codex = BUILT_IN_AGENTS.find((a) => a.name === 'codex')!;
const gemini = BUILT_IN_AGENTS.find((a) => a.name === 'gemini-cli')!;
const opencode = BUILT_IN_AGENTS.find((a) => a.name === 'opencode')!;

describe('agent markers', () => {
  it.each([
    [{ CLAUDE_CODE_SESSION_ID: 's1', CLAUDE_PID: '23023' }, { agent: 'claude-code', sessionId: 's1', agentPid: 23023 }],
    [{ CLAUDE_CODE_SESSION_ID: 's1' }, { agent: 'claude-code', sessionId: 's1' }], // an MCP server: no CLAUDE_PID
    [{ CLAUDE_CODE_SESSION_ID: 's1', CLAUDE_PID: 'x' }, { agent: 'claude-code', sessionId: 's1' }],
    [{ CODEX_SESSION_ID: '01a2' }, { agent: 'codex', sessionId: '01a2' }],
    [{ CLAUDE_CODE_SESSION_ID: '' }, undefined],
    [{ GEMINI_CLI: '1', GEMINI_CLI_NO_RELAUNCH: 'true' }, undefined], // no session id: not a marker
    // opencode 1.18.33's tools: its pid, no session id: the agent process is the session
    [{ AGENT: '1', OPENCODE: '1', OPENCODE_PID: '2935' }, { agent: 'opencode', sessionId: 'pid-2935', agentPid: 2935 }],
    // … and with rtrack's plugin, the session id it adds
    [{ OPENCODE_PID: '21560', OPENCODE_SESSION_ID: 'ses_dd79f24feffenMUqooTlemnDuX' }, { agent: 'opencode', sessionId: 'ses_dd79f24feffenMUqooTlemnDuX', agentPid: 21560 }],
    [{ OPENCODE_PID: '1' }, undefined], // pid 1 names no agent
    [{ OPENCODE: '1', AGENT: '1' }, undefined],
    [undefined, undefined],
  ])('%j → %j', (vars, marker) => {
    expect(agentMarkerOf(vars, BUILT_IN_AGENTS)).toEqual(marker);
  });

  it('GEMINI_CLI=1 says only "started by some Gemini CLI": a presence, not a session', () => {
    expect(agentPresenceOf({ GEMINI_CLI: '1' }, BUILT_IN_AGENTS)).toEqual(['gemini-cli']);
    expect(agentPresenceOf({ GEMINI_CLI: '' }, BUILT_IN_AGENTS)).toEqual([]);
    expect(agentPresenceOf({ CLAUDE_CODE_SESSION_ID: 's' }, BUILT_IN_AGENTS)).toEqual([]);
    expect(agentMarkersOf({ GEMINI_CLI: '1', CLAUDE_CODE_SESSION_ID: 's', CLAUDE_PID: '7' }, BUILT_IN_AGENTS)).toEqual([{ agent: 'claude-code', sessionId: 's', agentPid: 7 }]);
  });

  it('reads only the variables it needs', () => {
    expect(agentVariables(BUILT_IN_AGENTS).sort()).toEqual(['CLAUDE_CODE_SESSION_ID', 'CLAUDE_PID', 'CODEX_SESSION_ID', 'GEMINI_CLI', 'OPENCODE_PID', 'OPENCODE_SESSION_ID']);
  });

  it.each([
    ['claude -p fix the tests', claude, true],
    ['/home/u/.local/bin/claude', claude, true],
    ['node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js', claude, true],
    ['node /home/u/app/node_modules/@anthropic-ai/claude-agent-sdk/cli.js --output-format stream-json', claude, true], // an older Agent SDK's CLI
    ['node /home/u/app/node_modules/@anthropic-ai/claude-agent-sdk-tools/x.js', claude, false],
    ['claude-monitor', claude, false],
    ['vim claude.md', claude, false],
    ['/home/u/.npm-global/lib/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/bin/codex exec', codex, true],
    ['node /home/u/.npm-global/lib/node_modules/@openai/codex/bin/codex.js exec', codex, false], // the wrapper is not the agent
    // Gemini CLI 0.61.0: the launcher and the agent it relaunches (recorded), the shim, the package's script
    ['node /home/u/.npm-global/bin/gemini -p fix the tests', gemini, true],
    ['/usr/bin/node --max-old-space-size=8192 /home/u/.npm-global/bin/gemini -p fix the tests', gemini, true],
    ['gemini', gemini, true],
    ['node /home/u/.npm-global/lib/node_modules/@google/gemini-cli/dist/index.js -p x', gemini, true],
    ['vim gemini.md', gemini, false],
    ['node /srv/gemini-proxy.js', gemini, false],
    ['python3 gemini', gemini, false],
    // opencode 1.18.33: one native process (recorded), or its binary by path
    ['opencode run please run the command', opencode, true],
    ['opencode', opencode, true],
    ['/home/u/.npm-global/lib/node_modules/opencode-ai/bin/opencode.exe run x', opencode, true],
    ['opencode-lsp --stdio', opencode, false],
    ['node opencode.js', opencode, false],
  ])('%s is the agent process: %s', (command, agent, expected) => {
    expect(isAgentProcess(agent, command)).toBe(expected);
  });

  it('an agent pid: live when held by the agent that started first; over when gone, reused, or younger; unknown when unreadable', () => {
    const marked = { startTime: 1000 };
    expect(agentPidVerdict(claude, marked, { commandLine: 'claude', startTime: 900 })).toBe('live');
    expect(agentPidVerdict(claude, marked, undefined)).toBe('over');
    expect(agentPidVerdict(claude, marked, { commandLine: 'nginx: worker', startTime: 900 })).toBe('over');
    expect(agentPidVerdict(claude, marked, { commandLine: 'claude', startTime: 1100 })).toBe('over');
    expect(agentPidVerdict(claude, marked, 'unreadable')).toBe('unknown');
  });

  it('configured agents come first and override a built-in one of the same name', () => {
    const defs = agentDefinitions([{ name: 'claude-code', sessionVar: 'MY_ID', process: '^mine$' }]);
    expect(defs.map((d) => d.name)).toEqual(['claude-code', 'codex', 'gemini-cli', 'opencode']);
    expect(defs[0]!.sessionVar).toBe('MY_ID');
  });
});

describe('analyzeMachine with agent sessions', () => {
  const init = proc(1, 0, '/sbin/init');
  const options = { ageSeconds: () => 5, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS };
  const marker = (sessionId: string, agentPid?: number) => ({ agent: 'claude-code', sessionId, ...(agentPid ? { agentPid } : {}) });

  it('a session with no evidence either way (no agent pid, no live agent above) is not certain; the seed rule may suspect it', () => {
    const mcp = proc(50, 1, 'npm exec @playwright/mcp', { agent: marker('s') });
    const scan = analyzeMachine(snap([init, mcp]), options);
    expect(scan.certain).toEqual([]);
    expect(scan.suspected.map((g) => g.root.pid)).toEqual([50]);
  });

  it('a process under a live agent is that agent\'s, not a leak nor a suspect', () => {
    const agent = proc(40, 1, 'claude', { startTime: 10 });
    const mcp = proc(50, 40, 'npm exec @playwright/mcp', { agent: marker('s') });
    const devServer = proc(60, 1, 'python3 -m http.server', { agent: marker('s', 40) });
    const scan = analyzeMachine(snap([init, agent, mcp, devServer]), options);
    expect(scan.certain).toEqual([]);
    expect(scan.suspected).toEqual([]); // the agent itself, re-parented to init and named claude, is not suspected either
  });

  it('a marked process whose parent lives on (a shell that inherited the markers) is not a leak by its markers', () => {
    const terminal = proc(30, 1, 'xterm');
    const shell = proc(31, 30, 'bash', { agent: marker('old', 999) });
    const scan = analyzeMachine(snap([init, terminal, shell]), options);
    expect(scan.certain).toEqual([]);
  });
});

describe('Gemini CLI: sessions known through its hooks only; GEMINI_CLI=1 at most a suspect', () => {
  const init = proc(1, 0, '/sbin/init');
  const options = { ageSeconds: () => 5, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS };
  const launcher = (pid: number, startTime: number): ProcessInfo => proc(pid, 1, 'node /home/u/.npm-global/bin/gemini -p work', { startTime });
  const agentOf = (pid: number, parent: number, startTime: number): ProcessInfo => proc(pid, parent, 'node --max-old-space-size=8192 /home/u/.npm-global/bin/gemini -p work', { startTime });
  const server = (extra: Partial<ProcessInfo> = {}): ProcessInfo => proc(60, 1, 'python3 -m http.server 8000', { startTime: 600, startedBy: ['gemini-cli'], ...extra });
  const scanOf = (processes: ProcessInfo[], registered: RegisteredAgent[] = [], owners: Record<number, number> = {}) =>
    analyzeMachine(snap(processes), { ...options, liveness: judgeLiveness({ processes, agents: BUILT_IN_AGENTS, registered, ownerOf: (pid) => owners[pid] }) });
  const pids = (groups: { processes: { pid: number }[] }[]): number[] => groups.flatMap((g) => g.processes.map((p) => p.pid));

  it.each([
    ['no Gemini CLI alive', 'suspect', [], {}],
    ['a Gemini CLI of the same user that started before it', 'in use', [launcher(40, 100), agentOf(41, 40, 110)], { 40: 1000, 41: 1000, 60: 1000 }],
    ['a Gemini CLI whose user cannot be read, started before it', 'in use', [agentOf(41, 1, 110)], { 60: 1000 }],
    ['only a Gemini CLI started after it', 'suspect', [agentOf(41, 1, 700)], {}],
    ['only another user\'s Gemini CLI', 'suspect', [agentOf(41, 1, 110)], { 41: 1001, 60: 1000 }],
  ] as const)('a re-parented process carrying GEMINI_CLI=1, %s: %s, never certain', (_, expected, others, owners) => {
    const processes = [init, ...others, server(), proc(61, 60, 'node worker.js', { startTime: 610 })];
    const scan = scanOf(processes, [], owners);
    expect(pids(scan.certain)).toEqual([]);
    expect(pids(scan.suspected)).toEqual(expected === 'suspect' ? [60, 61] : []);
    const live = judgeLiveness({ processes, agents: BUILT_IN_AGENTS, ownerOf: (pid) => (owners as Record<number, number>)[pid] });
    expect(live.inUse.get(60) !== undefined).toBe(expected === 'in use');
    if (expected === 'in use') expect(live.inUse.get(60)).toMatch(/^may belong to the live gemini-cli agent \(pid 4[01]\): it carries GEMINI_CLI, which names no session$/);
  });

  it('a tool that inherited another task tag than the live Gemini CLI\'s is not its (a tool inherits its agent\'s environment)', () => {
    const processes = [init, agentOf(41, 1, 110), server({ taskTag: 'rt2.9.9.9.ab' })];
    expect(judgeLiveness({ processes, agents: BUILT_IN_AGENTS }).inUse.has(60)).toBe(false);
  });

  it('what the follower saw in a registered agent\'s tree is that session\'s: in use while it lives, a certain leak (lineage) once it exited, whatever it carries', () => {
    const agent = agentOf(41, 40, 110);
    const scrubbed = proc(70, 1, 'scrubbed-server', { startTime: 700 }); // no markers at all
    const registered = (identity: string): RegisteredAgent[] => [{ agent: 'gemini-cli', sessionId: 'g-1', pid: 41, identity, lineage: [identityKey(server()), identityKey(scrubbed)] }];
    const live = scanOf([init, launcher(40, 100), agent, server(), scrubbed], registered(identityKey(agent)));
    expect(pids(live.certain)).toEqual([]);
    expect(pids(live.suspected)).toEqual([]);
    const liveness = judgeLiveness({ processes: [init, agent, server(), scrubbed], agents: BUILT_IN_AGENTS, registered: registered(identityKey(agent)) });
    expect(liveness.inUse.get(70)).toBe("belongs to the live gemini-cli session g-1 (the follower saw it in its agent's tree)");
    // The agent exited (SIGKILL): its session is over, and what the follower saw is certain, even while another Gemini CLI of the user runs
    const other = agentOf(80, 1, 105);
    const over = scanOf([init, other, server(), scrubbed], registered(identityKey(agent)));
    expect(over.certain).toHaveLength(1);
    expect(over.certain[0]!.session).toEqual({ agent: 'gemini-cli', sessionId: 'g-1', over: 'agent-gone' });
    expect(over.certain[0]!.processes.map((p) => [p.pid, p.evidence])).toEqual([[60, ['lineage']], [70, ['lineage']]]);
  });
});

describe('opencode: sessions by its pid, or by the id rtrack\'s plugin adds', () => {
  const init = proc(1, 0, '/sbin/init');
  const options = { ageSeconds: () => 5, parseTag: parseTaskTag, agents: BUILT_IN_AGENTS };
  const marker = (agentPid: number, sessionId = `pid-${agentPid}`) => ({ agent: 'opencode', sessionId, agentPid });
  const certainOf = (processes: ProcessInfo[]) => analyzeMachine(snap(processes), options).certain.map((g) => [g.session?.sessionId, g.processes.map((p) => p.pid)]);

  it('a server a tool backgrounded is a certain leak once OPENCODE_PID is gone or held by a younger process; not while its opencode runs, nor while an older process under another name holds it (a renamed agent may be it)', () => {
    const server = proc(60, 1, 'sleep 600', { startTime: 600, agent: marker(40) });
    expect(certainOf([init, server])).toEqual([['pid-40', [60]]]);
    expect(certainOf([init, proc(40, 1, 'opencode run go', { startTime: 100 }), server])).toEqual([]);
    expect(certainOf([init, proc(40, 1, 'opencode run go', { startTime: 700 }), server])).toEqual([['pid-40', [60]]]); // a reused pid
    expect(certainOf([init, proc(40, 1, 'nginx: worker', { startTime: 100 }), server])).toEqual([]); // older than the server: cannot be told from the agent
  });

  it('a resumed session (`opencode run --continue`: the same id, a new process) keeps what the first process left while it runs', () => {
    const server = proc(60, 1, 'sleep 600', { startTime: 600, agent: marker(40, 'ses_A') });
    const resumed = proc(50, 1, 'opencode run --continue again', { startTime: 800 });
    const tool = proc(51, 50, 'bash -c npm test', { startTime: 810, agent: marker(50, 'ses_A') });
    expect(certainOf([init, server, resumed, tool])).toEqual([]);
    expect(certainOf([init, server, { ...tool, ppid: 1 }])).toEqual([['ses_A', [60, 51]]]); // oldest first
  });
});
