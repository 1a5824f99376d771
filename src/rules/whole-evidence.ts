// Whole evidence or none. A verdict that a process is a leak, or is not kept, rests only on what was
// read whole and belongs to that process. Pure: processes as a look read them in, reasons out.
//   unreadable  its environment could not be read (another user's), was longer than rtrack reads,
//               or no longer parses as one (a title rewrite overwrote it); or only the first 4 KiB
//               of its command line were read and no keep pattern matched them: a marker or a keep
//               pattern may be in what was not read
//   shared      it is, or runs in, a terminal multiplexer's server (tmux, screen, zellij, dtach,
//               abduco): one server per socket, many clients. A pane takes the server's
//               environment, so the markers, tag and cgroup a pane carries say who started the
//               server, never who asked for the pane — a session's job, another live session's, a
//               person's. What such a process carries is its own only where it differs from the
//               server's (set inside the pane: an agent, a run started there)
import type { ProcessInfo } from '../types.js';
import { MAX_TREE_DEPTH, parentOf } from './identity.js';
import { markersOf } from './agents.js';
import { fullCommand, looksLikeSubreaper } from './patterns.js';

/**
 * Programs that run code someone wrote — shells, interpreters, wrappers —, whose child running the
 * same program may have been given any environment (`perl -e 'exec {perl} …'` with a marker added).
 */
const RUNS_USER_CODE = /^(sh|bash|dash|zsh|ksh|mksh|fish|busybox|perl[\d.]*|python[\d.]*|pypy[\d.]*|node|nodejs|deno|bun|ruby[\d.]*|php[\d.]*|lua[\d.]*|luajit|tclsh[\d.]*|java|Rscript|osascript|env|nohup|setsid|sudo|doas|su|xargs|make|init|systemd)$/;

/**
 * A process whose environment a title rewrite overwrote (`garbled`) carries what its parent
 * carried, when the parent's environment was read whole (or is itself so resolved), the parent is
 * the one that started it (not init or a subreaper it was re-parented to), and either it is a fork
 * of the parent that never exec'd (`forkedFrom`: its memory, environment area included, is the
 * parent's — a server's workers, Chromium's renderers) or it runs the same program as its parent
 * and that program runs no code of anyone's (Chromium's zygote, which the browser executes again):
 * a program that forks or re-executes itself passes its environment on. Its markers (task tag,
 * agent sessions, keep) are then its parent's, said in `environmentFrom`. Any other garbled
 * environment — `KEEP=1 perl -e '$0=…'` started by a shell, or by a perl script: the marker was added
 * at its own exec — stays unreadable. Pure: a table in (and whether a child is a fork of its parent,
 * read where asked), the same table with those resolved out (the same records where nothing changes).
 */
export function resolveRetitled(processes: ProcessInfo[], forkedFrom: (child: ProcessInfo, parent: ProcessInfo) => boolean = () => false): ProcessInfo[] {
  if (!processes.some((p) => p.environmentProblem === 'garbled')) return processes;
  const live = new Map(processes.map((p) => [p.pid, p] as const));
  const resolved = new Map<number, ProcessInfo | null>(); // null: stays unreadable
  const resolve = (p: ProcessInfo, depth: number): ProcessInfo | null => {
    if (p.environmentProblem !== 'garbled') return p.environmentUnreadable ? null : p;
    const known = resolved.get(p.pid);
    if (known !== undefined) return known;
    const parent = parentOf(p, live);
    let from: ProcessInfo | null = null;
    const started = parent !== undefined && parent.pid > 1 && !looksLikeSubreaper(parent.command);
    const samePrograms = p.executable !== undefined && parent?.executable === p.executable && !RUNS_USER_CODE.test(p.executable);
    if (started && depth < MAX_TREE_DEPTH && (samePrograms || forkedFrom(p, parent!))) from = resolve(parent!, depth + 1);
    const result: ProcessInfo | null = from === null ? null : inherit(p, from, parent!.pid);
    resolved.set(p.pid, result);
    return result;
  };
  return processes.map((p) => (p.environmentProblem === 'garbled' ? (resolve(p, 0) ?? p) : p));
}

