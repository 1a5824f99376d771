// Linux: the /proc reader. One small file per process (`stat`), `cmdline` only for processes whose
// command is not known yet, `environ` only when asked. Buffers are reused; parsing is byte-level.
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { BlockBudget, yieldToLoop } from '../event-loop.js';
import type { PipeEnd } from '../rules/keep.js';
import type { PasswdUser } from '../rules/watch-scope.js';
import { childProcess } from './child-process.js';
import { readPasswd } from './users.js';
import { DAEMON_ENV_VAR, KEEP_ENV_VAR, TASK_ENV_VAR, type ProcessIdentity } from '../types.js';
import { COMMAND_LINE_HEAD, ProcessUnreadableError, type EnvMarkers, type EnvironmentProblem, type PidNamespaceInfo, type PlatformReader, type ProcessStatus, type ProcessTable, type RawProcess, type ReadTableOptions, type StatusMap } from './types.js';

const SPACE = 0x20;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;

/** Fields of /proc/[pid]/stat that we use. */
export interface StatFields {
  pid: number;
  name: string;
  state: string;
  ppid: number;
  /** Field 22: start time in clock ticks since boot. */
  startTime: number;
  /** Field 24: resident set size in pages. */
  rssPages: number;
  /** Field 5: process group. */
  pgrp: number;
  /** Field 6: session (the pid of the session leader that made it). */
  session: number;
  /** Field 8: foreground process group of the controlling terminal (-1 without one). */
  tpgid: number;
  /** Field 20: number of threads. */
  numThreads: number;
  /** Fields 14 and 15: CPU time in user and system mode, in clock ticks. */
  utime: number;
  stime: number;
  /** Fields 16 and 17: CPU time of the children it has waited for, in user and system mode, in clock ticks. */
  cutime: number;
  cstime: number;
}

/**
 * Parses /proc/[pid]/stat. The name (field 2) is up to 15 bytes of anything, including spaces,
 * parentheses and newlines, so fields are counted from the last `)`.
 */
export function parseStat(buf: Uint8Array, length: number, withName = true): StatFields | undefined {
  let close = -1;
  for (let i = length - 1; i >= 0; i--) {
    if (buf[i] === CLOSE_PAREN) { close = i; break; }
  }
  let open = -1;
  for (let i = 0; i < length; i++) {
    if (buf[i] === OPEN_PAREN) { open = i; break; }
  }
  if (open < 1 || close < open || close + 2 >= length) return undefined;
  const pid = parseUint(buf, 0, open - 1);
  if (pid < 0) return undefined;
  // Decoding the name costs an allocation; an incremental snapshot does not need it.
  const name = withName ? Buffer.from(buf.buffer, buf.byteOffset + open + 1, close - open - 1).toString('utf8') : '';
  // Field 3 (state) starts two bytes after the `)`; walk the space-separated fields from there.
  let pos = close + 2;
  const state = String.fromCharCode(buf[pos]!);
  let field = 3;
  let ppid = -1;
  let pgrp = -1;
  let session = -1;
  let tpgid = -1;
  let startTime = -1;
  let rssPages = -1;
  let numThreads = -1;
  let utime = 0;
  let stime = 0;
  let cutime = 0;
  let cstime = 0;
  while (pos < length && field <= 24) {
    let end = pos;
    while (end < length && buf[end] !== SPACE && buf[end] !== 0x0a) end++;
    if (field === 4) ppid = parseUint(buf, pos, end);
    else if (field === 5) pgrp = parseUint(buf, pos, end);
    else if (field === 6) session = parseUint(buf, pos, end);
    else if (field === 8) tpgid = parseInt64(buf, pos, end);
    else if (field === 14) utime = parseUint(buf, pos, end);
    else if (field === 15) stime = parseUint(buf, pos, end);
    else if (field === 16) cutime = parseInt64(buf, pos, end);
    else if (field === 17) cstime = parseInt64(buf, pos, end);
    else if (field === 20) numThreads = parseUint(buf, pos, end);
    else if (field === 22) startTime = parseUint(buf, pos, end);
    else if (field === 24) rssPages = parseInt64(buf, pos, end);
    field++;
    pos = end + 1;
  }
  if (ppid < 0 || startTime < 0 || field <= 24) return undefined;
  return { pid, name, state, ppid, startTime, rssPages: rssPages < 0 ? 0 : rssPages, pgrp, session, tpgid, numThreads, utime: Math.max(0, utime), stime: Math.max(0, stime), cutime: Math.max(0, cutime), cstime: Math.max(0, cstime) };
}

/**
 * parseStat with the engine's own string functions: the fields after the last `)` split at once.
 * Code a process runs once runs in V8's interpreter, where a loop over every byte of a thousand
 * `stat` lines took 14 ms of CPU against 4 ms this way; run again and compiled, the loop is twice as
 * fast as this (0.7 ms against 1.4). So a reader's first table read uses this, later ones parseStat.
 */
export function parseStatOnce(buf: Buffer, length: number, withName = true): StatFields | undefined {
  // (Also every single read of one process's stat: see readStatOf.)
  const close = buf.lastIndexOf(CLOSE_PAREN, length - 1);
  const open = buf.indexOf(OPEN_PAREN);
  if (open < 1 || close < open || close + 2 >= length) return undefined;
  const pid = parseUint(buf, 0, open - 1);
  if (pid < 0) return undefined;
  const name = withName ? buf.toString('utf8', open + 1, close) : '';
  // fields[0] is field 3 (state); a trailing newline is not a digit: Number() ignores it.
  const fields = buf.toString('latin1', close + 2, length).split(' ');
  if (fields.length < 22) return undefined;
  const int = (i: number): number => {
    const text = fields[i]!;
    const n = Number(text);
    return text.length > 0 && Number.isSafeInteger(n) ? n : -1;
  };
  const ppid = int(1);
  const startTime = int(19);
  if (ppid < 0 || startTime < 0) return undefined;
  const rssPages = int(21);
  return {
    pid,
    name,
    state: fields[0]!.charAt(0),
    ppid,
    startTime,
    rssPages: rssPages < 0 ? 0 : rssPages,
    pgrp: int(2),
    session: int(3),
    tpgid: int(5),
    numThreads: int(17),
    utime: Math.max(0, int(11)),
    stime: Math.max(0, int(12)),
    cutime: Math.max(0, int(13)),
    cstime: Math.max(0, int(14)),
  };
}

