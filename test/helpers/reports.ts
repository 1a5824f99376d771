// Report files for CLI tests: a fresh temporary directory per test file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.js';
import type { TaskReport } from '../../src/index.js';

export function reportFiles(prefix: string): { dir: string; reportPath: () => string; readReport: (path: string) => TaskReport } {
  const dir = tempDir(prefix);
  let n = 0;
  return {
    dir,
    reportPath: () => join(dir, `report-${++n}.json`),
    readReport: (path) => JSON.parse(readFileSync(path, 'utf8')) as TaskReport,
  };
}
