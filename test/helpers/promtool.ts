// promtool/prometheus from Debian's `prometheus` package: CI installs it (.ci/run); a developer
// machine without it skips these checks with a clear message, CI never does.
import { execFileSync, spawnSync } from 'node:child_process';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export function requireOrSkip(name: string): boolean {
  if (hasCommand(name)) return true;
  if (process.env.CI) throw new Error(`${name} is missing on CI: .ci/run should have installed Debian's prometheus package`);
  console.warn(`skipping: ${name} not installed (apt-get install prometheus)`);
  return false;
}

/** Runs promtool with input on stdin; returns its exit status and output. */
export function promtool(args: string[], input = ''): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export { execFileSync };
