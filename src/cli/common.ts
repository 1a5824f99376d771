// Option parsing and config resolution shared by the commands. Errors here are usage errors (exit 2).
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger, type LogFormat } from '../log.js';
import { compileKeepPatterns } from '../rules/patterns.js';
import type { ResourceTrackerConfig } from '../types.js';

/** A mistake in how rtrack was called: one line on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

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

/** `15s`, `500ms`, `2m`, or a plain number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 500ms, 15s or 2m.');
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(match[1]) * factor;
  if (ms < 10) throw new InvalidArgumentError('expected at least 10ms.');
  return ms;
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
