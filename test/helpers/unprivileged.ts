// What a test run as another user (`nobody`) needs from this checkout. A checkout may live where
// other users cannot enter (`/root/...`, a `mktemp -d` folder: mode 0700): then the built package
// — bin/, dist/, package.json and the runtime dependencies — is staged in a world-readable
// temporary directory, removed by cleanup().
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

/** Whether every directory from / down to `path` lets others in (o+x). */
function othersCanEnter(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === parse(dir).root) return true;
  }
}

export interface UnprivilegedCopy {
  /** bin/rtrack.js as another user can run it. */
  rtrack: string;
  /** dist/index.js as another user can import it. */
  library: string;
  /** Whether the package was staged (the checkout is closed to others). */
  staged: boolean;
  cleanup(): void;
}

export function packageForOtherUsers(): UnprivilegedCopy {
  if (othersCanEnter(join(CHECKOUT, 'dist'))) {
    return { rtrack: join(CHECKOUT, 'bin', 'rtrack.js'), library: join(CHECKOUT, 'dist', 'index.js'), staged: false, cleanup() {} };
  }
  const root = mkdtempSync(join(tmpdir(), 'rtrack-staged-'));
  chmodSync(root, 0o755);
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CHECKOUT, part), join(root, part), { recursive: true });
  // Runtime dependencies only: the hidden lockfile marks the development ones.
  const lock = JSON.parse(readFileSync(join(CHECKOUT, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, info] of Object.entries(lock.packages)) {
    if (!info.dev && path.startsWith('node_modules/')) cpSync(join(CHECKOUT, path), join(root, path), { recursive: true });
  }
  // Directories created by the copies are 0755 under the usual umask; make sure of the top ones.
  for (const dir of ['node_modules', 'node_modules/@opentelemetry']) {
    try {
      chmodSync(join(root, dir), 0o755);
    } catch {
      // not there
    }
  }
  return { rtrack: join(root, 'bin', 'rtrack.js'), library: join(root, 'dist', 'index.js'), staged: true, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
