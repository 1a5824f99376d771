// `rtrack demo`: runs a built-in leaky task under `rtrack run --reap`, so the user sees a leak found
// and cleaned up — only what the demo itself started, by pid and identity-checked.
import { packageFile } from '../files.js';
import { executeRun } from './run-command.js';

export const DEMO_TASK = packageFile('dist/demo/leaky-task.js');

export async function demoCommand(options: { report?: string } = {}): Promise<number> {
  process.stderr.write('rtrack demo: a task that starts an MCP server and a browser, then exits without cleaning up\n');
  process.stderr.write(`$ rtrack run --reap --grace 1000 -- node ${DEMO_TASK}\n`);
  const { report } = await executeRun([process.execPath, DEMO_TASK], { reap: true, grace: 1000, report: options.report });
  const reaped = report.reaped ?? [];
  const removed = reaped.filter((r) => r.result === 'terminated' || r.result === 'killed' || r.result === 'gone').length;
  const clean = report.orphans.length > 0 && removed === report.orphans.length;
  const outcome = clean
    ? 'the machine is as it was.'
    : `${report.orphans.length - removed} of them are still running (see the list above).`;
  process.stderr.write(
    `rtrack demo: found ${report.orphans.length} leaked processes (${report.leakedMemoryMB.toFixed(1)} MB) and removed ${removed} of them; ${outcome}\n`,
  );
  return report.orphans.length >= 2 && clean ? 0 : 1;
}