function parseUint(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function parseInt64(buf: Uint8Array, start: number, end: number): number {
  if (buf[start] === 0x2d) { // '-'
    const n = parseUint(buf, start + 1, end);
    return n < 0 ? -1 : -n;
  }
  return parseUint(buf, start, end);
}

/** /proc/[pid]/cmdline: NUL-separated arguments → one string joined by spaces; trailing NULs dropped. */
export function parseCmdline(buf: Uint8Array, length: number): string {
  let end = length;
  while (end > 0 && buf[end - 1] === 0) end--;
  if (end === 0) return '';
  // Decoded first, then NULs replaced: the same text (a NUL, like a space, is one ASCII byte), with
  // native code instead of a loop over every byte (the CLI's code runs once, uncompiled).
  return Buffer.from(buf.buffer, buf.byteOffset, end).toString('utf8').replaceAll('\0', ' ');
}

/** What the three share: an environment without it has none of them. */
const TRACKER_PREFIX = Buffer.from('RESOURCE_TRACKER_');

/** `NAME=` prefixes of variables to capture, encoded once. */
export function variablePrefixes(names: readonly string[]): { name: string; prefix: Buffer }[] {
  return names.map((name) => ({ name, prefix: Buffer.from(`${name}=`) }));
}

/** Finds the tracker's markers, and the `wanted` variables, in /proc/[pid]/environ (NUL-separated NAME=value entries). */
export function parseEnvMarkers(buf: Uint8Array, length: number, wanted: readonly { name: string; prefix: Buffer }[] = []): EnvMarkers {
  const markers: EnvMarkers = { keep: false };
  const env = Buffer.from(buf.buffer, buf.byteOffset, length);
  // Most environments carry no tracker variable: one native search instead of a walk over every entry.
  if (wanted.length === 0 && env.indexOf(TRACKER_PREFIX) < 0) return markers;
  // The entries that matter, found by one native match over the bytes (latin1: a character a byte)
  // rather than a walk over every entry comparing each name byte by byte (a scan reads every
  // process's environment with a dozen agents' variables wanted, in code that runs once,
  // uncompiled). A later entry of a name wins, as the walk had it; values are decoded as UTF-8.
  const pattern = entryPattern(wanted);
  const text = env.toString('latin1');
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const from = m.index + m[0].length;
    let end = env.indexOf(0, from);
    if (end < 0) end = length;
    const value = env.toString('utf8', from, end);
    const name = m[1]!;
    if (name === TASK_ENV_VAR) markers.task = value;
    else if (name === KEEP_ENV_VAR) markers.keep = value !== '' && value !== '0';
    else if (name === DAEMON_ENV_VAR) {
      if (value !== '') markers.daemon = value;
    } else (markers.vars ??= {})[name] = value;
    pattern.lastIndex = end; // the next entry starts at its NUL
  }
  return markers;
}

/** `(^|NUL)(NAME|…)=` for the tracker's variables and the wanted ones (made once per list). */
const entryPatterns = new WeakMap<readonly { name: string }[], RegExp>();
const NO_WANTED: readonly { name: string }[] = [];
function entryPattern(wanted: readonly { name: string }[]): RegExp {
  const key = wanted.length === 0 ? NO_WANTED : wanted;
  let pattern = entryPatterns.get(key);
  if (!pattern) {
    const names = [...new Set([TASK_ENV_VAR, KEEP_ENV_VAR, DAEMON_ENV_VAR, ...wanted.map((w) => w.name)])];
    pattern = new RegExp(`(?:^|\\0)(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})=`, 'g');
    entryPatterns.set(key, pattern);
  }
  return pattern;
}

/**
 * Whether an environment read is not what an environment is — NUL-terminated `NAME=value` entries,
 * each name without blanks or control characters: the area was overwritten since exec (a title
 * rewrite — setproctitle, perl's `$0` — pads the argv and environment area with NULs or blanks), so
 * what it says, markers or their absence, is no evidence. An empty environment (`env -i`) is whole.
 */
export function environmentGarbled(buf: Buffer, length: number): boolean {
  if (length === 0) return false;
  // One native match over the bytes (latin1: a character a byte) rather than a loop over each name's
  // bytes: the follower runs V8's baseline compiler only, where that loop cost about 13 µs an environment.
  return !WHOLE_ENVIRONMENT.test(buf.toString('latin1', 0, length));
}

/** Entries `NAME=value`, each ended by a NUL: a name of one byte or more, none blank, a control character or `=`. */
const WHOLE_ENVIRONMENT = /^(?:[^\x00-\x20=\x7f]+=[^\x00]*\x00)*$/;

/** A command line read whole for a verdict: up to the kernel's own bound on arguments (ARG_MAX with an 8 MiB stack is 2 MiB). */
const COMMAND_LINE_LIMIT = 4 << 20;
/** An environment is read whole up to this size (ARG_MAX, as above, with room); a longer one is no evidence. */
const ENVIRON_LIMIT = 4 << 20;
/** The environment buffer kept between reads. */
const ENVIRON_BUFFER = 16384;

/** At most this many `stat` descriptors are kept open (about 4 KiB of kernel memory each). */
const KEPT_MAX = 4096;

/** This process's soft limit of open files (`Max open files` in /proc/self/limits); 1024 when unreadable. */
function openFilesLimit(procRoot: string): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`${procRoot}/self/limits`, 'latin1'));
    if (m) return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // not readable: the usual default
  }
  return 1024;
}

/**
 * The file a process runs, where its name (comm: the kernel's, the basename of the file it
 * exec'd, cut at 15 bytes) and its argv[0]'s basename agree — nearly every process: then no
 * `/proc/[pid]/exe` need be read. Undefined where they differ (`exec -a claude sleep`, a title
 * rewrite, `tmux: server`): then the link is read.
 */
export function executableOf(commandLine: string, name: string): string | undefined {
  if (name === '') return undefined;
  const space = commandLine.indexOf(' ');
  const end = space < 0 ? commandLine.length : space;
  const start = commandLine.lastIndexOf('/', end - 1) + 1;
  if (end - start < name.length || !commandLine.startsWith(name, start)) return undefined;
  return end - start === name.length || name.length === 15 ? commandLine.slice(start, end) : undefined;
}

/** What a read of a /proc file returns when the process is gone (ENOENT, ESRCH). */
const GONE = -1;

/**
 * Opens a /proc file and runs `read` on it; GONE when the process no longer exists (ENOENT, or
 * ESRCH when it exited between open and read). Any other failure (EACCES under `hidepid`, EMFILE,
 * ENFILE, EISDIR) throws ProcessUnreadableError: a process we cannot read is not a dead one.
 * With `keep`, a descriptor that was read is handed to it instead of being closed.
 */
