// Option parsing and config resolution shared by the commands. Errors here are usage errors (exit 2).
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError, UsageError } from '../errors.js';
import { createLogger, type Logger, type LogFormat } from '../log.js';
import { compileKeepPatterns } from '../rules/patterns.js';
import type { ResourceTrackerConfig } from '../types.js';

/** A mistake in how rtrack was called: one line on stderr, exit 2 (src/errors.ts: src/hooks/ throws it too). */
export { UsageError };

export function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number.');
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return n;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A duration with its unit — `500ms`, `15s`, `2m`, `1h` — in milliseconds. Every duration option
 * takes these; a bare number keeps the unit it had before units were accepted: `bare`.
 */
function durationIn(value: string, bare: keyof typeof UNIT_MS, minMs: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const example = bare === 'ms' ? 'such as 500ms, 3s or 1m (a bare number is milliseconds)' : 'such as 500ms, 15s or 2m (a bare number is seconds)';
  if (!match) throw new InvalidArgumentError(`expected a duration ${example}.`);
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? bare) as keyof typeof UNIT_MS];
  if (ms < minMs) throw new InvalidArgumentError(`expected at least ${minMs}ms.`);
  return ms;
}

/** `--interval`, `--linger`: `15s`, `500ms`, `2m`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  return durationIn(value, 's', 10);
}

/** `--grace`: `3s`, `500ms`, `1m`, or a bare number of milliseconds (what --grace always took) → milliseconds. */
export function parseGrace(value: string): number {
  return durationIn(value, 'ms', 0);
}

/** How a default duration is shown in help: in the units the flag takes (`15s`, not `15000`). */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}

/** A count of things (`--limit`): a whole number from 1. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number from 1, such as 20.');
  return n;
}

/** A process id (`--pid`): a whole number from 1. */
export function parsePid(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a process id (a whole number from 1).');
  return n;
}

/** Options that only change what --reap does are a usage error without it (one line, exit 2). */
export function requireReapFor<T extends { reap?: boolean }>(options: T, flags: Partial<Record<keyof T, string>>): void {
  if (options.reap) return;
  for (const key of Object.keys(flags) as (keyof T)[]) {
    if (options[key] !== undefined && options[key] !== false) throw new UsageError(`${flags[key]} only applies with --reap`);
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `--keep` patterns to the config; a bad one is a config error naming it. */
export function withKeepPatterns(config: ResourceTrackerConfig, patterns: string[] | undefined): ResourceTrackerConfig {
  const keep = patterns ?? [];
  try {
    compileKeepPatterns(keep, '--keep');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { ...config, keep: [...config.keep, ...keep] };
}

/** Checks up front that a report file can be created, so a bad path never costs a task's report. */
export function checkOutputPath(path: string | undefined, option: string): void {
  if (path === undefined || path === '-') return;
  const dir = dirname(resolve(path));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`${option} ${path}: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${option} ${path}: is a directory`);
}

export interface LogOptions {
  logFormat?: LogFormat;
  quiet?: boolean;
}

export function cliLogger(options: LogOptions): Logger {
  return createLogger({ format: options.logFormat ?? 'text', level: options.quiet ? 'warn' : 'info' });
}
