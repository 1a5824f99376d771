// Linux: the /proc reader. One small file per process (`stat`), `cmdline` only for processes whose
// command is not known yet, `environ` only when asked. Buffers are reused; parsing is byte-level.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { BLOCK_MS, yieldToLoop } from '../event-loop.js';
import { KEEP_ENV_VAR, TASK_ENV_VAR, type ProcessIdentity } from '../types.js';
import type { EnvMarkers, PidNamespaceInfo, PlatformReader, ProcessStatus, ProcessTable, RawProcess, ReadTableOptions } from './types.js';

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
  /** Field 8: foreground process group of the controlling terminal (-1 without one). */
  tpgid: number;
  /** Field 20: number of threads. */
  numThreads: number;
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
  let tpgid = -1;
  let startTime = -1;
  let rssPages = -1;
  let numThreads = -1;
  while (pos < length && field <= 24) {
    let end = pos;
    while (end < length && buf[end] !== SPACE && buf[end] !== 0x0a) end++;
    if (field === 4) ppid = parseUint(buf, pos, end);
    else if (field === 5) pgrp = parseUint(buf, pos, end);
    else if (field === 8) tpgid = parseInt64(buf, pos, end);
    else if (field === 20) numThreads = parseUint(buf, pos, end);
    else if (field === 22) startTime = parseUint(buf, pos, end);
    else if (field === 24) rssPages = parseInt64(buf, pos, end);
    field++;
    pos = end + 1;
  }
  if (ppid < 0 || startTime < 0 || field <= 24) return undefined;
  return { pid, name, state, ppid, startTime, rssPages: rssPages < 0 ? 0 : rssPages, pgrp, tpgid, numThreads };
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
  for (let i = 0; i < end; i++) if (buf[i] === 0) buf[i] = SPACE;
  return Buffer.from(buf.buffer, buf.byteOffset, end).toString('utf8');
}

const TASK_VAR = Buffer.from(`${TASK_ENV_VAR}=`);
const KEEP_VAR = Buffer.from(`${KEEP_ENV_VAR}=`);

/** Finds the tracker's markers in /proc/[pid]/environ (NUL-separated NAME=value entries). */
export function parseEnvMarkers(buf: Uint8Array, length: number): EnvMarkers {
  const markers: EnvMarkers = { keep: false };
  let start = 0;
  while (start < length) {
    let end = start;
    while (end < length && buf[end] !== 0) end++;
    if (startsWith(buf, start, end, TASK_VAR)) {
      markers.task = Buffer.from(buf.buffer, buf.byteOffset + start + TASK_VAR.length, end - start - TASK_VAR.length).toString('utf8');
    } else if (startsWith(buf, start, end, KEEP_VAR)) {
      const value = Buffer.from(buf.buffer, buf.byteOffset + start + KEEP_VAR.length, end - start - KEEP_VAR.length).toString('utf8');
      markers.keep = value !== '' && value !== '0';
    }
    start = end + 1;
  }
  return markers;
}

