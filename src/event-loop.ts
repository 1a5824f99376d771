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

/**
 * The one way long loops share the event loop: `if ((i & 15) === 0 && budget.spent()) await
 * budget.yield()` — check the clock every few items (reading it costs too), yield when the block
 * has run BLOCK_MS, and start a new block after the turn.
 */
export class BlockBudget {
  private start = performance.now();

  /** The current block has run its time. */
  spent(): boolean {
    return performance.now() - this.start > BLOCK_MS;
  }

  /** Yields to the event loop and starts a new block. */
  async yield(): Promise<void> {
    await yieldToLoop();
    this.start = performance.now();
  }
}
