// `rtrack session start|end` (what the hooks run). A hook never fails the agent: whatever goes
// wrong is one line in the state directory's hooks.log (or, when the state directory is not the
// user's alone, on stderr), and the exit status is 0. Loaded without the option parser by
// bin/rtrack.js for the hooks (they run inside the agent's start-up and end), so it imports only
// what a hook needs.
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { appendLine, packageFile, prepareStateDirectory, stateDirectory } from '../files.js';
import { parseHookInput, type HookInput } from '../hooks/hook-input.js';
import { logHookProblem, recordSessionEnd, registeredAgent, registerSession, runningFollower } from '../operations/agent-sessions.js';
import { findHookAgent } from '../operations/hook-agent.js';
import { platformReader } from '../platform/index.js';
import { BUILT_IN_AGENTS, canonicalAgentName, isAgentProcess } from '../rules/agents.js';
import { formatTaskTag, newTagRandom, parseTaskTag, TASK_ENV_VAR, UNKNOWN_PID_NAMESPACE } from '../tracking/task-tag.js';
import { DAEMON_ENV_VAR, KEEP_ENV_VAR } from '../types.js';

const FOLLOWER_MAIN = packageFile('dist/cli/follower-main.cjs');
/**
 * The follower lists /proc and reads a few files once a second: V8's optimizing compilers buy it
 * nothing and cost it 4–6 MB of resident memory (compiler code paged in, its zones), so it runs with
 * the baseline compiler only — 1.14× a bare Node process instead of 1.27× (`npm run bench:follower`).
 * On the command line, not set at run time: `v8.setFlagsFromString` at the follower's start left it at
 * 1.25×. With V8's memory-saving mode (`--optimize-for-size`: a smaller young generation, heap grown
 * more slowly) it holds 1.24× instead of 1.42× under a test loop's churn, at the same CPU
 * (bench/follower-lineage.js, side by side). A Node whose V8 lacks a flag would refuse to start the
 * follower (exit 9): the session tests start a real follower, so CI would say so.
 */
export const FOLLOWER_NODE_FLAGS = ['--max-opt=1', '--optimize-for-size'];

/** The most a hook reads from stdin: an agent's hook JSON is a few hundred bytes. */
export const MAX_HOOK_INPUT = 1 << 20;

/**
 * The hook's JSON from stdin: what arrives within `ms` (the agent writes it at once and closes);
 * `too large` past MAX_HOOK_INPUT bytes (no more is read).
 */
function readStdin(ms: number): Promise<string | 'too large'> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolveText) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result?: 'too large'): void => {
      clearTimeout(timer);
      process.stdin.removeAllListeners('data');
      if (result) process.stdin.destroy();
      else process.stdin.pause();
      resolveText(result ?? Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, ms);
    process.stdin.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_HOOK_INPUT) done('too large');
      else chunks.push(d);
    });
    process.stdin.once('end', () => done());
    process.stdin.once('error', () => done());
  });
}

/**
 * The follower's environment: the hook's, without what would make it look like part of the agent's
 * session or of a tracked run (the agents' session markers and pids, rtrack's task tag), marked as
 * rtrack's own (never reported, never signalled) and kept.
 */
export function followerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!AGENT_VARIABLE.test(name) && name !== TASK_ENV_VAR) clean[name] = value;
  clean[DAEMON_ENV_VAR] = 'follower';
  clean[KEEP_ENV_VAR] = '1';
  return clean;
}

/** What agents put in the environment of what they start (recorded: shared/agents/), and rtrack's own hook variable. */
const AGENT_VARIABLE = /^(CLAUDE|CODEX_|GEMINI_|OPENCODE|AI_AGENT$|AGENT$)/;

/** Agents whose hook (or plugin) must name a process of theirs: checked by its command line. */
const CHECKED_AGENTS = ['gemini-cli', 'opencode'];

/**
 * Gemini CLI and opencode (#27): the process a hook names must be that agent's, by its command line
 * (src/rules/agents.ts) — Gemini CLI's hook runs as `gemini → /bin/sh -c`, so its nearest ancestor
 * that is not a shell is the agent (the relaunched `node … …/bin/gemini`); opencode's plugin passes
 * `--pid` (the opencode process it runs in). One line saying why not; undefined when it is, or for
 * an agent not checked here.
 */
export function agentProcessProblem(agent: string, pid: number): string | undefined {
  if (!CHECKED_AGENTS.includes(agent)) return undefined;
  const definition = BUILT_IN_AGENTS.find((a) => a.name === agent)!;
  let command: string | undefined;
  try {
    command = platformReader().readCommandLine?.(pid); // this process only: a hook never reads them all
  } catch {
    command = undefined;
  }
  if (command === undefined) return `pid ${pid} cannot be read: not registered as ${agent}`;
  return isAgentProcess(definition, command) ? undefined : `pid ${pid} is not ${agent} (${JSON.stringify(command.slice(0, 120))}): not registered`;
}

export interface SessionOptions {
  agent: string;
  pid?: number;
  /** The process that ran the hook's shell (the installed hooks pass `"$PPID"`: rtrack runs detached, after that shell has exited). */
  parent?: number;
  config?: string;
}