function withProcFile(path: string, read: (fd: number) => number, keep?: (fd: number) => void): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return goneOrThrow(path, err);
  }
  let kept = false;
  try {
    const n = read(fd);
    if (keep) {
      keep(fd);
      kept = true;
    }
    return n;
  } catch (err) {
    return goneOrThrow(path, err);
  } finally {
    if (!kept) closeSync(fd);
  }
}

function goneOrThrow(path: string, err: unknown): number {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ESRCH') return GONE;
  const pid = Number(/\/(\d+)\//.exec(path)?.[1] ?? -1);
  throw new ProcessUnreadableError(pid, code, `cannot read ${path}: ${code ?? (err as Error).message}`);
}

/** Too few file descriptors or kernel file slots: every later read may fail too, so a snapshot is incomplete. */
function isExhaustion(err: unknown): boolean {
  const code = (err as ProcessUnreadableError).code;
  return code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM';
}

/**
 * Reads the start of a /proc file with a single read(2): /proc/[pid]/stat is generated whole on the
 * first read, and of `cmdline` we need only the first `buf.length` bytes. Saves the second read
 * that would only return 0.
 */
function readProcHead(path: string, buf: Buffer): number {
  return withProcFile(path, (fd) => readSync(fd, buf, 0, buf.length, null));
}

/** Reads a whole /proc file into `state.buf`, growing it up to `limit` bytes. */
function readProcFile(path: string, state: { buf: Buffer }, limit: number, shortReadEnds = false): number {
  return withProcFile(path, (fd) => {
    let total = 0;
    for (;;) {
      if (total === state.buf.length) {
        if (state.buf.length >= limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit, state.buf.length * 2));
        state.buf.copy(bigger, 0, 0, total);
        state.buf = bigger;
      }
      const asked = state.buf.length - total;
      const n = readSync(fd, state.buf, total, asked, null);
      total += n;
      // `environ` and `cmdline` give less than asked only at their end: no read that returns 0 after it.
      if (n === 0 || (shortReadEnds && n < asked)) break;
    }
    return total;
  });
}

/** Machine constants from the auxiliary vector: page size (AT_PAGESZ=6) and clock ticks (AT_CLKTCK=17). */
function readAuxv(): { pageSize: number; clockTicks: number } {
  let pageSize = 4096;
  let clockTicks = 100;
  try {
    const auxv = readFileSync('/proc/self/auxv');
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      const key = Number(auxv.readBigUInt64LE(i));
      const value = Number(auxv.readBigUInt64LE(i + 8));
      if (key === 6 && value > 0) pageSize = value;
      if (key === 17 && value > 0) clockTicks = value;
      if (key === 0) break;
    }
  } catch {
    // keep the common defaults
  }
  return { pageSize, clockTicks };
}

function readBootTimeMs(): number {
  try {
    const text = readFileSync('/proc/stat', 'latin1');
    const match = /^btime (\d+)$/m.exec(text);
    if (match) return Number(match[1]) * 1000;
  } catch {
    // fall through
  }
  return Date.now() - Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 1000;
}

// What a leak costs, as /proc tells it: /proc/[pid]/smaps_rollup and /proc/[pid]/net/{tcp,udp}[6].

/** A process's memory as /proc/[pid]/smaps_rollup gives it, in bytes. */
export interface MemoryFootprint {
  /** Proportional set size: shared pages divided among the processes sharing them. */
  pssBytes: number;
  /** Unique set size: private pages, what ending it alone gives back. */
  ussBytes: number;
  /** Resident set size, from the same read: a PSS and an RSS from two reads a moment apart need not add up. */
  rssBytes?: number;
}

/** Parses /proc/[pid]/smaps_rollup (values in kB); undefined when the fields are missing. */
export function parseSmapsRollup(text: string): MemoryFootprint | undefined {
  const kB = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const pss = kB('Pss');
  const privateClean = kB('Private_Clean');
  const privateDirty = kB('Private_Dirty');
  if (pss === undefined || privateClean === undefined || privateDirty === undefined) return undefined;
  const rss = kB('Rss');
  return { pssBytes: pss, ussBytes: privateClean + privateDirty, ...(rss !== undefined ? { rssBytes: rss } : {}) };
}

/** A listening socket: TCP in LISTEN, or an unconnected UDP socket. */
export interface ListeningSocket {
  protocol: 'tcp' | 'udp';
  /** The local address as text: `127.0.0.1`, `0.0.0.0`, `::1`, `::`. */
  address: string;
  port: number;
  /** The socket's inode (matched to `socket:[inode]` in /proc/[pid]/fd). */
  inode: number;
}

/** Hex address of /proc/net/{tcp,udp}[6]: 32-bit words in host (little-endian) order. */
function parseHexAddress(hex: string): string | undefined {
  if (hex.length === 8) {
    const n = Number.parseInt(hex, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
  }
  if (hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    bytes.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff);
  }
  // IPv4-mapped (::ffff:a.b.c.d) is shown as the IPv4 address it is
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The longest run of zero groups becomes `::` (RFC 5952).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/** TCP_LISTEN is 0A; an unconnected UDP socket (bound, receiving) is TCP_CLOSE, 07. */
const LISTENING_STATE = { tcp: '0A', udp: '07' } as const;

/** The listening sockets in a /proc/net/{tcp,tcp6,udp,udp6} text. */
export function parseListeningSockets(text: string, protocol: 'tcp' | 'udp'): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [address, portHex] = fields[1]!.split(':');
    if (fields[3] !== LISTENING_STATE[protocol] || !address || !portHex) continue;
    const text = parseHexAddress(address);
    const inode = Number(fields[9]);
    if (text === undefined || !Number.isSafeInteger(inode) || inode <= 0) continue;
    sockets.push({ protocol, address: text, port: Number.parseInt(portHex, 16), inode });
  }
  return sockets;
}

