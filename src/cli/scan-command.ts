// `rtrack scan`: leaks of past sessions on this machine; with --reap, removes the certain ones
// (and suspected trees only when the user names them with --match and confirms with --yes).
import { resolveConfig } from '../config.js';
import { reapCgroup, reapOrder, reapOrphans, type ReapOutcome } from '../operations/reap.js';
import { scanMachine } from '../operations/scan-machine.js';
import type { ProcessInfo } from '../types.js';
import { RunCgroup } from '../platform/cgroup.js';
import { fullCommand } from '../rules/patterns.js';
import { UsageError, withKeepPatterns } from './common.js';
import { renderPortHolders, renderReapOutcomes, renderReapPlan, renderScan } from './present.js';

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
  port?: number;
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
  const config = withKeepPatterns(await resolveConfig(options.config, 'machine'), options.keep);
  const scan = await scanMachine({ all: options.all, keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents });
  // With --json, stdout carries exactly one JSON document in every mode; what people read goes to stderr.
  const out = options.json ? process.stderr : process.stdout;
  if (options.port !== undefined) {
    if (options.reap) throw new UsageError('--port asks which leak holds a port; it does not go with --reap');
    // "Which leak holds port 3000?" — among the certain and suspected leaks; exit 1 when none does.
    const holders = [...scan.certain.map((g) => ['certain', g] as const), ...scan.suspected.map((g) => ['suspected', g] as const)].flatMap(([kind, group]) =>
      group.processes.filter((p) => p.cost?.listening?.some((l) => l.port === options.port)).map((p) => ({ kind, group, process: p })),
    );
    if (options.json) process.stdout.write(`${JSON.stringify({ port: options.port, holders: holders.map((h) => ({ kind: h.kind, pid: h.process.pid, command: h.process.command, tag: h.group.tag, session: h.group.session, listening: h.process.cost?.listening })) }, null, 2)}\n`);
    else process.stdout.write(renderPortHolders(options.port, holders));
    return holders.length > 0 ? 0 : 1;
  }
  const printJson = (reaped?: ReapOutcome[], plan?: ProcessInfo[]): void => {
    if (!options.json) return;
    const extra = { ...(reaped ? { reaped } : {}), ...(plan ? { plan: plan.map((p) => ({ pid: p.pid, command: p.command })) } : {}) };
    process.stdout.write(`${JSON.stringify({ ...scan, ...extra }, null, 2)}\n`);
  };
  if (!options.json && options.port === undefined) process.stdout.write(renderScan(scan));
  if (!options.reap) {
    printJson();
    return 0;
  }

  const certain: ProcessInfo[] = scan.certain.flatMap((g) => g.processes);
  // --match is matched against the command line as keep patterns are, not its 100-character display form.
  const named: ProcessInfo[] = match ? scan.suspected.filter((g) => match.test(fullCommand(g.root))).flatMap((g) => g.processes) : [];
  const targets = [...certain, ...named];
  const grace = options.grace ?? 3000;
  const overGroups = scan.leftoverCgroups.filter((g) => g.runOver);
  if (targets.length === 0 && overGroups.length === 0) {
    out.write('rtrack: nothing to reap\n');
    printJson([]);
    return 0;
  }
  if (options.dryRun || (named.length > 0 && !options.yes)) {
    const ordered = reapOrder(targets);
    out.write(renderReapPlan(ordered, grace));
    if (!options.dryRun) out.write(`rtrack: ${named.length} suspected processes match --match; nothing was signalled. Add --yes to reap them.\n`);
    printJson(undefined, ordered);
    return options.dryRun ? 0 : 1;
  }
  // Suspects carry only heuristic evidence: they are reaped because the user named them (--match --yes).
  const gate = { keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents };
  const reaped = targets.length > 0 ? await reapOrphans(targets, { ...gate, graceMs: grace, allowUnattributed: named.length > 0 }) : [];
  // Leftover groups of runs that are over: what is still inside was the run's, except what the gate
  // refuses (kept, in use, rtrack's own), which is moved out first or, when it cannot be (rtrack or
  // its ancestors), keeps the group from being killed whole.
  for (const g of overGroups) {
    const result = await reapCgroup(RunCgroup.open(g.path), { ...gate, graceMs: grace });
    reaped.push(...result.outcomes);
    const left = result.left.length > 0 ? ` (left in it: ${result.left.map((l) => `pid ${l.pid}, ${l.reason}`).join('; ')})` : '';
    out.write(`rtrack: ${result.removed ? 'removed' : 'could not remove'} the leftover cgroup ${g.path}${left}\n`);
  }
  printJson(reaped);
  if (reaped.length > 0) out.write(renderReapOutcomes(reaped));
  return 0;
}
