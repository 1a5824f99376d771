// Temporary directories for tests, removed when the test file ends (whatever happened in it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
// Registered when a test file imports this helper (each file has its own module instance), so it
// also covers directories made inside tests.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory `rtrack-<prefix>-XXXXXX` under the temporary directory, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rtrack-${prefix}-`));
  made.push(dir);
  return dir;
}
