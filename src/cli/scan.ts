// `rtrack scan`: leaks of past sessions on this machine; with --reap, removes the certain ones
// (and suspected trees only when the user names them with --match and confirms with --yes).
import { reapOrder, reapOrphans, scanMachine, type ProcessInfo } from '../index.js';
import { resolveConfig, UsageError, withKeepPatterns } from './common.js';
import { renderReapOutcomes, renderReapPlan, renderScan } from './present.js';

export interface ScanCommandOptions {
  json?: boolean;
  all?: boolean;
  config?: string;
  keep?: string[];
  reap?: boolean;
  match?: string;
  yes?: boolean;
  dryRun?: boolean;
  grace?: number;
}

export async function scanCommand(options: ScanCommandOptions): Promise<number> {
  let match: RegExp | undefined;
  if (options.match !== undefined) {
    if (!options.reap) throw new UsageError('--match only applies with --reap');
    try {
      match = new RegExp(options.match);
    } catch (err) {
      throw new UsageError(`--match: invalid regular expression ${JSON.stringify(options.match)}: ${(err as Error).message}`);
    }
  }
  const config = withKeepPatterns(await resolveConfig(options.config), options.keep);
  const scan = await scanMachine({ all: options.all, keep: config.keep });
  const out = options.json ? process.stderr : process.stdout;
  if (options.json && !options.reap) process.stdout.write(`${JSON.stringify(scan, null, 2)}\n`);
  else if (!options.json) process.stdout.write(renderScan(scan));
  if (!options.reap) return 0;

  const certain: ProcessInfo[] = scan.certain.flatMap((g) => g.processes);
  const named: ProcessInfo[] = match ? scan.suspected.filter((g) => match.test(g.root.command)).flatMap((g) => g.processes) : [];
  const targets = [...certain, ...named];
  const grace = options.grace ?? 3000;
  if (targets.length === 0) {
    out.write('rtrack: nothing to reap\n');
    if (options.json) process.stdout.write(`${JSON.stringify({ ...scan, reaped: [] }, null, 2)}\n`);
    return 0;
  }
  if (options.dryRun || (named.length > 0 && !options.yes)) {
    out.write(renderReapPlan(reapOrder(targets), grace));
    if (!options.dryRun) {
      out.write(`rtrack: ${named.length} suspected processes match --match; nothing was signalled. Add --yes to reap them.\n`);
      return 1;
    }
    return 0;
  }
  const reaped = await reapOrphans(targets, { graceMs: grace });
  if (options.json) process.stdout.write(`${JSON.stringify({ ...scan, reaped }, null, 2)}\n`);
  else out.write(renderReapOutcomes(reaped));
  return 0;
}
