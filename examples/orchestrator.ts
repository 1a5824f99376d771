// An orchestrator that embeds rtrack: it runs tasks one after another and several at once — one
// that leaks a server, one that crashes, one that times out, one it aborts, one that cannot start —
// and says for each how it ended, what it left (reaped), and what it used itself (its own account,
// beside the machine-wide delta). At the end a machine scan checks that nothing of its runs is left.
//
// Type-checked by `npm test` (tsc --strict --exactOptionalPropertyTypes). To run it here, after
// `npm run build`: `npx esbuild examples/orchestrator.ts --format=esm --outfile=orchestrator.mjs` in a
// project where `rtrack` is installed, then `node orchestrator.mjs` (or `npx tsx examples/orchestrator.ts`).
import { createLogger, reapOrphans, runTracked, scanMachine, type RunTrackedOptions, type TaskReport } from 'rtrack';

// The library is silent unless given a logger: this one writes the seed's WARN lines to stderr.
const logger = createLogger({ level: 'warn' });

/** What every task shares: reap what it leaves, hear leaks as they happen, a per-task memory threshold. */
const common: RunTrackedOptions = {
  logger,
  stdio: 'ignore',
  reap: { graceMs: 1000 },
  config: { lineageIntervalMs: 100, taskMemoryThresholdMB: 150 },
  onLeak: (leak) => console.log(`  heard while it ran: "${leak.command}" (pid ${leak.pid}) left its task`),
};

/** How a task ended, from the report's `outcome` (the type narrows on it). */
function howItEnded(report: TaskReport): string {
  switch (report.outcome) {
    case 'exited':
      return `exited ${report.exitCode}`;
    case 'signalled':
      return `crashed (${report.signal})`;
    case 'timed-out':
      return 'timed out';
    case 'aborted':
      return 'aborted';
    case 'not-started':
      return `did not start (${report.startFailure.cause} ${report.startFailure.code}: ${report.startFailure.message})`;
    default: {
      const never: never = report;
      return never;
    }
  }
}

function describe(name: string, report: TaskReport): string {
  const parts = [`${name}: ${howItEnded(report)}`];
  if (report.account) {
    const { memory, cpu } = report.account;
    parts.push(`its own peak ${memory.peakMB.toFixed(1)} MB (${memory.source})${memory.exceeded ? ' OVER ITS THRESHOLD' : ''}, CPU ${cpu.seconds.toFixed(2)} s (${cpu.source})`);
  }
  if (report.orphans.length > 0) {
    const results = (report.reaped ?? []).map((r) => `${r.command}: ${r.result}`);
    parts.push(`left ${report.orphans.length} (${results.join(', ')})`);
  }
  if (report.suspects.length > 0) parts.push(`${report.suspects.length} suspect(s) not attributed to it`);
  return parts.join('; ');
}

/** A node process that holds `mb` MB for `ms`. */
const holding = (mb: number, ms: number): string[] => ['-e', `const b = Buffer.alloc(${mb} * 1024 * 1024, 1); setTimeout(() => b.length, ${ms})`];

// One after another.
console.log('sequential:');
console.log(describe('build', await runTracked('sh', ['-c', 'echo built > /dev/null'], common)));
console.log(describe('leaky', await runTracked('bash', ['-c', 'bash -c "(exec -a mcp-server-example sleep 300) & sleep 0.3"; sleep 0.5'], common)));
console.log(describe('crash', await runTracked('sh', ['-c', 'kill -SEGV $$'], common)));
console.log(describe('slow', await runTracked('sleep', ['30'], { ...common, timeout: 300 })));
const controller = new AbortController();
setTimeout(() => controller.abort(), 200);
console.log(describe('cancelled', await runTracked('sleep', ['30'], { ...common, abortSignal: controller.signal })));
console.log(describe('typo', await runTracked('/nonexistent/agent', [], common)));

// Several at once: each report has its own leaks, suspects and account.
console.log('concurrent:');
const names = ['small', 'medium', 'large'];
const reports = await Promise.all([20, 60, 200].map((mb) => runTracked(process.execPath, holding(mb, 800), common)));
reports.forEach((report, i) => console.log(describe(names[i]!, report)));
const machine = reports.map((r) => r.memoryDeltaMB.toFixed(1)).join(', ');
console.log(`  (the machine-wide deltas, the seed's figure, of the same three: ${machine} MB)`);

// Nothing of this orchestrator's runs is left; had it been SIGKILLed mid-task, a scan would find what
// its runs left as certain leaks (their tags name this process), and reapOrphans would end them.
const scan = await scanMachine({ cpuSampleMs: 0 });
const ours = scan.certain.filter((group) => group.owner?.pid === process.pid).flatMap((group) => group.processes);
const reaped = ours.length > 0 ? await reapOrphans(ours, { graceMs: 1000 }) : [];
console.log(`left by this orchestrator's runs: ${ours.length}${reaped.length > 0 ? ` (reaped: ${reaped.map((r) => r.result).join(', ')})` : ''}`);