/** /proc/net/unix: each socket's inode, the path it is bound to ('' for none), and whether it is connected (state 03). */
export function parseUnixSockets(text: string): Map<number, { path: string; connected: boolean }> {
  const sockets = new Map<number, { path: string; connected: boolean }>();
  for (const line of text.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode [Path]: a path may hold spaces.
    const m = /^\s*[0-9a-fA-F]+:\s+\S+\s+\S+\s+\S+\s+\S+\s+([0-9a-fA-F]{2})\s+(\d+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    sockets.set(Number(m[2]), { path: m[3] ?? '', connected: m[1] === '03' });
  }
  return sockets;
}

export function createLinuxReader(procRoot = '/proc'): PlatformReader {
  const { pageSize, clockTicks } = readAuxv();
  const r: LinuxReaderState = {
    procRoot,
    pageSize,
    clockTicks,
    // One buffer per file kind, reused for every process. `stat` is at most ~700 bytes even with a
    // 64-bit value in every field. Of a command line the table reads the first 4 KiB (a longer one is
    // flagged `commandLineTruncated`: whoever judges it reads it whole, readCommandLine(pid, true)).
    statBuf: Buffer.allocUnsafe(4096),
    cmdBuf: Buffer.allocUnsafe(COMMAND_LINE_HEAD),
    childrenBuf: { buf: Buffer.allocUnsafe(4096) },
    envBuf: { buf: Buffer.allocUnsafe(ENVIRON_BUFFER) },
    kept: new Map(),
    keptLimit: undefined,
    round: 0,
    tableReads: 0,
    childrenFiles: existsSync(`${procRoot}/self/task/${process.pid}/children`),
    bootTimeMs: undefined,
    self: undefined,
    bootId: undefined,
    userNames: undefined,
  };
  return {
    readBootId: () => readBootId(r),
    readCommandLine: (pid: number, whole?: boolean) => readCommandLine(r, pid, whole),
    isForkOf: (child: number, parent: number) => isForkOf(r, child, parent),
    readExecutable: (pid: number) => readExecutableName(`${procRoot}/${pid}`),
    readOwner: (pid: number) => readOwner(r, pid),
    readUserName(uid: number): string | undefined {
      r.userNames ??= readPasswd(); // none readable: users are shown by uid
      return r.userNames.get(uid)?.name;
    },
    platform: 'linux',
    readsEnvironment: true,
    readProcessTable: (options?: ReadTableOptions) => readProcessTable(r, options),
    readStatus: (pid: number) => readStatus(r, pid),
    listPids: () => listPids(r),
    readStatuses: (pids: readonly number[]) => readStatuses(r, pids),
    readChildren: (pids: readonly number[]) => readChildren(r, pids),
    readEnvMarkers: async (pid: number) => {
      const env = readEnvOf(r, pid);
      return typeof env === 'object' ? env : undefined; // not readable, or not whole: no markers to trust
    },
    readMemoryFootprint: (pid: number) => readMemoryFootprint(r, pid),
    readRunnableSeconds: (pid: number) => readRunnableSeconds(r, pid),
    readCpuSeconds(pid: number): number | undefined {
      const stat = readStatOrSkip(r, pid);
      return stat ? (stat.utime + stat.stime) / clockTicks : undefined;
    },
    readListeningSockets: (pids: readonly number[]) => readListeningSockets(r, pids),
    readUnixSockets: (pids: readonly number[]) => readUnixSockets(r, pids),
    readCwd: (pid: number) => readCwd(r, pid),
    readCgroup: (pid: number) => readCgroup(r, pid),
    readOpenFiles: (pid: number) => readOpenFiles(r, pid),
    readPipes(pids: readonly number[]) {
      const result = new Map<number, PipeEnd[]>();
      const mounts: MountTypes = { namespaces: new Set(), types: new Map() };
      for (const pid of pids) {
        const ends = readPipes(r, pid, mounts);
        if (ends !== undefined) result.set(pid, ends);
      }
      return result;
    },
    readSocketPeers: () => readSocketPeers(r),
    readPidNamespaceId: (pid: number) => readPidNamespaceId(r, pid),
    readPidNamespace: (pid: number) => readPidNamespace(r, pid),
    selfIdentity(): ProcessIdentity {
      if (!r.self) {
        const stat = readStatOf(r, process.pid);
        if (!stat) throw new Error(`cannot read ${procRoot}/${process.pid}/stat`);
        r.self = { pid: stat.pid, startTime: stat.startTime };
      }
      return r.self;
    },
    startTimeToEpochMs(startTime: number): number {
      r.bootTimeMs ??= readBootTimeMs();
      return r.bootTimeMs + (startTime * 1000) / clockTicks;
    },
  };
}

/**
 * What one Linux reader keeps from one read to the next: the machine's constants, its buffers, the
 * `stat` descriptors it keeps open, and what it reads once (its own identity, the boot, the users).
 */
interface LinuxReaderState {
  readonly procRoot: string;
  readonly pageSize: number;
  readonly clockTicks: number;
  readonly statBuf: Buffer;
  readonly cmdBuf: Buffer;
  readonly childrenBuf: { buf: Buffer };
  readonly envBuf: { buf: Buffer };
  // `stat` descriptors kept open from one table read to the next, for readers that ask (`rtrack
  // watch`): a read is then one pread(2) instead of open, read and close — half the CPU. A descriptor
  // whose process exited answers ESRCH, even after its pid was reused, so identity holds. Each costs a
  // descriptor and about a page of kernel memory: at most KEPT_MAX, and a quarter of the limit.
  readonly kept: Map<string, { fd: number; round: number }>;
  keptLimit: number | undefined;
  round: number;
  /** How many tables this reader has read (the first is parsed with parseStatOnce). */
  tableReads: number;
  /** Whether the kernel has /proc/[pid]/task/[tid]/children (CONFIG_PROC_CHILDREN). */
  readonly childrenFiles: boolean;
  bootTimeMs: number | undefined;
  self: ProcessIdentity | undefined;
  bootId: string | null | undefined;
  userNames: Map<number, PasswdUser> | undefined;
}

/** Reads /proc/[pid]/stat into statBuf; its length, or GONE. The caller parses statBuf before the next read. */
function readStatFile(r: LinuxReaderState, pid: number | string): number {
  return readProcHead(`${r.procRoot}/${pid}/stat`, r.statBuf);
}

/** Like readStatFile, through a kept descriptor (opened and kept when there is none yet). */
function readStatKept(r: LinuxReaderState, entry: string): number {
  const { kept, statBuf } = r;
  const held = kept.get(entry);
  if (held !== undefined) {
    try {
      const n = readSync(held.fd, statBuf, 0, statBuf.length, 0);
      held.round = r.round;
      return n;
    } catch {
      // exited (ESRCH), maybe with its pid taken by another process since: opened afresh below
      closeSync(held.fd);
      kept.delete(entry);
    }
  }
  r.keptLimit ??= Math.min(KEPT_MAX, Math.floor(openFilesLimit(r.procRoot) / 4));
  if (kept.size >= r.keptLimit) return readStatFile(r, entry);
  const round = r.round;
  return withProcFile(
    `${r.procRoot}/${entry}/stat`,
    (fd) => readSync(fd, statBuf, 0, statBuf.length, 0),
    (fd) => kept.set(entry, { fd, round }),
  );
}

/** Closes the kept descriptors of processes the last table read did not list. */
function dropUnlisted(r: LinuxReaderState): void {
  for (const [entry, held] of r.kept) {
    if (held.round === r.round) continue;
    closeSync(held.fd);
    r.kept.delete(entry);
  }
}

// One process's stat at a time (the follower's newcomers, a reaper's identities): split by the
// engine, not looped over byte by byte — the follower runs with V8's baseline compiler only
// (--max-opt=1), where the loop took 5.4 µs a line against 1.8 (a thousand lines, 200 times).
function readStatOf(r: LinuxReaderState, pid: number | string): StatFields | undefined {
  const length = readStatFile(r, pid);
  return length > 0 ? parseStatOnce(r.statBuf, length) : undefined;
}

/**
 * Markers in the environment; undefined when it cannot be read (another user's, or gone). `dir`:
 * where to read it from (a live thread's `/proc/[pid]/task/[tid]` when the main thread has exited).
 */
function readEnvOf(r: LinuxReaderState, pid: number, wanted: readonly { name: string; prefix: Buffer }[] = [], dir = `${r.procRoot}/${pid}`): EnvMarkers | EnvironmentProblem | undefined {
  const { envBuf } = r;
  try {
    const n = readProcFile(`${dir}/environ`, envBuf, ENVIRON_LIMIT, true);
    if (n < 0) return undefined;
    // Read whole, or no evidence: a marker past the limit, or in an area a title overwrote, is not seen.
    const problem: EnvironmentProblem | undefined = n >= ENVIRON_LIMIT ? 'truncated' : environmentGarbled(envBuf.buf, n) ? 'garbled' : undefined;
    const markers = problem ?? parseEnvMarkers(envBuf.buf, n, wanted);
    if (envBuf.buf.length > ENVIRON_BUFFER) envBuf.buf = Buffer.allocUnsafe(ENVIRON_BUFFER); // a large environment's buffer is not kept
    return markers;
  } catch (err) {
    if (isExhaustion(err)) throw err;
    return undefined;
  }
}

/** The name of the file a process runs (`/proc/[pid]/exe`, its directory and ` (deleted)` dropped); undefined when unreadable (another user's) or gone. */
function readExecutableName(dir: string): string | undefined {
  try {
    const path = readlinkSync(`${dir}/exe`);
    const name = path.slice(path.lastIndexOf('/') + 1);
    return name.endsWith(' (deleted)') ? name.slice(0, -' (deleted)'.length) : name;
  } catch {
    return undefined;
  }
}

/**
 * Where a process's memory (command line, environment) can be read: its own directory, or, when
 * its main thread has exited while others run (the kernel then answers ESRCH or nothing for the
 * process), the directory of one of its live threads, which share that memory.
 */
function memoryDirOf(r: LinuxReaderState, stat: StatFields): string {
  const own = `${r.procRoot}/${stat.pid}`;
  if (stat.state !== 'Z' || stat.numThreads <= 1) return own;
  try {
    const tid = readdirSync(`${own}/task`).find((t) => t !== String(stat.pid));
    return tid === undefined ? own : `${own}/task/${tid}`;
  } catch {
    return own;
  }
}

async function readProcessTable(r: LinuxReaderState, options: ReadTableOptions = {}): Promise<ProcessTable> {
  const { procRoot, statBuf, pageSize } = r;
  const { isKnown, environment = 'none' } = options;
  const wanted = variablePrefixes(options.environmentVariables ?? []);
  const processes: RawProcess[] = [];
  const unreadable: number[] = [];
  let entries: string[];
  try {
    // Listing /proc takes ~20 ms at 5,000 processes: done off the event loop.
    entries = await readdir(procRoot);
  } catch (err) {
    throw new Error(`cannot list ${procRoot}: ${(err as Error).message}`);
  }
  await yieldToLoop(); // out of the I/O callback first: see event-loop.ts
  const budget = new BlockBudget();
  const parse = r.tableReads++ === 0 ? parseStatOnce : parseStat;
  if (options.keepOpen) r.round++;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    if ((i & 15) === 0 && budget.spent()) await budget.yield();
    let length: number;
    try {
      length = options.keepOpen ? readStatKept(r, entry) : readStatFile(r, entry);
    } catch (err) {
      // Out of descriptors, a snapshot would miss live processes at random: fail it whole.
      if (isExhaustion(err)) throw err;
      unreadable.push(Number(entry));
      continue;
    }
    // Decoding the name costs an allocation: an incremental snapshot decodes it for new processes only.
    const stat = length > 0 ? parse(statBuf, length, isKnown === undefined) : undefined;
    if (!stat) continue; // exited while we read
    // A zombie is dead (no memory, no command, only its exit status left for its parent): never a
    // leak. A leader whose own thread exited while others run also shows Z, but is alive.
    if (!isAlive(stat)) continue;
    const known = isKnown?.(stat.pid, stat.startTime) ?? false;
    if (!known && isKnown !== undefined) stat.name = parseStat(statBuf, length)?.name ?? ''; // statBuf still holds this stat
    const raw: RawProcess = {
      pid: stat.pid,
      ppid: stat.ppid,
      name: stat.name,
      rssBytes: stat.rssPages * pageSize,
      startTime: stat.startTime,
    };
    const dir = memoryDirOf(r, stat);
    if (!known) readCommandOf(r, raw, stat, dir);
    if (environment === 'all' || (environment === 'new' && !known)) readEnvironmentOf(r, raw, wanted, dir);
    processes.push(raw);
  }
  if (options.keepOpen) dropUnlisted(r);
  // At least this process exists: an empty table means /proc is not procfs (unmounted, a bare
  // directory), and an empty snapshot would report every process as gone.
  if (processes.length === 0) throw new Error(`${procRoot} lists no processes (is procfs mounted?)`);
  return unreadable.length > 0 ? { processes, warnings: [], unreadable } : { processes, warnings: [] };
}

