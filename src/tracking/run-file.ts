// A registered run's file: created in the temporary directory, unlinked at once, and held open by
// the tracking process until the run ends. `rtrack scan` reads the owner's open files: while the
// owner holds it, the run is in progress; when the run ended (or the owner crashed, which closes
// every descriptor) it is not. Nothing is left on disk, whatever happens.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFileName } from './task-tag.js';

export interface RunRegistration {
  /** Ends the run: closes the descriptor (idempotent). */
  close(): void;
}

/** Opens the run file for this tag's random part; undefined when it cannot be created (the tag then names the owner's lifetime). */
export function registerRun(random: string, directory = tmpdir()): RunRegistration | undefined {
  const path = join(directory, runFileName(random));
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600); // libuv opens with O_CLOEXEC: the task does not inherit it
  } catch {
    return undefined;
  }
  try {
    unlinkSync(path);
  } catch {
    // left on disk: harmless (empty, private), and still held open
  }
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    },
  };
}
