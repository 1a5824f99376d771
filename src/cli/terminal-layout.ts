// The layout of a terminal that output is written to: its width, and text measured, cut and wrapped
// by display width (a CJK character or an emoji takes two columns). The measuring packages are
// loaded only when a terminal is written to: piped output is printed whole and needs none of them.
import type { Layout } from './present.js';

/** The layout of the stream's terminal (80 columns when it does not say); undefined when the stream is not a terminal. */
export async function terminalLayout(stream: NodeJS.WriteStream): Promise<Layout | undefined> {
  if (!stream.isTTY) return undefined;
  const [{ default: stringWidth }, { default: cliTruncate }, { default: wrapAnsi }] = await Promise.all([import('string-width'), import('cli-truncate'), import('wrap-ansi')]);
  return {
    width: stream.columns > 0 ? stream.columns : 80,
    textWidth: (text) => stringWidth(text),
    cut: (text, columns) => cliTruncate(text, columns, { position: 'end' }),
    wrap: (text, columns) => wrapAnsi(text, columns, { hard: true, trim: true }),
  };
}
