// Report files for CLI tests: a fresh temporary directory per test file.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskReport } from '../../src/index.js';

export function reportFiles(prefix: string): { dir: string; reportPath: () => string; readReport: (path: string) => TaskReport } {
  const dir = mkdtempSync(join(tmpdir(), `rtrack-${prefix}-`));
  let n = 0;
  return {
    dir,
    reportPath: () => join(dir, `report-${++n}.json`),
    readReport: (path) => JSON.parse(readFileSync(path, 'utf8')) as TaskReport,
  };
}
