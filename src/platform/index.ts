// Chooses the reader for the OS we run on.
import { createDarwinReader, isForegroundJobDarwin } from './darwin.js';
import { createLinuxReader, isForegroundJobLinux } from './linux.js';
import { createWindowsReader } from './windows.js';
import type { PlatformReader } from './types.js';

let current: PlatformReader | undefined;

export function platformReader(): PlatformReader {
  if (current) return current;
  switch (process.platform) {
    case 'linux':
      current = createLinuxReader();
      break;
    case 'darwin':
      current = createDarwinReader();
      break;
    case 'win32':
      current = createWindowsReader();
      break;
    default:
      throw new Error(`unsupported platform: ${process.platform} (supported: linux, darwin, win32)`);
  }
  return current;
}

/**
 * Whether this process is in its terminal's foreground process group — job control, which the CLI
 * needs to tell a Ctrl+C from a `kill -INT`; undefined where the OS cannot tell (Windows).
 */
export function isForegroundJob(): boolean | undefined {
  if (process.platform === 'linux') return isForegroundJobLinux();
  if (process.platform === 'darwin') return isForegroundJobDarwin();
  return undefined;
}

export type { PlatformReader, RawProcess, ProcessStatus, EnvMarkers, ProcessTable, ReadTableOptions } from './types.js';
