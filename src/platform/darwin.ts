// macOS: one `ps` call gives pid, ppid, RSS, start time and the full command line.
//   ps -axww -o pid=,ppid=,rss=,lstart=,command=
// No header; `rss` is in KiB; `lstart` is the 24-character local start time
// ("Thu Nov 26 09:12:44 2026", the day padded with a space); `command` is the rest of the line.
import type { ProcessIdentity } from '../types.js';
import { childProcess, execFileAsync } from './child-process.js';
import { ProcessUnreadableError, type ParsedTable, type PlatformReader, type ProcessStatus, type ProcessTable, type RawProcess, type StatusMap } from './types.js';

/** A `ps` that hangs (a wedged NFS mount in a command path, a stuck kernel) must not hang rtrack. */
export const PS_TIMEOUT_MS = 10_000;
/**
 * `lstart` is printed in the user's locale ("Do 26 Nov 09:12:44 2026" in German): the C locale
 * keeps it parseable. The command lines themselves are bytes and are not changed by it.
 */
const PS_ENV = { LC_ALL: 'C' };

async function ps(args: readonly string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ps', args, { env: { ...process.env, ...PS_ENV }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { killed?: boolean; stdout?: string; code?: unknown };
    // `ps -p` exits 1 when none of the pids exists: an answer, not a failure.
    if (e.code === 1 && typeof e.stdout === 'string') return e.stdout;
    if (e.killed) throw new Error(`ps ${args.join(' ')}: no answer within ${timeoutMs} ms`);
    throw new Error(`ps ${args.join(' ')}: ${e.message.split('\n')[0]}`);
  }
}

/** The arguments of the one `ps` call that reads the macOS process table. */
export const PS_ARGS = ['-axww', '-o', 'pid=,ppid=,rss=,lstart=,command='];
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** `lstart` ("Thu Nov 26 09:12:44 2026", local time) → ms since the epoch; NaN when malformed. */
export function parseLstart(month: string, day: string, time: string, year: string): number {
  const m = MONTHS[month];
  const hms = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(time);
  if (m === undefined || !hms || !/^\d{1,2}$/.test(day) || !/^\d{4}$/.test(year)) return Number.NaN;
  return new Date(Number(year), m, Number(day), Number(hms[1]), Number(hms[2]), Number(hms[3])).getTime();
}

/** Parses the output of `ps -axww -o pid=,ppid=,rss=,lstart=,command=`. */
export function parsePsTable(text: string): ParsedTable {
  const processes: RawProcess[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // pid ppid rss weekday month day time year command… (`s`: a command line may hold U+2028)
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}:\d{2}:\d{2})\s+(\d{4})(?: (.*))?$/s.exec(line.replace(/\r$/, ''));
    const startTime = match ? parseLstart(match[4]!, match[5]!, match[6]!, match[7]!) : Number.NaN;
    if (!match || Number.isNaN(startTime)) {
      skipped++;
      continue;
    }
    const commandLine = (match[8] ?? '').trim();
    processes.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      name: commandLine.split(' ')[0]?.split('/').pop() ?? '',
      commandLine,
      rssBytes: Number(match[3]) * 1024,
      startTime,
    });
  }
  return { processes, skipped };
}

function tableOf(parsed: ParsedTable): ProcessTable {
  return { processes: parsed.processes, warnings: parsed.skipped > 0 ? [`ps: ${parsed.skipped} malformed lines skipped`] : [] };
}

export function createDarwinReader(options: { timeoutMs?: number } = {}): PlatformReader {
  const timeoutMs = options.timeoutMs ?? PS_TIMEOUT_MS;
  let self: ProcessIdentity | undefined;
  /** One `ps -p` for every pid asked (a call costs milliseconds: never one per pid). */
  const readStatuses = async (pids: readonly number[]): Promise<StatusMap> => {
    const statuses: StatusMap = new Map();
    if (pids.length === 0) return statuses;
    let stdout: string;
    try {
      stdout = await ps(['-ww', '-o', 'pid=,ppid=,rss=,lstart=,command=', '-p', pids.join(',')], timeoutMs);
    } catch {
      for (const pid of pids) statuses.set(pid, null); // ps failed: nothing can be said of them
      return statuses;
    }
    const asked = new Set(pids);
    for (const p of parsePsTable(stdout).processes) {
      // A zombie shows as <defunct>: dead, only waiting for its parent.
      if (asked.has(p.pid)) statuses.set(p.pid, { pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: p.commandLine !== '<defunct>' });
    }
    return statuses;
  };
  const readStatus = async (pid: number): Promise<ProcessStatus | undefined> => {
    const status = (await readStatuses([pid])).get(pid);
    if (status === null) throw new ProcessUnreadableError(pid, undefined, `ps could not read process ${pid}`);
    return status;
  };
  const readTable = async (): Promise<ParsedTable> => {
    const parsed = parsePsTable(await ps(PS_ARGS, timeoutMs));
    // ps lists at least itself and us: an empty table is a failure, not an empty machine.
    if (parsed.processes.length === 0) throw new Error(`ps ${PS_ARGS.join(' ')} listed no processes${parsed.skipped > 0 ? ` (${parsed.skipped} lines it printed could not be parsed)` : ''}`);
    return parsed;
  };
  return {
    platform: 'darwin',
    readsEnvironment: false,
    readProcessTable: async () => tableOf(await readTable()),
    readStatus,
    readStatuses,
    async readChildren(pids) {
      const parents = new Set(pids);
      return (await readTable()).processes
        .filter((p) => parents.has(p.ppid))
        .map((p) => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: true }));
    },
    readEnvMarkers: async () => undefined, // another process's environment needs native code on macOS
    selfIdentity() {
      if (!self) {
        const [p] = parsePsTable(childProcess().execFileSync('ps', ['-ww', '-o', 'pid=,ppid=,rss=,lstart=,command=', '-p', String(process.pid)], { encoding: 'utf8', env: { ...process.env, ...PS_ENV }, timeout: timeoutMs })).processes;
        if (!p) throw new Error(`ps: cannot read process ${process.pid}`);
        self = { pid: p.pid, startTime: p.startTime };
      }
      return self;
    },
    startTimeToEpochMs: (startTime) => startTime,
  };
}

/** Whether this process is in its terminal's foreground process group (`ps -o stat` shows `+`); undefined when ps cannot tell. */
export function isForegroundJobDarwin(): boolean | undefined {
  try {
    return childProcess().execFileSync('ps', ['-o', 'stat=', '-p', String(process.pid)], { encoding: 'utf8', env: { ...process.env, ...PS_ENV }, timeout: PS_TIMEOUT_MS }).includes('+');
  } catch {
    return undefined;
  }
}