/** A table's new process: its command line (the first 4 KiB) and the file it runs, into `raw`. */
function readCommandOf(r: LinuxReaderState, raw: RawProcess, stat: StatFields, dir: string): void {
  const { cmdBuf } = r;
  let n = GONE;
  try {
    n = readProcHead(`${dir}/cmdline`, cmdBuf);
  } catch (err) {
    if (isExhaustion(err)) throw err; // otherwise: shown by its name
  }
  raw.commandLine = n > 0 ? parseCmdline(cmdBuf, n) : '';
  if (n >= cmdBuf.length) raw.commandLineTruncated = true;
  const executable = executableOf(raw.commandLine, stat.name) ?? readExecutableName(dir);
  if (executable !== undefined) raw.executable = executable;
}

/** A table's process's environment markers into `raw`, or why they could not be read. */
function readEnvironmentOf(r: LinuxReaderState, raw: RawProcess, wanted: readonly { name: string; prefix: Buffer }[], dir: string): void {
  const env = readEnvOf(r, raw.pid, wanted, dir);
  if (typeof env === 'object') raw.env = env;
  else {
    raw.environmentUnreadable = true;
    if (env !== undefined) raw.environmentProblem = env;
  }
}

function statusOf(r: LinuxReaderState, stat: StatFields): ProcessStatus {
  const { pageSize, clockTicks } = r;
  const status: ProcessStatus = {
    pid: stat.pid,
    ppid: stat.ppid,
    startTime: stat.startTime,
    alive: isAlive(stat),
    stopped: stat.state === 'T',
    rssBytes: stat.rssPages * pageSize,
    cpuUserSeconds: stat.utime / clockTicks,
    cpuSystemSeconds: stat.stime / clockTicks,
    childrenCpuUserSeconds: stat.cutime / clockTicks,
    childrenCpuSystemSeconds: stat.cstime / clockTicks,
  };
  if (stat.session >= 0) status.session = stat.session;
  return status;
}