/** A garbled process with the markers of `from` (its resolved parent), which it inherited. */
function inherit(p: ProcessInfo, from: ProcessInfo, parentPid: number): ProcessInfo {
  const { environmentUnreadable: _u, environmentProblem: _p, taskTag: _t, agent: _a, agentSessions: _s, startedBy: _b, trackerDaemon: _d, startedInPane: _n, ...rest } = p;
  const q: ProcessInfo = { ...rest, environmentFrom: parentPid };
  if (from.startedInPane) q.startedInPane = from.startedInPane;
  if (from.taskTag !== undefined) q.taskTag = from.taskTag;
  if (from.agent) q.agent = from.agent;
  if (from.agentSessions) q.agentSessions = from.agentSessions;
  if (from.startedBy) q.startedBy = from.startedBy;
  if (from.trackerDaemon) q.trackerDaemon = from.trackerDaemon;
  // Kept by the marker its parent carried (its own command line's reasons stand as they were read).
  if (!q.keepReason && from.keepReason === 'env') q.keepReason = 'env';
  return q;
}

/** Why what a process carries is no evidence (one phrase), or undefined when it was read whole. */
export function unreadableEvidence(p: ProcessInfo): string | undefined {
  if (p.environmentUnreadable) {
    if (p.environmentProblem === 'garbled') return 'its environment was overwritten (a title rewrite): its markers cannot be told';
    if (p.environmentProblem === 'truncated') return 'its environment is longer than rtrack reads (4 MiB): a marker may be past it';
    return 'its environment cannot be read: it may be kept or belong to a live session';
  }
  if (p.commandLineTruncated && !p.keepReason) return 'its command line was read only in part: a keep pattern may match the rest';
  return undefined;
}

/** The terminal multiplexers: servers shared by every client of their socket (tmate is tmux's fork). */
export const SHARED_HOSTS: readonly string[] = ['tmux', 'tmate', 'screen', 'zellij', 'dtach', 'abduco'];

/** The variables a multiplexer sets in its panes: what says a process was started in one, even after it left it. */
export const PANE_VARIABLES: readonly string[] = ['TMUX', 'STY', 'ZELLIJ_SESSION_NAME'];

/**
 * The pane a process was started in, from those variables: tmux (and tmate) `TMUX=<socket>,<server
 * pid>,<session>`, screen `STY=<server pid>.<name>`, zellij `ZELLIJ_SESSION_NAME` (no pid). dtach and
 * abduco set nothing: a process that left their pane is not told.
 */
export function paneOf(vars: Readonly<Record<string, string>> | undefined): { host: string; serverPid?: number } | undefined {
  if (!vars) return undefined;
  const pidOf = (text: string | undefined): number | undefined => {
    const n = Number(text);
    return Number.isSafeInteger(n) && n > 1 ? n : undefined;
  };
  if (vars.TMUX) {
    const serverPid = pidOf(vars.TMUX.split(',')[1]);
    return serverPid === undefined ? { host: 'tmux' } : { host: 'tmux', serverPid };
  }
  if (vars.STY) {
    const serverPid = pidOf(vars.STY.split('.')[0]);
    return serverPid === undefined ? { host: 'screen' } : { host: 'screen', serverPid };
  }
  if (vars.ZELLIJ_SESSION_NAME) return { host: 'zellij' };
  return undefined;
}

const HOST_NAMES: ReadonlySet<string> = new Set(SHARED_HOSTS);

/**
 * The multiplexer a process is (`tmux`, `screen`, …): by the file it runs, whatever its title; by its
 * program name (argv[0], its directory and a trailing `:` dropped, any case: `SCREEN`, `tmux:
 * server`) where that file could not be read (another user's), or when its title says so. A client
 * counts too: it hosts nothing, so it changes nothing. Asked of every process of every look:
 * compared in place, a string made only for a name of the right length.
 */
export function sharedHostKind(p: ProcessInfo): string | undefined {
  if (p.executable !== undefined && HOST_NAMES.has(p.executable)) return p.executable;
  const command = fullCommand(p);
  const space = command.indexOf(' ');
  let end = space < 0 ? command.length : space;
  if (end > 0 && command.charCodeAt(end - 1) === 58) end--; // `tmux:`
  const start = command.lastIndexOf('/', end - 1) + 1;
  const length = end - start;
  if (length < 4 || length > 6) return undefined; // tmux, tmate, dtach, screen, zellij, abduco
  const name = command.slice(start, end).toLowerCase();
  return HOST_NAMES.has(name) ? name : undefined;
}

