// `rtrack session start|end` (what the hooks run) and `rtrack session follow`. A hook never fails
// the agent: whatever goes wrong is one line in the state directory's hooks.log, and the exit
// status is 0. Loaded without the option parser by bin/rtrack.js for the hooks (they run inside
// the agent's start-up and end), so it imports only what a hook needs.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageFile, stateDirectory } from '../files.js';
import { logHookProblem, recordSessionEnd, registerSession, runningFollower } from '../operations/agent-sessions.js';
import { platformReader } from '../platform/index.js';
import { parseHookInput, type HookInput } from '../rules/agent-hooks.js';
import { byPid } from '../rules/identity.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import { formatTaskTag, newTagRandom, TASK_ENV_VAR, UNKNOWN_PID_NAMESPACE } from '../tracking/task-tag.js';
import { DAEMON_ENV_VAR, KEEP_ENV_VAR } from '../types.js';

const FOLLOWER_MAIN = packageFile('dist/cli/follower-main.cjs');
/**
 * The follower lists /proc and reads a few files once a second: V8's optimizing compilers buy it
 * nothing and cost it 4–6 MB of resident memory (compiler code paged in, its zones), so it runs with
 * the baseline compiler only — 1.14× a bare Node process instead of 1.27× (`npm run bench:follower`).
 * On the command line, not set at run time: `v8.setFlagsFromString` at the follower's start left it at
 * 1.25×. A Node whose V8 lacks the flag would refuse to start the follower (exit 9): the session
 * tests start a real follower, so CI would say so.
 */
export const FOLLOWER_NODE_FLAGS = ['--max-opt=1'];

/** The hook's JSON from stdin: what arrives within `ms` (the agent writes it at once and closes). */
function readStdin(ms: number): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolveText) => {
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      process.stdin.pause();
      resolveText(text);
    };
    const timer = setTimeout(done, ms);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => (text += d));
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'fish', 'ksh', 'mksh', 'busybox', 'env']);

/** The agent process of a hook: its nearest ancestor that is not a shell. */
async function findAgent(pid: number | undefined): Promise<{ pid: number; startTime: number } | undefined> {
  const reader = platformReader();
  if (pid !== undefined) {
    const status = await reader.readStatus(pid);
    return status ? { pid, startTime: status.startTime } : undefined;
  }
  const snapshot = await takeSnapshot({ reader });
  const byPidMap = byPid(snapshot.processes);
  let current = byPidMap.get(process.pid);
  for (let depth = 0; current && depth < 64; depth++) {
    const parent = byPidMap.get(current.ppid);
    if (!parent || parent.pid <= 1) return undefined;
    const name = (parent.commandLine ?? parent.command).split(' ')[0]!.split('/').pop()!.replace(/^-/, '');
    if (!SHELLS.has(name)) {
      const status = await reader.readStatus(parent.pid);
      return status ? { pid: parent.pid, startTime: status.startTime } : undefined;
    }
    current = parent;
  }
  return undefined;
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

export interface SessionOptions {
  agent: string;
  pid?: number;
  config?: string;
}

/**
 * Runs a hook's work so that it can never fail the agent: the hook JSON is read from stdin (what
 * arrives within a second), and anything that goes wrong — bad input included — is one line in
 * hooks.log. Always resolves with 0.
 */
async function asHook(name: string, work: (input: HookInput, state: string) => Promise<void>): Promise<number> {
  const state = stateDirectory();
  try {
    const input = parseHookInput(await readStdin(1000));
    if (typeof input === 'string') logHookProblem(state, `${name}: ${input}`);
    else await work(input, state);
  } catch (err) {
    logHookProblem(state, `${name}: ${(err as Error).message}`);
  }
  return 0;
}

/** `rtrack session start`: registers the agent with the follower (starting one if none runs). Always exits 0. */
export function sessionStart(options: SessionOptions): Promise<number> {
  return asHook('session start', async (input, state) => {
    const agent = await findAgent(options.pid);
    if (!agent) {
      logHookProblem(state, `session start: no agent process found above pid ${process.pid} (session ${input.session_id})`);
      return;
    }
    await registerSession(state, {
      agent: options.agent,
      sessionId: input.session_id,
      ...(input.cwd ? { cwd: input.cwd } : {}),
      ...(input.transcript_path ? { transcriptPath: input.transcript_path } : {}),
      ...(input.source ? { source: input.source } : {}),
      agentPid: agent.pid,
      agentStartTime: agent.startTime,
      startedAt: new Date().toISOString(),
    });
    // Later Bash-tool commands of the session carry rtrack's tag, owned by the agent process.
    const envFile = process.env.CLAUDE_ENV_FILE;
    if (envFile) {
      let ns: string | undefined;
      try {
        ns = platformReader().readPidNamespace?.(agent.pid)?.namespace;
      } catch {
        ns = undefined;
      }
      const tag = formatTaskTag({ ...agent, pidNamespace: ns ?? UNKNOWN_PID_NAMESPACE }, newTagRandom());
      appendFileSync(envFile, `export ${TASK_ENV_VAR}=${tag}\n`);
    }
    if (!(await runningFollower(state))) {
      const args = [...FOLLOWER_NODE_FLAGS, FOLLOWER_MAIN, ...(options.config ? ['--config', resolve(options.config)] : [])];
      spawn(process.execPath, args, { detached: true, stdio: 'ignore', env: followerEnvironment(process.env), cwd: '/' }).unref();
    }
  });
}

/** `rtrack session end`: records the SessionEnd reason of the agent's session. Never waits; always exits 0. */
export function sessionEnd(options: SessionOptions): Promise<number> {
  return asHook('session end', async (input, state) => {
    const agent = await findAgent(options.pid);
    if (!agent || !(await recordSessionEnd(state, agent, { sessionId: input.session_id, reason: input.reason ?? 'other' }))) {
      logHookProblem(state, `session end: session ${input.session_id} was not registered (no SessionStart hook ran for it)`);
    }
  });
}