async function readStatus(r: LinuxReaderState, pid: number): Promise<ProcessStatus | undefined> {
  const stat = readStatOf(r, pid);
  return stat ? statusOf(r, stat) : undefined;
}

async function readStatuses(r: LinuxReaderState, pids: readonly number[]): Promise<StatusMap> {
  const statuses: StatusMap = new Map();
  for (const pid of pids) {
    try {
      const stat = readStatOf(r, pid);
      if (stat) statuses.set(pid, statusOf(r, stat));
    } catch {
      statuses.set(pid, null);
    }
  }
  return statuses;
}

/** Without CONFIG_PROC_CHILDREN: one pass over every process's stat, filtered by parent. */
async function readChildrenByScan(r: LinuxReaderState, pids: readonly number[]): Promise<ProcessStatus[]> {
  const parents = new Set(pids);
  const found: ProcessStatus[] = [];
  for (const entry of readdirSync(r.procRoot)) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const stat = readStatOrSkip(r, entry);
    if (stat && parents.has(stat.ppid)) found.push(statusOf(r, stat));
  }
  return found;
}

/** A stat for following a tree: a process we cannot read is left out (lineage is evidence, never needed for safety). */
function readStatOrSkip(r: LinuxReaderState, pid: number | string): StatFields | undefined {
  try {
    return readStatOf(r, pid);
  } catch (err) {
    if (isExhaustion(err)) throw err;
    return undefined;
  }
}

/** The numeric names in /proc: every process (threads are not listed), none of them read. */
async function listPids({ procRoot }: LinuxReaderState): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch (err) {
    throw new Error(`cannot list ${procRoot}: ${(err as Error).message}`);
  }
  const pids: number[] = [];
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(entry));
  }
  if (pids.length === 0) throw new Error(`${procRoot} lists no processes (is procfs mounted?)`);
  return pids;
}

/** Children via /proc/[pid]/task/[tid]/children: a few small reads per known process. */
async function readChildren(r: LinuxReaderState, pids: readonly number[]): Promise<ProcessStatus[]> {
  const { procRoot, childrenBuf } = r;
  if (!r.childrenFiles) return readChildrenByScan(r, pids);
  const found: ProcessStatus[] = [];
  const seen = new Set<number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`${procRoot}/${pid}/task`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const tid of tids) {
      let n = GONE;
      try {
        n = readProcFile(`${procRoot}/${pid}/task/${tid}/children`, childrenBuf, 1 << 20);
      } catch (err) {
        if (isExhaustion(err)) throw err;
      }
      if (n <= 0) continue;
      const text = childrenBuf.buf.toString('latin1', 0, n);
      for (const part of text.split(' ')) {
        const child = Number(part);
        if (!part || !Number.isInteger(child) || seen.has(child)) continue;
        seen.add(child);
        const stat = readStatOrSkip(r, child);
        // Its parent is the one whose file listed it, even if it was re-parented since.
        if (stat) found.push({ ...statusOf(r, stat), ppid: pid });
      }
    }
  }
  return found;
}

/** What /proc/[pid]/fd links to; undefined when gone, or another user's process without the right to look. */
function readOpenFiles({ procRoot }: LinuxReaderState, pid: number): string[] | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return undefined;
  }
  const paths: string[] = [];
  for (const fd of fds) {
    try {
      paths.push(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return paths;
}

/** The direction a descriptor was opened in, from its link's mode (r-x: read, -wx: write). */
function endOfMode(mode: number): 'r' | 'w' | 'rw' {
  const read = (mode & 0o400) !== 0;
  const write = (mode & 0o200) !== 0;
  return read && write ? 'rw' : write ? 'w' : 'r';
}

/** Mount ids → filesystem types, merged over the mount namespaces read so far (mount ids are unique on a machine). */
interface MountTypes {
  namespaces: Set<string>;
  types: Map<number, string>;
}

/**
 * The channel ends a process holds: each `pipe:[inode]` descriptor and each named FIFO (by device and
 * inode), with the direction its link's mode tells, and each `socket:[inode]` descriptor.
 */
function readPipes(r: LinuxReaderState, pid: number, mounts: MountTypes): PipeEnd[] | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`${r.procRoot}/${pid}/fd`);
  } catch {
    return undefined;
  }
  const ends: PipeEnd[] = [];
  for (const fd of fds) {
    try {
      const path = `${r.procRoot}/${pid}/fd/${fd}`;
      const link = readlinkSync(path);
      const m = /^(pipe|socket):\[(\d+)\]$/.exec(link);
      const pts = /^\/dev\/pts\/(\d+)$/.exec(link);
      if (m?.[1] === 'socket') ends.push({ socket: Number(m[2]) });
      else if (m) ends.push({ inode: Number(m[2]), end: endOfMode(lstatSync(path).mode) });
      else if (pts) ends.push({ pty: Number(pts[1]), end: 'r' }); // a terminal it runs in
      else if (link === '/dev/ptmx' || link === '/dev/pts/ptmx') {
        // A terminal it hosts: which one, fdinfo's tty-index (Linux 4.16+; without it, none).
        const index = /^tty-index:\s*(\d+)\s*$/m.exec(readFileSync(`${r.procRoot}/${pid}/fdinfo/${fd}`, 'latin1'))?.[1];
        if (index !== undefined) ends.push({ pty: Number(index), end: 'w' });
      } else if (link.startsWith('/')) {
        const fifo = readNamedFifo(r, pid, fd, mounts);
        if (fifo) ends.push(fifo);
      }
    } catch {
      // closed meanwhile
    }
  }
  return ends;
}