/**
 * Runs a hook's work so that it can never fail the agent: the hook JSON is read from stdin (what
 * arrives within a second, at most MAX_HOOK_INPUT), and anything that goes wrong — bad input
 * included — is one line in hooks.log. A state directory that is not the user's alone is not
 * written to at all (its hooks.log is no more to be trusted than the rest): one line on stderr,
 * which the agent shows. Always resolves with 0.
 */
async function asHook(name: string, work: (input: HookInput, state: string) => Promise<void>): Promise<number> {
  const state = stateDirectory();
  const unsafe = prepareStateDirectory(state);
  if (unsafe) {
    try {
      writeSync(2, `rtrack ${name}: ${unsafe}; rtrack's hooks do nothing until it is fixed\n`);
    } catch {
      // no stderr to say it on
    }
    return 0;
  }
  try {
    const text = await readStdin(1000);
    const input = text === 'too large' ? `hook input on stdin is larger than ${MAX_HOOK_INPUT} bytes; not read` : parseHookInput(text);
    if (typeof input === 'string') logHookProblem(state, `${name}: ${input}`);
    else await work(input, state);
  } catch (err) {
    logHookProblem(state, `${name}: ${(err as Error).message}`);
  }
  return 0;
}

/** The agent's canonical name (`claude` → `claude-code`); a name of the user's own `agents:` config as given. */
const agentName = (name: string): string => canonicalAgentName(name) ?? name;

/** `rtrack session start`: registers the agent with the follower (starting one if none runs). Always exits 0. */
export function sessionStart(options: SessionOptions): Promise<number> {
  return asHook('session start', async (input, state) => {
    const name = agentName(options.agent);
    const reader = platformReader();
    const agent = await findHookAgent(name, { pid: options.pid, parent: options.parent, reader });
    if (!agent) {
      logHookProblem(state, `session start: no ${name} process found above pid ${options.parent ?? process.pid} (session ${input.session_id})`);
      return;
    }
    // Gemini CLI's hook parent, opencode's --pid: that agent's process, by its command line.
    const problem = agentProcessProblem(name, agent.pid);
    if (problem) {
      logHookProblem(state, `session start: ${problem} (session ${input.session_id})`);
      return;
    }
    const bootId = reader.readBootId?.();
    const pidNamespace = reader.readPidNamespaceId?.(process.pid);
    await registerSession(state, {
      agent: name,
      sessionId: input.session_id,
      ...(input.cwd ? { cwd: input.cwd } : {}),
      ...(input.transcript_path ? { transcriptPath: input.transcript_path } : {}),
      ...(input.source ? { source: input.source } : {}),
      agentPid: agent.pid,
      agentStartTime: agent.startTime,
      startedAt: new Date().toISOString(),
      ...(bootId ? { bootId } : {}),
      ...(pidNamespace ? { pidNamespace } : {}),
    });
    // Later Bash-tool commands of the session carry rtrack's tag, owned by the agent process — unless
    // the agent runs under `rtrack run`, whose tag they carry already: replaced by the hook's, what
    // they leave would no longer be that run's by its tag (its cgroup and lineage would still say so).
    const envFile = process.env.CLAUDE_ENV_FILE;
    if (envFile && !parseTaskTag(process.env[TASK_ENV_VAR] ?? '')) {
      let ns: string | undefined;
      try {
        ns = reader.readPidNamespace?.(agent.pid)?.namespace;
      } catch {
        ns = undefined;
      }
      const tag = formatTaskTag({ ...agent, pidNamespace: ns ?? UNKNOWN_PID_NAMESPACE }, newTagRandom());
      appendLine(envFile, `export ${TASK_ENV_VAR}=${tag}\n`); // never through a link, only into a file of this user's (files.ts)
    }
    // After the record is written: a follower that lets go of its lock after this looks at the
    // records again (session-follower.ts), so the record is followed either way.
    if (!(await runningFollower(state, reader))) {
      const args = [...FOLLOWER_NODE_FLAGS, FOLLOWER_MAIN, ...(options.config ? ['--config', resolve(options.config)] : [])];
      const follower = spawn(process.execPath, args, { detached: true, stdio: 'ignore', env: followerEnvironment(process.env), cwd: '/' });
      follower.once('error', (err) => logHookProblem(state, `session start: the follower could not be started: ${err.message}`));
      follower.unref();
    }
  });
}

/** `rtrack session end`: records the SessionEnd reason of the agent's session. Never waits; always exits 0. */
export function sessionEnd(options: SessionOptions): Promise<number> {
  return asHook('session end', async (input, state) => {
    const name = agentName(options.agent);
    // Detached, the hook may run after its agent has exited (SessionEnd is the last thing it does):
    // then the agent is the one registered with this session under the pid the hook was given.
    const agent =
      (await findHookAgent(name, { pid: options.pid, parent: options.parent })) ??
      registeredAgent(state, name, input.session_id, [options.pid, options.parent, Number(process.env.CLAUDE_PID)]);
    if (!agent || !(await recordSessionEnd(state, agent, { sessionId: input.session_id, reason: input.reason ?? 'other' }))) {
      logHookProblem(state, `session end: session ${input.session_id} was not registered (no SessionStart hook ran for it)`);
    }
  });
}
