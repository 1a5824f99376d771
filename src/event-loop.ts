// Long synchronous work (reading /proc, converting records) runs in blocks of about BLOCK_MS, with
// a turn of the caller's event loop between them, so that a snapshot never stalls its timers.

/** How long one block of synchronous work may run before it yields. */
export const BLOCK_MS = 2;

/**
 * Lets the event loop turn (its timers and I/O callbacks run) before the work goes on.
 * Mind where it is called from: an immediate queued in an I/O callback runs in the same turn, so
 * work resumed after an I/O wait yields once before its first block (or two blocks run as one).
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
