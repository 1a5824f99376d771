// How a command line is shown: arguments joined by spaces, at most 100 characters plus `...`.
export const COMMAND_MAX_CHARS = 100;

/**
 * Truncates to 100 characters counted as code points, so a character outside the BMP is never
 * split into half a surrogate pair; falls back to the process name when the command line is empty.
 */
export function displayCommand(commandLine: string, name: string): string {
  const text = commandLine.length > 0 ? commandLine : name;
  if (text.length <= COMMAND_MAX_CHARS) return text;
  let index = 0;
  for (let count = 0; count < COMMAND_MAX_CHARS && index < text.length; count++) {
    index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  }
  return index >= text.length ? text : `${text.slice(0, index)}...`;
}
