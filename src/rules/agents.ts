// Agent sessions that rtrack did not start: the markers AI-agent CLIs put in the environment of
// every process they start, and when such a session is over. Pure: plain data in, verdicts out.
//
// Verified on Linux (recorded in shared/agents/ of the project; see the README's table):
//   Claude Code 2.1.332  every child: CLAUDE_CODE_SESSION_ID=<uuid>; Bash-tool and hook commands
//                        also CLAUDE_PID=<pid of the claude process>; MCP servers do not (they are
//                        the live agent's children). The claude process itself carries neither.
//   Codex CLI 0.171.0    tool processes: CODEX_SESSION_ID (= CODEX_THREAD_ID), no agent pid. The
//                        native `codex` binary holds $CODEX_HOME/sessions/…/rollout-<time>-<session
//                        id>.jsonl open for the whole session.
//   Gemini CLI 0.61.0    tool processes: GEMINI_CLI=1 only — no session id, no agent pid. Its sessions
//                        are known through its hooks only (a registration names the agent process, the
//                        hook's parent: the relaunched `node --max-old-space-size=… …/bin/gemini`, whose
//                        parent is the launcher `node …/bin/gemini`). GEMINI_CLI=1 alone says "started by
//                        some Gemini CLI": never certain, at most a suspect (liveness.ts, machine-leaks.ts).
//   opencode 1.18.33     every child (tools, MCP servers): OPENCODE_PID=<the opencode process>, OPENCODE=1,
//                        AGENT=1, no session id; the agent is one native process `opencode …`. Without a
//                        session id the agent process is the session (`pid-<pid>`); rtrack's plugin adds
//                        OPENCODE_SESSION_ID=<session id> to its tool commands (shell.env), so that a
//                        resumed session (`opencode run --continue`: the same id, a new process) is one.
// Cursor's agent was not verified.

/** How to recognise one agent's sessions and the agent process itself. */
export interface AgentDefinition {
  /** A short name: `claude-code`, `codex`, or a user's own. */
  name: string;
  /**
   * The environment variable that carries the session id in every process the agent starts. None for
   * an agent whose children carry no session id (Gemini CLI): its sessions are known through its
   * hooks' registrations only.
   */
  sessionVar?: string;
  /** The variable that carries the agent's own pid, where the agent sets one (Claude Code's CLAUDE_PID). */
  pidVar?: string;
  /**
   * A process that carries the agent pid (`pidVar`) but no session id belongs to the session
   * `pid-<agent pid>`: the agent process is the session (opencode, whose children carry
   * OPENCODE_PID and, without rtrack's plugin, no session id).
   */
  sessionByPid?: boolean;
  /**
   * A variable the agent sets in what it starts that names no session and no pid (Gemini CLI's
   * GEMINI_CLI=1): it says only "started by some process of this agent". Never evidence that a
   * session is over; a process carrying it is in use while one of the user's live processes of the
   * agent could own it, and a suspect otherwise (see liveness.ts).
   */
  presenceVar?: string;
  /** Matches the agent process's command line. */
  process: RegExp;
  /** A file the live agent holds open for the whole session, named with the session id (Codex's rollout file). */
  sessionFile?: (sessionId: string) => RegExp;
}

import type { AgentConfig, AgentMarker, ProcessInfo } from '../types.js';

/** Every session marker a process carries (agents nest: a Codex run inside a Claude Code session carries both). */
export function markersOf(p: ProcessInfo): readonly AgentMarker[] {
  return p.agentSessions ?? (p.agent ? [p.agent] : []);
}

/** The variable rtrack's opencode plugin adds to opencode's tool commands (its `shell.env` hook): the session id. */
export const OPENCODE_SESSION_VAR = 'OPENCODE_SESSION_ID';

