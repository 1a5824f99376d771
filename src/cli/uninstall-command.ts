// `rtrack uninstall`: says what rtrack wrote for this user and will remove (src/hooks/uninstall-all.ts
// finds it and removes it), asks (or takes --yes), and says what could not be removed. Not rtrack
// itself (`npm uninstall -g rtrack` does that), and not a project's settings: named, with the
// command that removes their hooks.
import { createInterface } from 'node:readline/promises';
import { removeAll, uninstallPlan, type UninstallPlan } from '../hooks/uninstall-all.js';

export interface UninstallOptions {
  dryRun?: boolean;
  yes?: boolean;
}

function planLines(p: UninstallPlan): string[] {
  const lines: string[] = [];
  for (const h of p.hooks) lines.push(h.agent === 'opencode' ? `  rtrack's opencode plugin ${h.path}` : `  the ${h.agent} hooks in ${h.path}`);
  if (p.config) lines.push(`  the per-user config ${p.config}`);
  if (p.state) lines.push(`  the state directory ${p.state} (session records, the journal, logs)`);
  for (const b of p.backups) lines.push(`  ${b} (a backup rtrack made)`);
  return lines;
}

/** Lines about what stays: a project's hooks, files that cannot be read. */
function leftLines(p: UninstallPlan): string[] {
  return [
    ...p.unreadable.map((u) => `rtrack: ${u.path} is left as it is (${u.why}): \`rtrack hooks status\` says why; mend it and run \`rtrack uninstall\` again`),
    ...(p.keptLeft
      ? [`rtrack: ${p.keptLeft.dir} is left: ${p.keptLeft.records === 1 ? 'a record' : `${p.keptLeft.records} records`} of what runs kept that still runs (without it a later rtrack would take that for a leak); remove it once those processes have exited`]
      : []),
    ...p.projects.map((f) => `rtrack: this project's ${f.path} holds rtrack's hooks and is left as it is (a repository's file): \`rtrack hooks uninstall ${f.agent} --settings ${f.path}\` removes them`),
  ];
}

async function confirmed(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question('Remove them? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

export async function uninstallCommand(options: UninstallOptions): Promise<number> {
  const p = await uninstallPlan();
  const lines = planLines(p);
  const left = leftLines(p);
  if (lines.length === 0) {
    process.stdout.write(`${['rtrack: nothing to remove: rtrack wrote nothing for this user (no hooks, no config, no state, no backups)', ...left].join('\n')}\n`);
    return 0;
  }
  process.stdout.write(`rtrack uninstall ${options.dryRun ? 'would remove' : 'removes'}:\n${lines.join('\n')}\n${left.map((l) => `${l}\n`).join('')}`);
  if (options.dryRun) return 0;
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write('rtrack: nothing was removed: give --yes to remove them (stdin is not a terminal to ask on)\n');
      return 1;
    }
    if (!(await confirmed())) {
      process.stdout.write('rtrack: nothing was removed\n');
      return 1;
    }
  }
  const failed = await removeAll(p, process.stdout);
  if (failed.length > 0) {
    process.stderr.write(`${failed.map((f) => `rtrack: could not remove ${f}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('rtrack: done; `npm uninstall -g rtrack` removes rtrack itself\n');
  return 0;
}
