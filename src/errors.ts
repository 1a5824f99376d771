// Error kinds the CLI maps to exit statuses (usage/config → 2), and the library's misuse of a tracker.
// A task that cannot start is no error: its report says why (`outcome: 'not-started'`, `startFailure`).
// UsageError is the CLI's and src/hooks/' (`rtrack hooks`), not exported by the package.

/** A configuration file or value is wrong; the message names the file and key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A mistake in how rtrack was called: one line on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Reading the process table failed; the message says what could not be read. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/**
 * A tracker's methods were called out of order (`detectOrphans()` before `snapshotAfter()`,
 * `followTask()` before `snapshotBefore()`, a second `snapshotBefore()` without `reset()`): the
 * message names the call and what must come first. `code` is Node's `ERR_INVALID_STATE`.
 */
export class TrackerStateError extends Error {
  override readonly name = 'TrackerStateError';
  readonly code = 'ERR_INVALID_STATE';
}
