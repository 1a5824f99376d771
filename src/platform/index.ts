// Chooses the reader for the OS we run on.
import { createDarwinReader } from './darwin.js';
import { createLinuxReader } from './linux.js';
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

export type { PlatformReader, RawProcess, ProcessStatus, EnvMarkers, ProcessTable, ReadTableOptions } from './types.js';