// Filesystems where a stat may wait on a server or on a FUSE daemon (one the reaper froze, say).
const MAY_BLOCK_FS = /^(?:nfs4?|cifs|smb3|smbfs|ncpfs|ceph|9p|afs|glusterfs|lustre|gpfs|gfs2|ocfs2|virtiofs|fuse|fuseblk|fuse\..+)$/;

/**
 * A descriptor's named FIFO, if it is one: the stat through /proc/[pid]/fd/N reaches the FIFO itself
 * (the path it was opened by may be gone or reused). Only on a local filesystem, told by the
 * descriptor's mount (fdinfo's mnt_id in the process's mountinfo): nothing here waits on a server.
 */
function readNamedFifo(r: LinuxReaderState, pid: number, fd: string, mounts: MountTypes): PipeEnd | undefined {
  const mountId = /^mnt_id:\s*(\d+)\s*$/m.exec(readFileSync(`${r.procRoot}/${pid}/fdinfo/${fd}`, 'latin1'))?.[1];
  if (mountId === undefined) return undefined;
  if (!mounts.types.has(Number(mountId))) {
    const ns = readlinkSync(`${r.procRoot}/${pid}/ns/mnt`);
    if (!mounts.namespaces.has(ns)) {
      mounts.namespaces.add(ns);
      for (const [id, type] of parseMountTypes(readFileSync(`${r.procRoot}/${pid}/mountinfo`, 'utf8'))) mounts.types.set(id, type);
    }
  }
  const type = mounts.types.get(Number(mountId));
  if (type === undefined || MAY_BLOCK_FS.test(type)) return undefined;
  const path = `${r.procRoot}/${pid}/fd/${fd}`;
  const target = statSync(path);
  return target.isFIFO() ? { inode: target.ino, dev: target.dev, end: endOfMode(lstatSync(path).mode) } : undefined;
}

/** A /proc/[pid]/mountinfo text: each mount's id and filesystem type (the field after the ` - `). */
export function parseMountTypes(text: string): Map<number, string> {
  const types = new Map<number, string>();
  for (const line of text.split('\n')) {
    const id = /^(\d+) /.exec(line)?.[1];
    const type = / - (\S+) /.exec(line)?.[1];
    if (id !== undefined && type !== undefined) types.set(Number(id), type);
  }
  return types;
}

/**
 * The output of `ss -xn`: each connected (ESTAB) Unix stream or seqpacket socket, by inode, with its
 * peer's inode and whether it carries a name ('*' for none). A line reads `Netid State Recv-Q Send-Q
 * <name> <inode> <peer name> <peer inode>`; a name may hold spaces, or a newline (the line goes on
 * below, and what follows may even look like a line of its own), so every way a line can be split
 * counts: a reading only ever adds a peer, and a socket is named only when every reading of it says
 * so — what is read wrong joins more, not less.
 */
export function parseUnixPeers(text: string): Map<number, { peers: number[]; named: boolean }> {
  const sockets = new Map<number, { peers: number[]; named: boolean }>();
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (/^(?:u_\w+|Netid)\s/.test(line) || lines.length === 0) lines.push(line);
    else lines[lines.length - 1] += ` ${line}`; // the rest of a name that held a newline
  }
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if ((fields[0] !== 'u_str' && fields[0] !== 'u_seq') || fields[1] !== 'ESTAB') continue;
    const rest = fields.slice(4);
    const peer = Number(rest.at(-1));
    if (!/^\d+$/.test(rest.at(-1) ?? '') || peer <= 0) continue;
    for (let i = 1; i < rest.length - 2; i++) {
      if (!/^\d+$/.test(rest[i]!)) continue;
      const inode = Number(rest[i]);
      const named = !(i === 1 && rest[0] === '*');
      const known = sockets.get(inode);
      if (!known) sockets.set(inode, { peers: [peer], named });
      else {
        if (!known.peers.includes(peer)) known.peers.push(peer);
        known.named &&= named;
      }
    }
  }
  return sockets;
}

// Where iproute2 puts `ss`: only these, never a PATH a user could plant.
const SS_PATHS = ['/usr/bin/ss', '/bin/ss', '/usr/sbin/ss', '/sbin/ss'];
const SS_TIMEOUT_MS = 5000;

