// Checks of what a library caller passes: one line naming the option and what it must be, thrown at
// the call — a TypeError for a value of the wrong kind, a RangeError for one out of range — so that a
// typo (`timeout: NaN`, `graceMs: -1`, `followTask(1)`) fails loudly instead of looking like success.
import { constants } from 'node:os';

/** The longest delay a Node timer takes (about 24.8 days): longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * A duration in ms: a number from 0 to MAX_TIMER_MS (or Infinity with `infinite`); undefined passes.
 * `name` is how the caller wrote it (`runTracked: options.timeout`).
 */
export function checkDuration(name: string, value: unknown, options: { infinite?: boolean } = {}): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number of milliseconds (got ${describe(value)})`);
  if (options.infinite && value === Infinity) return;
  if (!(value >= 0 && value <= MAX_TIMER_MS)) {
    throw new RangeError(`${name} must be a number of milliseconds from 0 to ${MAX_TIMER_MS}${options.infinite ? ', or Infinity' : ''} (got ${describe(value)})`);
  }
}

/** A signal name this OS knows (`SIGTERM`); undefined passes. */
export function checkSignalName(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new TypeError(`${name} must be a signal name such as 'SIGTERM' (got ${describe(value)})`);
  if (!Object.hasOwn(constants.signals, value)) throw new RangeError(`${name} must be a signal name such as 'SIGTERM' (got ${describe(value)}: not a signal of this OS)`);
}

/** A process id: a whole number above 0 (above 1 with `notInit`: pid 1 is init, never a task's). */
export function checkPid(name: string, value: unknown, options: { notInit?: boolean } = {}): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a process id, a whole number (got ${describe(value)})`);
  const least = options.notInit ? 2 : 1;
  if (!Number.isSafeInteger(value) || value < least) {
    throw new RangeError(`${name} must be a process id, a whole number from ${least}${options.notInit ? ' (pid 1 is init: following it would make every process the task\'s)' : ''} (got ${describe(value)})`);
  }
}

/** An optional callback. */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function (got ${describe(value)})`);
}

/** An optional AbortSignal. */
export function checkAbortSignal(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || typeof (value as AbortSignal).aborted !== 'boolean' || typeof (value as AbortSignal).addEventListener !== 'function') {
    throw new TypeError(`${name} must be an AbortSignal (got ${describe(value)})`);
  }
}

/** One of the given strings; undefined passes. */
export function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${describe(value)})`);
}

/** An options argument: an object or undefined. */
export function checkOptionsObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) throw new TypeError(`${name} must be an object of options (got ${describe(value)})`);
}

/**
 * The options of a reap (`reapOrphans()`, `runTracked`'s `reap`): durations, the first signal, the
 * AbortSignal that cuts the grace period, and the lists of keep patterns and agents.
 */
export function checkReapOptions(name: string, options: unknown): void {
  checkOptionsObject(name, options);
  if (options === undefined) return;
  const o = options as Record<string, unknown>;
  if (o.signal !== undefined) throw new TypeError(`${name}.signal is not an option: pass the first signal as firstSignal`);
  checkDuration(`${name}.graceMs`, o.graceMs);
  checkDuration(`${name}.killWaitMs`, o.killWaitMs);
  checkSignalName(`${name}.firstSignal`, o.firstSignal);
  checkAbortSignal(`${name}.skipGrace`, o.skipGrace);
  checkFunction(`${name}.kill`, o.kill);
  if (o.keep !== undefined && !(Array.isArray(o.keep) && o.keep.every((k) => typeof k === 'string'))) throw new TypeError(`${name}.keep must be an array of regular expressions (strings) (got ${describe(o.keep)})`);
  if (o.agents !== undefined && !Array.isArray(o.agents)) throw new TypeError(`${name}.agents must be an array of agents (got ${describe(o.agents)})`);
}

export { describe as describeValue };
