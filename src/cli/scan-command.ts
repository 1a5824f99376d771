// `rtrack scan`: leaks of past sessions on this machine; with --reap, removes the certain ones
// (and suspected trees only when the user names them with --match and confirms with --yes).
import { resolveConfig } from '../config.js';
import { reapCgroup, reapOrder, reapOrphans, type ReapOutcome } from '../operations/reap.js';
import { scanMachine, type ScanReport } from '../operations/scan-machine.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
import type { AttributedProcess } from '../types.js';
import { RunCgroup } from '../platform/cgroup.js';
import { fullCommand, matchPatternFor } from '../rules/patterns.js';
import { requireReapFor, UsageError, withKeepPatterns } from './common.js';
import { counted, renderNothingToReap, renderNotReaped, renderPortHolders, renderReapOutcomes, renderReapPlan, renderScan } from './present.js';
import { canSignal } from '../rules/users.js';
import { terminalLayout } from './terminal-layout.js';

export interface ScanCommandOptions {
  json?: boolean;
  all?: boolean;
  config?: string;
  keep?: string[];
  reap?: boolean;
  match?: string;
  /** With --reap: only the certain leaks of this agent session. */
  session?: string;
  yes?: boolean;
  dryRun?: boolean;
  grace?: number;
  port?: number;
  /** Read the cost of every suspected tree (not only the largest) and sample CPU use for 200 ms. */
  fullCost?: boolean;
  /** Every user's leaks, not only the invoking user's (root sees everyone's anyway). */
  allUsers?: boolean;
}

/** Without --full-cost: how many suspected processes have their cost read, the largest trees first (about 100 µs each). */
const SUSPECT_COST_BUDGET = 100;

/** The `--match` pattern that names a suspected tree's root among the scan's suspected roots. */
function reapPattern(scan: ScanReport): (group: LeakGroup) => string {
  return (group) => matchPatternFor(group.root, scan.suspected.map((g) => g.root));
}

/** A plan entry as --json gives it: what a person sees of each process — its evidence, memory and group. */
function planEntry(p: AttributedProcess, scan: ScanReport): Record<string, unknown> {
  const holds = (g: LeakGroup): boolean => g.processes.some((q) => q.pid === p.pid);
  const certain = scan.certain.find(holds);
  const group = certain ?? scan.suspected.find(holds);
  return {
    pid: p.pid,
    command: p.command,
    evidence: p.evidence,
    memoryMB: p.memoryMB,
    ...(p.memoryBytes !== undefined ? { memoryBytes: p.memoryBytes } : {}),
    ...(p.cost?.pssBytes !== undefined ? { pssBytes: p.cost.pssBytes } : {}),
    ...(p.cost?.listening?.length ? { listening: p.cost.listening } : {}),
    kind: certain ? 'certain' : 'suspected',
    ...(group ? { group: { root: group.root.pid, ...(group.tag ? { tag: group.tag } : {}), ...(group.session ? { session: { agent: group.session.agent, sessionId: group.session.sessionId } } : {}) } } : {}),
  };
}

export async function scanCommand(options: ScanCommandOptions): Promise<number> {
  requireReapFor(options, { match: '--match', yes: '--yes', dryRun: '--dry-run', session: '--session' });
  if (options.port !== undefined && options.reap) throw new UsageError('--port asks who holds a port; it does not go with --reap');
  let match: RegExp | undefined;
  if (options.match !== undefined) {
    try {
      match = new RegExp(options.match);
    } catch (err) {
      throw new UsageError(`--match: invalid regular expression ${JSON.stringify(options.match)}: ${(err as Error).message}`);
    }
  }
  const config = withKeepPatterns(await resolveConfig(options.config, 'machine'), options.keep);
  const scan = await scanMachine({
    all: options.all,
    keep: config.keep,
    keepSharedDaemons: config.keepSharedDaemons,
    agents: config.agents,
    port: options.port,
    users: options.allUsers ? 'all' : 'mine',
    ...(match && options.reap ? { match } : {}),
    // A CPU sample (a 200 ms wait) only when asked for; else the share since each process started.
    cpuSampleMs: options.fullCost ? 200 : 0,
    ...(options.fullCost ? {} : { suspectCostBudget: SUSPECT_COST_BUDGET }),
  });
  // With --json, stdout carries exactly one JSON document in every mode; what people read goes to stderr.
  const out = options.json ? process.stderr : process.stdout;
  const layout = await terminalLayout(out);
  if (options.port !== undefined) return printPortHolders(scan, options.port, options.json === true, layout);
  const printJson = (reaped?: ReapOutcome[], plan?: AttributedProcess[]): void => {
    if (!options.json) return;
    const extra = { ...(reaped ? { reaped } : {}), ...(plan ? { plan: plan.map((p) => planEntry(p, scan)) } : {}) };
    process.stdout.write(`${JSON.stringify({ ...scan, ...extra }, null, 2)}\n`);
  };
  if (!options.json) process.stdout.write(renderScan(scan, layout));
  if (!options.reap) {
    printJson();
    return 0;
  }
  return reapScanned({ scan, options, config, match, out, layout, printJson });
}

