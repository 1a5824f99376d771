// Error kinds the CLI maps to exit statuses: usage/config → 2, not executable → 126, not found → 127.

/** A configuration file or value is wrong; the message names the file and key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reading the process table failed; the message says what could not be read. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/** The task's command could not be started. */
export class CommandNotFoundError extends Error {
  override readonly name = 'CommandNotFoundError';
}

/** The task's command exists but cannot be executed (exit 126, as in a shell). */
export class CommandNotExecutableError extends Error {
  override readonly name = 'CommandNotExecutableError';
}
