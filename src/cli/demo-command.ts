// `rtrack demo`: runs a built-in leaky task under `rtrack run --reap`, so the user sees a leak found
// and cleaned up — only what the demo itself started, by pid and identity-checked.
import { packageFile } from '../files.js';
import { counted, memoryText, renderProse } from './present.js';
import { terminalLayout } from './terminal-layout.js';
import { executeRun } from './run-command.js';

export const DEMO_TASK = packageFile('dist/demo/leaky-task.js');

export async function demoCommand(options: { report?: string } = {}): Promise<number> {
  const layout = await terminalLayout(process.stderr);
  process.stderr.write(renderProse(['rtrack demo: a task that starts an MCP server and a browser, then exits without cleaning up', `$ rtrack run --reap --grace 1s -- node ${DEMO_TASK}`], layout));
  const { report } = await executeRun([process.execPath, DEMO_TASK], { reap: true, grace: 1000, report: options.report });
  const reaped = report.reaped ?? [];
  const removed = reaped.filter((r) => r.result === 'terminated' || r.result === 'killed' || r.result === 'gone').length;
  const clean = report.orphans.length > 0 && removed === report.orphans.length;
  const outcome = clean
    ? 'the machine is as it was.'
    : `${report.orphans.length - removed} of them are still running (see the list above).`;
  // The same figure as the summary above: what ending them gave back (PSS), RSS beside it.
  process.stderr.write(renderProse([`rtrack demo: found ${counted(report.orphans.length, 'leaked process', 'leaked processes')} (${memoryText(report.orphans)}) and removed ${removed} of them; ${outcome}`], layout));
  return report.orphans.length >= 2 && clean ? 0 : 1;
}