function startsWith(buf: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/** Opens a /proc file and runs `read` on it; -1 when the process is gone (ENOENT, ESRCH) or the file unreadable. */
function withProcFile(path: string, read: (fd: number) => number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return -1;
  }
  try {
    return read(fd);
  } catch {
    return -1; // ESRCH when the process exited between open and read; EACCES for others' environ
  } finally {
    closeSync(fd);
  }
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
function readProcFile(path: string, state: { buf: Buffer }, limit: number): number {
  return withProcFile(path, (fd) => {
    let total = 0;
    for (;;) {
      if (total === state.buf.length) {
        if (state.buf.length >= limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit, state.buf.length * 2));
        state.buf.copy(bigger, 0, 0, total);
        state.buf = bigger;
      }
      const n = readSync(fd, state.buf, total, state.buf.length - total, null);
      if (n === 0) break;
      total += n;
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

export function createLinuxReader(procRoot = '/proc'): PlatformReader {
  const { pageSize, clockTicks } = readAuxv();
  let bootTimeMs: number | undefined;
  // stat is at most ~700 bytes even with a 64-bit value in every field.
  const statBuf = Buffer.allocUnsafe(4096);
  // The first 4 KiB of a command line: enough to match patterns; the display keeps 100 characters.
  const cmdBuf = Buffer.allocUnsafe(4096);
  const childrenBuf = { buf: Buffer.allocUnsafe(4096) };
  const envBuf = { buf: Buffer.allocUnsafe(16384) };
  const ENVIRON_LIMIT = 1 << 20;

  let statLength = 0; // bytes of the last stat read, still in statBuf
  function readStatOf(pid: number | string, withName = true): StatFields | undefined {
    statLength = readProcHead(`${procRoot}/${pid}/stat`, statBuf);
    return statLength > 0 ? parseStat(statBuf, statLength, withName) : undefined;
  }

  function readEnvOf(pid: number): EnvMarkers | undefined {
    const n = readProcFile(`${procRoot}/${pid}/environ`, envBuf, ENVIRON_LIMIT);
    return n < 0 ? undefined : parseEnvMarkers(envBuf.buf, n);
  }

  async function readProcessTable(options: ReadTableOptions = {}): Promise<ProcessTable> {
    const { isKnown, environment = 'none' } = options;
    const processes: RawProcess[] = [];
    let entries: string[];
    try {
      // Listing /proc takes ~20 ms at 5,000 processes: done off the event loop.
      entries = await readdir(procRoot);
    } catch (err) {
      throw new Error(`cannot list ${procRoot}: ${(err as Error).message}`);
    }
    await yieldToLoop(); // out of the I/O callback first: see event-loop.ts
    let blockStart = performance.now();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      if ((i & 15) === 0 && performance.now() - blockStart > BLOCK_MS) {
        await yieldToLoop();
        blockStart = performance.now();
      }
      const stat = readStatOf(entry, isKnown === undefined);
      if (!stat) continue; // exited while we read
      // A zombie is dead (no memory, no command, only its exit status left for its parent): never a
      // leak. A leader whose own thread exited while others run also shows Z, but is alive.
      if ((stat.state === 'Z' || stat.state === 'X') && stat.numThreads <= 1) continue;
      const known = isKnown?.(stat.pid, stat.startTime) ?? false;
      if (!known && isKnown !== undefined) stat.name = parseStat(statBuf, statLength)?.name ?? ''; // new: its name is needed after all
      const raw: RawProcess = {
        pid: stat.pid,
        ppid: stat.ppid,
        name: stat.name,
        rssBytes: stat.rssPages * pageSize,
        startTime: stat.startTime,
      };
      if (!known) {
        const n = readProcHead(`${procRoot}/${entry}/cmdline`, cmdBuf);
        raw.commandLine = n > 0 ? parseCmdline(cmdBuf, n) : '';
      }
      if (environment === 'all' || (environment === 'new' && !known)) {
        const env = readEnvOf(stat.pid);
        if (env) raw.env = env;
      }
      processes.push(raw);
    }
    // At least this process exists: an empty table means /proc is not procfs (unmounted, a bare
    // directory), and an empty snapshot would report every process as gone.
    if (processes.length === 0) throw new Error(`${procRoot} lists no processes (is procfs mounted?)`);
    return { processes, warnings: [] };
  }

  async function readStatus(pid: number): Promise<ProcessStatus | undefined> {
    const stat = readStatOf(pid);
    if (!stat) return undefined;
    return { pid: stat.pid, ppid: stat.ppid, startTime: stat.startTime, alive: stat.state !== 'Z' && stat.state !== 'X', stopped: stat.state === 'T' };
  }

  /** Without CONFIG_PROC_CHILDREN: one pass over every process's stat, filtered by parent. */
  async function readChildrenByScan(pids: readonly number[]): Promise<ProcessStatus[]> {
    const parents = new Set(pids);
    const found: ProcessStatus[] = [];
    for (const entry of readdirSync(procRoot)) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const stat = readStatOf(entry);
      if (stat && parents.has(stat.ppid)) {
        found.push({ pid: stat.pid, ppid: stat.ppid, startTime: stat.startTime, alive: stat.state !== 'Z' && stat.state !== 'X' });
      }
    }
    return found;
  }

  const childrenFiles = existsSync(`${procRoot}/self/task/${process.pid}/children`);

  /** Children via /proc/[pid]/task/[tid]/children: a few small reads per known process. */
  async function readChildren(pids: readonly number[]): Promise<ProcessStatus[]> {
    if (!childrenFiles) return readChildrenByScan(pids);
    const found: ProcessStatus[] = [];
    const seen = new Set<number>();
    for (const pid of pids) {
      let tids: string[];
      try {
        tids = readdirSync(`${procRoot}/${pid}/task`);
      } catch {
        continue; // gone
      }
      for (const tid of tids) {
        const n = readProcFile(`${procRoot}/${pid}/task/${tid}/children`, childrenBuf, 1 << 20);
        if (n <= 0) continue;
        const text = childrenBuf.buf.toString('latin1', 0, n);
        for (const part of text.split(' ')) {
          const child = Number(part);
          if (!part || !Number.isInteger(child) || seen.has(child)) continue;
          seen.add(child);
          const status = await readStatus(child);
          if (status) found.push(status);
        }
      }
    }
    return found;
  }

  let self: ProcessIdentity | undefined;

  return {
    platform: 'linux',
    readsEnvironment: true,
    readProcessTable,
    readStatus,
    readChildren,
    readEnvMarkers: async (pid: number) => readEnvOf(pid),
    isForegroundJob(): boolean | undefined {
      const stat = readStatOf(process.pid);
      return stat ? stat.tpgid > 0 && stat.tpgid === stat.pgrp : undefined;
    },
    readPidNamespace(pid: number): PidNamespaceInfo | undefined {
      try {
        const namespace = /^pid:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/ns/pid`))?.[1];
        // NSpid lists the pid in every namespace from ours inward: the last one is its own.
        const nspid = /^NSpid:\s*([\d\s]+)$/m.exec(readFileSync(`${procRoot}/${pid}/status`, 'latin1'))?.[1]?.trim().split(/\s+/);
        const innerPid = Number(nspid?.at(-1));
        return namespace && Number.isSafeInteger(innerPid) && innerPid > 0 ? { namespace, innerPid } : undefined;
      } catch {
        return undefined; // gone, or another user's process without the right to look
      }
    },
    selfIdentity(): ProcessIdentity {
      if (!self) {
        const stat = readStatOf(process.pid);
        if (!stat) throw new Error(`cannot read ${procRoot}/${process.pid}/stat`);
        self = { pid: stat.pid, startTime: stat.startTime };
      }
      return self;
    },
    startTimeToEpochMs(startTime: number): number {
      bootTimeMs ??= readBootTimeMs();
      return bootTimeMs + (startTime * 1000) / clockTicks;
    },
  };
}