/** The session of an agent process whose children carry its pid but no session id (`sessionByPid`). */
export const pidSessionId = (agentPid: number): string => `pid-${agentPid}`;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The agents rtrack knows by name, each also by its command's own name (`claude`, `gemini`). */
export const AGENT_NAMES = ['claude-code', 'gemini-cli', 'codex', 'opencode'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
export const AGENT_ALIASES: Readonly<Record<string, AgentName>> = { claude: 'claude-code', gemini: 'gemini-cli', codex: 'codex', opencode: 'opencode' };

/** An agent's canonical name from its name or its command's name (`claude` → `claude-code`); undefined for one rtrack does not know. */
export function canonicalAgentName(name: string): AgentName | undefined {
  return (AGENT_NAMES as readonly string[]).includes(name) ? (name as AgentName) : AGENT_ALIASES[name];
}

/** `claude-code (claude)`: how the help and messages name an agent. */
export function agentWithAlias(agent: AgentName): string {
  const alias = Object.entries(AGENT_ALIASES).find(([a, name]) => name === agent && a !== agent)?.[0];
  return alias ? `${agent} (${alias})` : agent;
}

/** The agents rtrack knows without any setup. */
export const BUILT_IN_AGENTS: readonly AgentDefinition[] = [
  {
    name: 'claude-code',
    sessionVar: 'CLAUDE_CODE_SESSION_ID',
    pidVar: 'CLAUDE_PID',
    // `claude …` (the installed binary or its npm shim), or node running @anthropic-ai/claude-code
    // or the Agent SDK's bundled CLI (`…/@anthropic-ai/claude-agent-sdk/cli.js`, older SDKs).
    process: /^(\S*\/)?claude(\s|$)|@anthropic-ai\/claude-(code|agent-sdk)\//,
  },
  {
    name: 'codex',
    sessionVar: 'CODEX_SESSION_ID',
    // The native agent (vendor/…/bin/codex, or a release binary not renamed:
    // codex-x86_64-unknown-linux-musl), not its node wrapper (bin/codex.js). Its liveness does not
    // rest on this name: whatever holds the session's rollout file open is its agent.
    process: /^(\S*\/)?codex(-[A-Za-z0-9_.]+)?(\s|$)/,
    sessionFile: (id) => new RegExp(`/sessions/.*/rollout-[^/]*${escape(id)}\\.jsonl( \\(deleted\\))?$`),
  },
  {
    name: 'gemini-cli',
    presenceVar: 'GEMINI_CLI',
    // The launcher `node …/bin/gemini …` and the agent it relaunches, `node --max-old-space-size=…
    // …/bin/gemini …` (the shim `gemini` run by its `#!/usr/bin/env node` line), or node running the
    // package's own script (…/@google/gemini-cli/…).
    process: /^(\S*\/)?(node(js)?(\s+-\S+)*\s+(\S*\/)?)?gemini(\s|$)|^(\S*\/)?node(js)?\s.*@google\/gemini-cli\//,
  },
  {
    name: 'opencode',
    sessionVar: OPENCODE_SESSION_VAR,
    pidVar: 'OPENCODE_PID',
    sessionByPid: true,
    // One native process: `opencode …`, or the installed binary `…/opencode-ai/bin/opencode.exe …`.
    process: /^(\S*\/)?opencode(\.exe)?(\s|$)/,
  },
];

/** The environment variables to read for these agents. */
export function agentVariables(agents: readonly AgentDefinition[]): string[] {
  const names = new Set<string>();
  for (const a of agents) {
    if (a.sessionVar) names.add(a.sessionVar);
    if (a.pidVar) names.add(a.pidVar);
    if (a.presenceVar) names.add(a.presenceVar);
  }
  return [...names];
}

/** The first agent whose session variable is set (non-empty) in these variables. */
export function agentMarkerOf(vars: Readonly<Record<string, string>> | undefined, agents: readonly AgentDefinition[]): AgentMarker | undefined {
  return agentMarkersOf(vars, agents)[0];
}

/**
 * Every agent whose session variable is set (non-empty) in these variables, in the agents' order.
 * Agents nest: a Codex run inside a Claude Code session passes Claude Code's markers on beside its own.
 */
export function agentMarkersOf(vars: Readonly<Record<string, string>> | undefined, agents: readonly AgentDefinition[]): AgentMarker[] {
  const markers: AgentMarker[] = [];
  if (!vars) return markers;
  for (const a of agents) {
    const pid = a.pidVar && vars[a.pidVar] ? Number(vars[a.pidVar]) : Number.NaN;
    const agentPid = Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
    const sessionId = (a.sessionVar ? vars[a.sessionVar] : undefined) || (a.sessionByPid && agentPid !== undefined ? pidSessionId(agentPid) : undefined);
    if (!sessionId) continue;
    const marker: AgentMarker = { agent: a.name, sessionId };
    if (agentPid !== undefined) marker.agentPid = agentPid;
    markers.push(marker);
  }
  return markers;
}

/**
 * The agents whose presence variable (`presenceVar`: Gemini CLI's GEMINI_CLI) is set (non-empty) in
 * these variables: "started by some process of this agent", no session named.
 */
export function agentPresenceOf(vars: Readonly<Record<string, string>> | undefined, agents: readonly AgentDefinition[]): string[] {
  if (!vars) return [];
  return agents.filter((a) => a.presenceVar !== undefined && vars[a.presenceVar]).map((a) => a.name);
}

/** Whether a command line is this agent's own process. */
export function isAgentProcess(agent: AgentDefinition, commandLine: string): boolean {
  return agent.process.test(commandLine);
}

/**
 * What a marked process's own `agentPid` says about its session, from the process now holding that
 * pid: `live` (it is the agent — its command matches — and started no later than the marked
 * process), `over` (no such process, or the pid was reused by another or a younger process), or
 * `unknown` (the pid exists but cannot be read).
 */
export function agentPidVerdict(
  agent: AgentDefinition,
  marked: { startTime: number },
  holder: { commandLine: string; startTime: number } | 'unreadable' | undefined,
): 'live' | 'over' | 'unknown' {
  if (holder === 'unreadable') return 'unknown';
  if (!holder) return 'over';
  return isAgentProcess(agent, holder.commandLine) && holder.startTime <= marked.startTime ? 'live' : 'over';
}

/** The agents to look for: the configured ones (compiled), then the built-in ones not overridden by name. */
export function agentDefinitions(configured: readonly AgentConfig[] = []): AgentDefinition[] {
  const own: AgentDefinition[] = configured.map((a) => ({ name: a.name, sessionVar: a.sessionVar, ...(a.pidVar ? { pidVar: a.pidVar } : {}), process: new RegExp(a.process) }));
  return [...own, ...BUILT_IN_AGENTS.filter((b) => !own.some((a) => a.name === b.name))];
}