/** "Who holds port 3000?" — a leak, a kept process, or one that is neither; exit 1 when nobody does. */
function printPortHolders(scan: ScanReport, port: number, json: boolean, layout: Awaited<ReturnType<typeof terminalLayout>>): number {
  const holders = scan.portHolders ?? [];
  if (json) {
    const entries = holders.map((h) => ({
      kind: h.kind,
      pid: h.process.pid,
      ppid: h.process.ppid,
      command: h.process.command,
      listening: h.listening,
      ...(h.group?.tag ? { tag: h.group.tag } : {}),
      ...(h.group?.session ? { session: h.group.session } : {}),
      ...(h.group ? { root: h.group.root.pid } : {}),
      ...(h.process.user ? { user: h.process.user } : {}),
      ...(h.notReaped ? { notReaped: h.notReaped } : {}),
    }));
    process.stdout.write(`${JSON.stringify({ port, holders: entries, unreadable: scan.portUnreadable ?? 0 }, null, 2)}\n`);
  } else process.stdout.write(renderPortHolders(port, holders, scan.portUnreadable ?? 0, reapPattern(scan), layout, scan.scannedAs));
  return holders.length > 0 ? 0 : 1;
}

/**
 * `scan --reap`: the certain leaks (of --session only, with it), the suspected trees --match names,
 * and the leftover run groups of runs that are over — or, with nothing to reap, why; with --dry-run
 * (or --match without --yes), the plan.
 */
async function reapScanned(ctx: {
  scan: ScanReport;
  options: ScanCommandOptions;
  config: Pick<Awaited<ReturnType<typeof resolveConfig>>, 'keep' | 'keepSharedDaemons' | 'agents'>;
  match: RegExp | undefined;
  out: NodeJS.WriteStream;
  layout: Awaited<ReturnType<typeof terminalLayout>>;
  printJson: (reaped?: ReapOutcome[], plan?: AttributedProcess[]) => void;
}): Promise<number> {
  const { scan, options, config, match, out, layout, printJson } = ctx;
  // What the invoking user cannot signal (another user's, with --all-users) is never offered or sent a signal.
  const yours = (p: Pick<AttributedProcess, 'user'>): boolean => canSignal(scan.scannedAs, p);
  const certain: AttributedProcess[] = scan.certain.filter((g) => options.session === undefined || g.session?.sessionId === options.session).flatMap((g) => g.processes).filter(yours);
  // --match is matched against the command line as keep patterns are, not its 100-character display form.
  const named: AttributedProcess[] = match ? scan.suspected.filter((g) => match.test(fullCommand(g.root))).flatMap((g) => g.processes).filter(yours) : [];
  const targets = [...certain, ...named];
  const grace = options.grace ?? 3000;
  const overGroups = options.session === undefined ? scan.leftoverCgroups.filter((g) => g.runOver) : [];
  // What --match names and is not reaped, and why (the gate's words where the gate refuses it).
  if (match && scan.notReaped && scan.notReaped.length > 0) out.write(renderNotReaped(options.match!, scan.notReaped, layout));
  if (targets.length === 0 && overGroups.length === 0) {
    // Say why the suspected trees listed above were left alone, and how to name them (those that are yours).
    const nameable = match && scan.notReaped && scan.notReaped.length > 0 ? [] : scan.suspected.filter((g) => yours(g.root));
    const othersTrees = scan.suspected.filter((g) => !yours(g.root)).length;
    out.write(renderNothingToReap(nameable.map((group) => ({ group, pattern: reapPattern(scan)(group) })), layout, othersTrees));
    printJson([]);
    return 0;
  }
  if (options.dryRun || (named.length > 0 && !options.yes)) {
    const ordered = reapOrder(targets);
    out.write(renderReapPlan(ordered, grace, layout));
    if (!options.dryRun) out.write(`rtrack: ${counted(named.length, 'suspected process', 'suspected processes')} ${named.length === 1 ? 'matches' : 'match'} --match; nothing was signalled. Add --yes to reap them.\n`);
    printJson(undefined, ordered);
    return options.dryRun ? 0 : 1;
  }
  // Suspects carry only heuristic evidence: they are reaped because the user named them (--match --yes).
  const gate = { keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents, by: 'scan' as const };
  const reaped = targets.length > 0 ? await reapOrphans(targets, { ...gate, graceMs: grace, allowUnattributed: named.length > 0 }) : [];
  // Leftover groups of runs that are over: what is still inside was the run's, except what the gate
  // refuses (kept, in use, rtrack's own), which is moved out first or, when it cannot be (rtrack or
  // its ancestors), keeps the group from being killed whole.
  for (const g of overGroups) {
    const result = await reapCgroup(RunCgroup.open(g.path), { ...gate, graceMs: grace });
    reaped.push(...result.outcomes);
    const left = result.left.length > 0 ? ` (left in it: ${result.left.map((l) => (l.pid === undefined ? l.reason : `pid ${l.pid}, ${l.reason}`)).join('; ')})` : '';
    out.write(`rtrack: ${result.removed ? 'removed' : 'could not remove'} the leftover cgroup ${g.path}${left}\n`);
  }
  printJson(reaped);
  if (reaped.length > 0) out.write(renderReapOutcomes(reaped, layout, [...targets]));
  return 0;
}
