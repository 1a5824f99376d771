// Which process is the agent whose hook is running. A hook (`rtrack session start|end`) runs as
// the agent's child, through `/bin/sh -c`; how to find the agent process, and to check that what
// was found is one, differs by agent: one finder per agent name (AGENT_FINDERS). A hook must be
// quick whatever else runs on the machine: a finder reads only the processes it names — the hook's
// ancestors, the pid an agent gives — never every process's command line (a process stuck in the
// kernel, in D state, can hang a read of its command line for as long as it stays stuck).
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { BUILT_IN_AGENTS, isAgentProcess, type AgentDefinition, type AgentName } from '../rules/agents.js';
import { byPid } from '../rules/identity.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import type { ProcessIdentity } from '../types.js';

/** What a finder knows: the hook's own process, its environment, and a reader. */
export interface HookContext {
  /** The hook process (default: this one). */
  self: number;
  /**
   * The process that ran the hook's shell, when the hook runs detached (`--parent "$PPID"`: the
   * shell has exited, and this process is an orphan): the walk up starts there, with that process.
   */
  parent?: number;
  env: NodeJS.ProcessEnv;
  reader: PlatformReader;
}

/** Finds a hook's agent process, checked to be one; undefined when none is found. */
export type AgentFinder = (context: HookContext) => Promise<ProcessIdentity | undefined>;

/** How deep the walk up from the hook goes (a hook runs a few levels below its agent). */
const MAX_ANCESTORS = 64;

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'fish', 'ksh', 'mksh', 'busybox', 'env']);

/** A command line's program name, without its directory or a login shell's `-`. */
const programName = (commandLine: string): string => commandLine.split(' ')[0]!.split('/').pop()!.replace(/^-/, '');

/**
 * The hook's nearest ancestor that is not a shell — how an agent without a finder of its own is
 * found. Reads the ancestors' `stat` and command line only (where the reader can read one process's
 * command line; elsewhere one snapshot of the table, as macOS and Windows read it whole anyway).
 */
export async function nearestNonShellAncestor(context: HookContext): Promise<ProcessIdentity | undefined> {
  const { reader } = context;
  if (!reader.readCommandLine) return nearestNonShellInSnapshot(context);
  let pid = context.parent;
  if (pid === undefined) {
    const self = await reader.readStatus(context.self);
    if (!self) return undefined;
    pid = self.ppid;
  }
  for (let depth = 0; depth < MAX_ANCESTORS; depth++) {
    if (pid <= 1) return undefined;
    const status = await reader.readStatus(pid);
    const command = status && reader.readCommandLine(pid);
    if (!status || command === undefined) return undefined;
    if (!SHELLS.has(programName(command))) return { pid, startTime: status.startTime };
    pid = status.ppid;
  }
  return undefined;
}

async function nearestNonShellInSnapshot(context: HookContext): Promise<ProcessIdentity | undefined> {
  const processes = byPid((await takeSnapshot({ reader: context.reader })).processes);
  let current = processes.get(context.self);
  for (let depth = 0; (current || context.parent !== undefined) && depth < MAX_ANCESTORS; depth++) {
    const parent = processes.get(depth === 0 && context.parent !== undefined ? context.parent : current!.ppid);
    if (!parent || parent.pid <= 1) return undefined;
    if (!SHELLS.has(programName(parent.commandLine ?? parent.command))) {
      const status = await context.reader.readStatus(parent.pid);
      return status ? { pid: parent.pid, startTime: status.startTime } : undefined;
    }
    current = parent;
  }
  return undefined;
}

/** Whether `pid` is an ancestor of the hook (its parents' `stat` only). */
async function isAncestor(context: HookContext, pid: number): Promise<boolean> {
  if (context.parent !== undefined && pid === context.parent) return true;
  let at = context.parent ?? context.self;
  for (let depth = 0; depth < MAX_ANCESTORS; depth++) {
    const status = await context.reader.readStatus(at);
    if (!status || status.ppid <= 0) return false;
    if (status.ppid === pid) return true;
    at = status.ppid;
  }
  return false;
}

/**
 * The process an agent's own variable names (Claude Code's CLAUDE_PID), when it is alive and is that
 * agent: an ancestor of the hook, or a process whose command line is the agent's.
 */
async function namedAgent(context: HookContext, agent: AgentDefinition): Promise<ProcessIdentity | undefined> {
  const pid = Number(agent.pidVar ? context.env[agent.pidVar] : undefined);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  let status;
  try {
    status = await context.reader.readStatus(pid);
  } catch {
    return undefined; // cannot be read: cannot be checked
  }
  if (!status?.alive) return undefined;
  if (!(await isAncestor(context, pid))) {
    const command = context.reader.readCommandLine?.(pid);
    if (command === undefined || !isAgentProcess(agent, command)) return undefined;
  }
  return { pid, startTime: status.startTime };
}

const CLAUDE_CODE = BUILT_IN_AGENTS.find((a) => a.name === 'claude-code')!;

/**
 * How each agent's hook finds its agent process. Claude Code: the process CLAUDE_PID names (it
 * sets it in every hook's environment: shared/agents/claude-code-2.1.332), checked; else the
 * nearest ancestor that is not a shell. An agent not listed: that ancestor.
 */
export const AGENT_FINDERS: Partial<Record<AgentName, AgentFinder>> = {
  'claude-code': async (context) => (await namedAgent(context, CLAUDE_CODE)) ?? nearestNonShellAncestor(context),
};

/**
 * The agent process of a hook of `agent` (a canonical name: rules/agents.ts): `pid` when the
 * hook was given one (`--pid`), if it is alive; else as the agent's finder finds it (from `parent`,
 * the process that ran the hook's shell, when given: `--parent`).
 */
export async function findHookAgent(
  agent: string,
  options: { pid?: number; parent?: number; self?: number; env?: NodeJS.ProcessEnv; reader?: PlatformReader } = {},
): Promise<ProcessIdentity | undefined> {
  const context: HookContext = { self: options.self ?? process.pid, env: options.env ?? process.env, reader: options.reader ?? platformReader(), ...(options.parent === undefined ? {} : { parent: options.parent }) };
  if (options.pid !== undefined) {
    const status = await context.reader.readStatus(options.pid);
    return status?.alive ? { pid: options.pid, startTime: status.startTime } : undefined;
  }
  return (AGENT_FINDERS[agent as AgentName] ?? nearestNonShellAncestor)(context);
}