/** The nearest multiplexer at or above a process (the server whose pane it runs in), if any. */
export function sharedHostOf(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): ProcessInfo | undefined {
  let q: ProcessInfo | undefined = p;
  for (let depth = 0; q && q.pid > 1 && depth < MAX_TREE_DEPTH; depth++) {
    if (sharedHostKind(q) !== undefined) return q;
    q = parentOf(q, live);
  }
  return undefined;
}

const markerKeys = (p: ProcessInfo): string[] => markersOf(p).map((m) => `${m.agent}\0${m.sessionId}\0${m.agentPid ?? ''}`);

/**
 * Whether what a process in a shared host carries came from the host: its session markers and task
 * tag are all the server's own (a pane's shell, a job any client asked for). One that carries a
 * marker or a tag the server does not had it set inside the pane, and that evidence is its own.
 */
export function carriesOnlyHosts(p: ProcessInfo, host: ProcessInfo): boolean {
  if (p === host) return true;
  if ((p.taskTag ?? '') !== (host.taskTag ?? '') && p.taskTag) return false;
  const own = new Set(markerKeys(host));
  return markerKeys(p).every((k) => own.has(k));
}

/**
 * Why a process's attributing evidence is shared, not its own (one phrase), or undefined: it is a
 * multiplexer's server, or runs in one and carries only what the server carries.
 */
export function sharedEvidence(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): string | undefined {
  const host = sharedHostOf(p, live);
  if (!host) return startedInPaneEvidence(p, live);
  const kind = sharedHostKind(host)!;
  if (host === p) return `a ${kind} server: a host shared by every client of its socket, its markers say who started it, not who uses it`;
  if (!carriesOnlyHosts(p, host)) return undefined;
  return `runs in a ${kind} server (pid ${host.pid}), shared by every client of its socket: what it carries is the server's, not its own`;
}

/** Whether what attributes a process is not its own whole evidence (unreadableEvidence, unreadableAbove, sharedEvidence): never a certain leak on it. */
export function evidenceNotWhole(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): boolean {
  return unreadableEvidence(p) !== undefined || unreadableAbove(p, live) !== undefined || sharedEvidence(p, live) !== undefined;
}

/**
 * Why a process is judged on what was not read whole above it: an ancestor whose environment was
 * cut or overwritten, or whose command line was cut, may be kept, and a kept process keeps what
 * runs below it. (Another user's ancestor — a login, an sshd — is not read at all and says nothing.)
 */
export function unreadableAbove(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): string | undefined {
  let q = parentOf(p, live);
  for (let depth = 0; q && q.pid > 1 && depth < MAX_TREE_DEPTH; depth++) {
    if (q.environmentProblem !== undefined || (q.commandLineTruncated && !q.keepReason)) return `it runs below pid ${q.pid}, and ${unreadableEvidence(q)}`;
    q = parentOf(q, live);
  }
  return undefined;
}

/**
 * A process started in a multiplexer's pane that has left it (re-parented: a person's `nohup build
 * &` in a tmux window an ended session started): what it carries came from the server where it is
 * the server's (the server, named by the pane's variable, still runs: compared as in the pane), and
 * cannot be told from the server's where the server is gone or not named.
 */
function startedInPaneEvidence(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): string | undefined {
  const pane = p.startedInPane;
  if (!pane) return undefined;
  const server = pane.serverPid === undefined ? undefined : live.get(pane.serverPid);
  if (server && sharedHostKind(server) !== undefined && server.startTime <= p.startTime) {
    return carriesOnlyHosts(p, server) ? `it was started in a ${pane.host} pane (server pid ${server.pid}), shared by every client of its socket: what it carries is the server's, not its own` : undefined;
  }
  return `it was started in a ${pane.host} pane whose server is gone: what it carries may be the server's, not its own`;
}

/**
 * Whether a process that a lineage (a follower's record of an agent's tree, a journal entry it made)
 * or its place below such a process attributes is no evidence: what it carries was not read whole,
 * or it is itself a multiplexer's server. Its markers and tag, shared or not, are not what such
 * evidence rests on: the follower never adopts through a server, so its lineage is its own.
 */
export function lineageNotWhole(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>): boolean {
  return unreadableEvidence(p) !== undefined || unreadableAbove(p, live) !== undefined || sharedHostKind(p) !== undefined;
}
