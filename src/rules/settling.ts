// Processes caught between fork and exec, or inside exec, or inside a wrapper about to exec (nohup,
// env, setsid …): what a snapshot read of them (command line, environment, memory) is about to change. A task that backgrounds `sleep 405 &` and exits at
// once leaves, for a moment, a copy of its shell (its command line, not yet the kept `sleep 405`),
// then a process inside exec (its new name `sleep`, no command line, no memory, no environment).
// Pure: two snapshots in, the pids worth reading again out.
import type { ProcessInfo, ProcessSnapshot } from '../types.js';
import { byPid, identitySet, identityKey, parentOf } from './identity.js';
import { isOrphaned } from './orphans.js';
import { fullCommand } from './patterns.js';

/**
 * Whether a process first seen with this command line may not have exec'd yet: inside exec (no
 * command line), a fork whose command line is still its parent's, or one whose parent cannot be
 * read. What it will run — and the keep marker it execs with — is then read again a moment later.
 */
export function mayNotHaveExeced(command: string | undefined, parentCommand: string | undefined): boolean {
  return !command || parentCommand === undefined || command === parentCommand || EXEC_WRAPPER.test(command);
}

const SHELL = /^(\S*\/)?-?(sh|bash|dash|zsh|ksh|mksh|ash|busybox)(\s|$)/;

/**
 * Programs that set something up and exec the command they are given (`nohup sleep 4242`, `env
 * KEEP=1 server`, `setsid`, `nice`…): caught before their exec, they show the wrapper, not what
 * will run — and a keep pattern is matched against what runs.
 */
const EXEC_WRAPPER = /^(\S*\/)?(nohup|env|setsid|nice|ionice|chrt|taskset|stdbuf|numactl|doas|chpst|setpriv|unshare|prlimit)\s+\S/;

/**
 * The new processes (not in `before`) of `after` that may not have settled: inside exec (no
 * command line and no memory yet), a fork that has not exec'd yet (its command line is its live
 * parent's), or a shell left by a task that is gone (a fork of the task's shell, about to exec the
 * command it backgrounded).
 */
export function unsettledProcesses(before: ProcessSnapshot, after: ProcessSnapshot): ProcessInfo[] {
  const existed = identitySet(before);
  const live = byPid(after.processes);
  return after.processes.filter((p) => {
    if (existed.has(identityKey(p))) return false;
    if (!p.commandLine && (p.memoryBytes ?? p.memoryMB) === 0) return true;
    if (EXEC_WRAPPER.test(fullCommand(p))) return true;
    if (isOrphaned(p, live)) return SHELL.test(fullCommand(p));
    const parent = parentOf(p, live);
    return parent !== undefined && fullCommand(parent) === fullCommand(p);
  });
}
