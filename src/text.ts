// Text from other processes (command lines, names) on its way to a terminal or a log line.

/**
 * Control characters (C0, DEL, C1), line and paragraph separators and bidi controls: a command
 * line may hold any of them, and printed raw they would forge lines, recolour or reorder the
 * terminal (ps shows them as '?').
 */
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One line of plain text: unprintable characters become visible escapes (`\n`, `\x1b`, `\u202e`). */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED_ESCAPES[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

// The same class without the global flag: test() on a global regex keeps state between calls.
const ANY_UNPRINTABLE = new RegExp(UNPRINTABLE.source);

/** Whether the text holds a character that must not reach a terminal raw. */
export function hasUnprintable(text: string): boolean {
  return ANY_UNPRINTABLE.test(text);
}

/** One word for a POSIX shell, whatever it holds: single-quoted, each `'` written as `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
