// Tools from Debian's packages that some tests drive for real (promtool, prometheus, chromium).
// CI installs them (.ci/run); a developer machine without one skips those checks with a clear
// message naming the package, CI never does.
import { spawnSync } from 'node:child_process';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name]).status === 0;
}

export function requireOrSkip(command: string, debianPackage: string): boolean {
  if (hasCommand(command)) return true;
  if (process.env.CI) throw new Error(`${command} is missing on CI: .ci/run should have installed Debian's ${debianPackage} package`);
  console.warn(`skipping: ${command} not installed (apt-get install ${debianPackage})`);
  return false;
}
