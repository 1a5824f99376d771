// Logging with pino's call shape — logger.warn(fields, message) — so a pino logger can be passed as
// is. Ours writes the seed's text lines (`WARN message key=value ...`) or one JSON object a line.
import type { Writable } from 'node:stream';
import { hasUnprintable, UNPRINTABLE } from './text.js';

/** Key/value fields of a log line. */
export type LogFields = Record<string, unknown>;

/** A logger with pino's call shape (`logger.warn(fields, message)`): a pino logger fits as is. */
export interface Logger {
  /** Something happened (a snapshot, a reap). */
  info(fields: LogFields, message: string): void;
  /** Something needs attention (orphans, memory growth). */
  warn(fields: LogFields, message: string): void;
  /** Tracking failed in part (the report says what). */
  error(fields: LogFields, message: string): void;
}

/** `text`: the seed's lines; `json`: one object a line. */
export type LogFormat = 'text' | 'json';
/** The lowest level written. */
export type LogLevel = 'info' | 'warn' | 'error' | 'silent';

/** Options of `createLogger()`. */
export interface LoggerOptions {
  format?: LogFormat;
  /** Where lines go (default: process.stderr). */
  stream?: Pick<Writable, 'write'>;
  /** Lowest level written (default: info). */
  level?: LogLevel;
}

const RANK: Record<LogLevel, number> = { info: 30, warn: 40, error: 50, silent: 100 };

/** Configured figures are shown as configured (`threshold_mb=100`), measured ones with one decimal. */
const CONFIGURED_KEYS = new Set(['threshold_mb']);

/** Formats one value the way the seed's lines show it: `_mb` keys with one decimal, quoted when needed. */
export function formatTextValue(key: string, value: unknown): string {
  let text: string;
  if (typeof value === 'number' && key.endsWith('_mb') && !CONFIGURED_KEYS.has(key)) text = value.toFixed(1);
  else if (typeof value === 'string') text = value;
  else if (value === undefined) text = '';
  else if (typeof value === 'object' && value !== null) text = JSON.stringify(value);
  else text = String(value);
  if (!/[\s,"=]/.test(text) && text !== '' && !hasUnprintable(text)) return text;
  // JSON escapes the C0 controls (a newline cannot forge a line); the rest of UNPRINTABLE too.
  return JSON.stringify(text).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatTextLine(level: string, message: string, fields: LogFields): string {
  let line = `${level.toUpperCase()} ${message}`;
  for (const [key, value] of Object.entries(fields)) line += ` ${key}=${formatTextValue(key, value)}`;
  return line;
}

/** A logger writing the seed's text lines (`WARN message key=value …`) or JSON lines, to stderr by default. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'text';
  const stream = options.stream ?? process.stderr;
  const threshold = RANK[options.level ?? 'info'];
  const write = (level: 'info' | 'warn' | 'error', fields: LogFields, message: string): void => {
    if (RANK[level] < threshold) return;
    const line =
      format === 'json'
        ? JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })
        : formatTextLine(level, message, fields);
    stream.write(`${line}\n`);
  };
  return {
    info: (fields, message) => write('info', fields, message),
    warn: (fields, message) => write('warn', fields, message),
    error: (fields, message) => write('error', fields, message),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
