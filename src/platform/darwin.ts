// macOS: one `ps` call gives pid, ppid, RSS, start time and the full command line.
//   ps -axww -o pid=,ppid=,rss=,lstart=,command=
// No header; `rss` is in KiB; `lstart` is the 24-character local start time
// ("Thu Nov 26 09:12:44 2026", the day padded with a space); `command` is the rest of the line.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { ProcessIdentity } from '../types.js';
import type { ParsedTable, PlatformReader, ProcessStatus, ProcessTable, RawProcess } from './types.js';

const run = promisify(execFile);

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

export function createDarwinReader(): PlatformReader {
  let self: ProcessIdentity | undefined;
  const readStatus = async (pid: number): Promise<ProcessStatus | undefined> => {
    try {
      const { stdout } = await run('ps', ['-ww', '-o', 'pid=,ppid=,rss=,lstart=,command=', '-p', String(pid)]);
      const [p] = parsePsTable(stdout).processes;
      // A zombie shows as <defunct>: dead, only waiting for its parent.
      return p ? { pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: p.commandLine !== '<defunct>' } : undefined;
    } catch {
      return undefined; // ps exits 1 when there is no such process
    }
  };
  const readTable = async (): Promise<ParsedTable> => {
    const { stdout } = await run('ps', PS_ARGS, { maxBuffer: 256 * 1024 * 1024 });
    return parsePsTable(stdout);
  };
  return {
    platform: 'darwin',
    readsEnvironment: false,
    readProcessTable: async () => tableOf(await readTable()),
    readStatus,
    async readChildren(pids) {
      const parents = new Set(pids);
      return (await readTable()).processes
        .filter((p) => parents.has(p.ppid))
        .map((p) => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: true }));
    },
    readEnvMarkers: async () => undefined, // another process's environment needs native code on macOS
    isForegroundJob() {
      try {
        // STAT contains '+' for processes in the terminal's foreground process group.
        return execFileSync('ps', ['-o', 'stat=', '-p', String(process.pid)], { encoding: 'utf8' }).includes('+');
      } catch {
        return undefined;
      }
    },
    selfIdentity() {
      if (!self) {
        const [p] = parsePsTable(execFileSync('ps', ['-ww', '-o', 'pid=,ppid=,rss=,lstart=,command=', '-p', String(process.pid)], { encoding: 'utf8' })).processes;
        if (!p) throw new Error(`ps: cannot read process ${process.pid}`);
        self = { pid: p.pid, startTime: p.startTime };
      }
      return self;
    },
    startTimeToEpochMs: (startTime) => startTime,
  };
}
