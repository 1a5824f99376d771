// promtool from Debian's `prometheus` package (see debian-tools.ts for when it is missing).
import { spawnSync } from 'node:child_process';

/** Runs promtool with input on stdin; returns its exit status and output. */
export function promtool(args: string[], input = ''): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
