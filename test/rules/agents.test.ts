import { describe, expect, it } from 'vitest';
import { agentDefinitions, agentMarkerOf, agentPidVerdict, agentVariables, BUILT_IN_AGENTS, isAgentProcess } from '../../src/rules/agents.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import { parseTaskTag } from '../../src/tracking/task-tag.js';
import { proc, snap } from '../helpers/snapshots.js';

const claude = BUILT_IN_AGENTS.find((a) => a.name === 'claude-code')!;
const codex = BUILT_IN_AGENTS.find((a) => a.name === 'codex')!;

describe('agent markers', () => {
  it.each([
    [{ CLAUDE_CODE_SESSION_ID: 's1', CLAUDE_PID: '23023' }, { agent: 'claude-code', sessionId: 's1', agentPid: 23023 }],
    [{ CLAUDE_CODE_SESSION_ID: 's1' }, { agent: 'claude-code', sessionId: 's1' }], // an MCP server: no CLAUDE_PID
    [{ CLAUDE_CODE_SESSION_ID: 's1', CLAUDE_PID: 'x' }, { agent: 'claude-code', sessionId: 's1' }],
    [{ CODEX_SESSION_ID: '01a2' }, { agent: 'codex', sessionId: '01a2' }],
    [{ CLAUDE_CODE_SESSION_ID: '' }, undefined],
    [{ GEMINI_CLI: '1' }, undefined], // no session id: not a marker
    [undefined, undefined],
  ])('%j → %j', (vars, marker) => {
    expect(agentMarkerOf(vars, BUILT_IN_AGENTS)).toEqual(marker);
  });

  it('reads only the variables it needs', () => {
    expect(agentVariables(BUILT_IN_AGENTS).sort()).toEqual(['CLAUDE_CODE_SESSION_ID', 'CLAUDE_PID', 'CODEX_SESSION_ID']);
  });

  it.each([
    ['claude -p fix the tests', claude, true],
    ['/home/u/.local/bin/claude', claude, true],
    ['node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js', claude, true],
    ['claude-monitor', claude, false],
    ['vim claude.md', claude, false],
    ['/home/u/.npm-global/lib/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/bin/codex exec', codex, true],
    ['node /home/u/.npm-global/lib/node_modules/@openai/codex/bin/codex.js exec', codex, false], // the wrapper is not the agent
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
    expect(defs.map((d) => d.name)).toEqual(['claude-code', 'codex']);
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