/** The connected Unix sockets' peers, from the kernel's sock_diag through `ss -xn`; undefined without `ss`, or for another /proc than this machine's. */
function readSocketPeers({ procRoot }: LinuxReaderState): Map<number, { peers: number[]; named: boolean }> | undefined {
  const ss = procRoot === '/proc' ? SS_PATHS.find((path) => existsSync(path)) : undefined;
  if (ss === undefined) return undefined;
  const out = childProcess().spawnSync(ss, ['-x', '-n'], { encoding: 'latin1', timeout: SS_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024, env: { LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  return out.error || out.status !== 0 ? undefined : parseUnixPeers(out.stdout);
}

function readBootId(r: LinuxReaderState): string | undefined {
  if (r.bootId === undefined) {
    try {
      r.bootId = readFileSync(`${r.procRoot}/sys/kernel/random/boot_id`, 'latin1').trim() || null;
    } catch {
      r.bootId = null; // not mounted, or not this kernel
    }
  }
  return r.bootId ?? undefined;
}

function readCommandLine(r: LinuxReaderState, pid: number, whole = false): string | undefined {
  const { procRoot, cmdBuf } = r;
  // The first 4 KiB (the table's read), or the whole of it, into a buffer of its own (made only
  // then: the follower reads a command line for every process its agents start).
  const wholeBuf = { buf: whole ? Buffer.allocUnsafe(COMMAND_LINE_HEAD * 4) : cmdBuf };
  const read = (dir: string): number => (whole ? readProcFile(`${dir}/cmdline`, wholeBuf, COMMAND_LINE_LIMIT) : readProcHead(`${dir}/cmdline`, cmdBuf));
  let n: number;
  try {
    n = read(`${procRoot}/${pid}`);
    if (n === 0) {
      // Empty: a kernel thread, or a main thread that exited while others run — read, as the
      // table does, through a live thread.
      const stat = readStatOf(r, pid);
      if (stat && memoryDirOf(r, stat) !== `${procRoot}/${pid}`) n = read(memoryDirOf(r, stat));
    }
  } catch {
    return undefined; // not readable
  }
  if (n < 0 || (whole && n >= COMMAND_LINE_LIMIT)) return undefined; // gone, or longer than anything rtrack reads whole
  return parseCmdline(whole ? wholeBuf.buf : cmdBuf, n);
}

function isForkOf({ procRoot }: LinuxReaderState, child: number, parent: number): boolean {
  try {
    const a = readFileSync(`${procRoot}/${child}/auxv`);
    return a.length > 0 && a.equals(readFileSync(`${procRoot}/${parent}/auxv`));
  } catch {
    return false; // gone, or not ours to read
  }
}

function readOwner({ procRoot }: LinuxReaderState, pid: number): number | undefined {
  try {
    return statSync(`${procRoot}/${pid}`).uid;
  } catch {
    return undefined; // gone
  }
}

function readMemoryFootprint({ procRoot }: LinuxReaderState, pid: number): MemoryFootprint | undefined {
  try {
    return parseSmapsRollup(readFileSync(`${procRoot}/${pid}/smaps_rollup`, 'latin1'));
  } catch {
    return undefined; // another user's, or gone
  }
}

function readRunnableSeconds({ procRoot }: LinuxReaderState, pid: number): number | undefined {
  try {
    const [run, wait] = readFileSync(`${procRoot}/${pid}/schedstat`, 'latin1').split(' ');
    const ns = Number(run) + Number(wait);
    return Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined; // gone, or no schedstat in this kernel
  }
}

function readListeningSockets(r: LinuxReaderState, pids: readonly number[]): Map<number, { protocol: 'tcp' | 'udp'; address: string; port: number }[]> {
  const { procRoot } = r;
  const result = new Map<number, { protocol: 'tcp' | 'udp'; address: string; port: number }[]>();
  const tables = new Map<string, Map<number, ListeningSocket>>(); // by network namespace: inode → socket
  for (const pid of pids) {
    const files = readOpenFiles(r, pid);
    if (files === undefined) continue; // not ours to read, or gone
    const inodes = files.flatMap((f) => {
      const m = /^socket:\[(\d+)\]$/.exec(f);
      return m ? [Number(m[1])] : [];
    });
    if (inodes.length === 0) {
      result.set(pid, []);
      continue;
    }
    let ns: string;
    try {
      ns = readlinkSync(`${procRoot}/${pid}/ns/net`);
    } catch {
      ns = `pid ${pid}`;
    }
    let table = tables.get(ns);
    if (!table) {
      table = new Map();
      for (const [file, protocol] of [['tcp', 'tcp'], ['tcp6', 'tcp'], ['udp', 'udp'], ['udp6', 'udp']] as const) {
        try {
          for (const s of parseListeningSockets(readFileSync(`${procRoot}/${pid}/net/${file}`, 'latin1'), protocol)) table.set(s.inode, s);
        } catch {
          // no such protocol here
        }
      }
      tables.set(ns, table);
    }
    const listening = inodes.flatMap((inode) => {
      const s = table!.get(inode);
      return s ? [{ protocol: s.protocol, address: s.address, port: s.port }] : [];
    });
    result.set(pid, listening);
  }
  return result;
}

function readUnixSockets(r: LinuxReaderState, pids: readonly number[]): Map<number, { path: string; connected: boolean; ownerExecutable?: boolean }[]> {
  const { procRoot } = r;
  const result = new Map<number, { path: string; connected: boolean; ownerExecutable?: boolean }[]>();
  const tables = new Map<string, Map<number, { path: string; connected: boolean }>>(); // by network namespace
  for (const pid of pids) {
    const inodes = readOpenFiles(r, pid)?.flatMap((f) => {
      const m = /^socket:\[(\d+)\]$/.exec(f);
      return m ? [Number(m[1])] : [];
    });
    if (inodes === undefined) continue; // not ours to read, or gone
    let table: Map<number, { path: string; connected: boolean }> | undefined;
    if (inodes.length > 0) {
      try {
        const ns = readlinkSync(`${procRoot}/${pid}/ns/net`);
        table = tables.get(ns);
        if (!table) tables.set(ns, (table = parseUnixSockets(readFileSync(`${procRoot}/${pid}/net/unix`, 'latin1'))));
      } catch {
        continue; // gone meanwhile
      }
    }
    result.set(
      pid,
      inodes.flatMap((inode) => {
        const socket = table?.get(inode);
        if (!socket) return [];
        if (socket.connected || !socket.path.startsWith('/')) return [socket];
        // A listening socket's file, seen from the process's own root (a chroot, a mount namespace): its mode.
        try {
          return [{ ...socket, ownerExecutable: (statSync(`${procRoot}/${pid}/root${socket.path}`).mode & 0o100) !== 0 }];
        } catch {
          return [socket];
        }
      }),
    );
  }
  return result;
}

function readCwd({ procRoot }: LinuxReaderState, pid: number): string | undefined {
  try {
    return readlinkSync(`${procRoot}/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function readCgroup({ procRoot }: LinuxReaderState, pid: number): string | undefined {
  try {
    const line = readFileSync(`${procRoot}/${pid}/cgroup`, 'latin1').split('\n').find((l) => l.startsWith('0::'));
    return line === undefined ? undefined : line.slice(3).trim() || '/';
  } catch {
    return undefined; // gone
  }
}

function readPidNamespaceId({ procRoot }: LinuxReaderState, pid: number): string | undefined {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/ns/pid`))?.[1];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined; // gone
    throw new ProcessUnreadableError(pid, code, `cannot read the PID namespace of ${pid}: ${code ?? (err as Error).message}`);
  }
}

function readPidNamespace({ procRoot }: LinuxReaderState, pid: number): PidNamespaceInfo | undefined {
  try {
    const namespace = /^pid:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/ns/pid`))?.[1];
    // NSpid lists the pid in every namespace from ours inward: the last one is its own.
    const nspid = /^NSpid:\s*([\d\s]+)$/m.exec(readFileSync(`${procRoot}/${pid}/status`, 'latin1'))?.[1]?.trim().split(/\s+/);
    const innerPid = Number(nspid?.at(-1));
    return namespace && Number.isSafeInteger(innerPid) && innerPid > 0 ? { namespace, innerPid } : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined; // gone
    throw new ProcessUnreadableError(pid, code, `cannot read the PID namespace of ${pid}: ${code ?? (err as Error).message}`);
  }
}

/** A zombie (Z, X) is dead; a thread-group leader whose own thread exited while others run shows Z but is alive. */
function isAlive(stat: StatFields): boolean {
  return (stat.state !== 'Z' && stat.state !== 'X') || stat.numThreads > 1;
}

/** Whether this process is in its terminal's foreground process group (`tpgid` = `pgrp`); undefined when unreadable. */
export function isForegroundJobLinux(procRoot = '/proc'): boolean | undefined {
  try {
    const buf = readFileSync(`${procRoot}/${process.pid}/stat`);
    const stat = parseStat(buf, buf.length, false);
    return stat ? stat.tpgid > 0 && stat.tpgid === stat.pgrp : undefined;
  } catch {
    return undefined;
  }
}
