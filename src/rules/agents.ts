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
// Not built in, because their children carry no session marker: Gemini CLI 0.61.0 sets only
// GEMINI_CLI=1 (recorded), opencode's bash tool passes its own environment unchanged
// (packages/opencode/src/tool/bash.ts spawns with `{ ...process.env }`), and Cursor's agent was not
// verified. Their sessions are attributed through the hooks or a follower, not markers.

/** How to recognise one agent's sessions and the agent process itself. */
export interface AgentDefinition {
  /** A short name: `claude-code`, `codex`, or a user's own. */
  name: string;
  /** The environment variable that carries the session id in every process the agent starts. */
  sessionVar: string;
  /** The variable that carries the agent's own pid, where the agent sets one (Claude Code's CLAUDE_PID). */
  pidVar?: string;
  /** Matches the agent process's command line. */
  process: RegExp;
  /** A file the live agent holds open for the whole session, named with the session id (Codex's rollout file). */
  sessionFile?: (sessionId: string) => RegExp;
}

import type { AgentConfig, AgentMarker } from '../types.js';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The agents rtrack knows without any setup. */
export const BUILT_IN_AGENTS: readonly AgentDefinition[] = [
  {
    name: 'claude-code',
    sessionVar: 'CLAUDE_CODE_SESSION_ID',
    pidVar: 'CLAUDE_PID',
    // `claude …` (the installed binary or its npm shim) or node running @anthropic-ai/claude-code.
    process: /^(\S*\/)?claude(\s|$)|@anthropic-ai\/claude-code\//,
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
];

/** The environment variables to read for these agents. */
export function agentVariables(agents: readonly AgentDefinition[]): string[] {
  const names = new Set<string>();
  for (const a of agents) {
    names.add(a.sessionVar);
    if (a.pidVar) names.add(a.pidVar);
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
    const sessionId = a.sessionVar ? vars[a.sessionVar] : undefined;
    if (!sessionId) continue;
    const marker: AgentMarker = { agent: a.name, sessionId };
    const pid = a.pidVar ? Number(vars[a.pidVar]) : Number.NaN;
    if (Number.isSafeInteger(pid) && pid > 1) marker.agentPid = pid;
    markers.push(marker);
  }
  return markers;
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
