// The layout of a terminal that output is written to: its width, and text measured, cut and wrapped
// by display width (a CJK character or an emoji takes two columns). The measuring packages are
// loaded only when a terminal is written to: piped output is printed whole and needs none of them.
import { shellQuote } from '../text.js';
import { renderProse, type Layout } from './present.js';

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

/** A line that is one of rtrack's commands to copy (`  rtrack scan --reap --match '…' --yes`, `$ rtrack run …`): broken only between shell words. */
const COMMAND = /^( *)(\$ )?rtrack (run|scan|snapshot|watch|hooks|session|sessions|demo|uninstall)( |$)/;

/** The shell words of a command line, quotes kept (`'a b'` is one word). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((quote === '"' || quote === undefined) && c === '\\' && i + 1 < text.length) {
      word += c + text[++i]!; // the escaped character is the word's, whatever it is
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ' ') {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    word += c;
  }
  if (word !== '') words.push(word);
  return words;
}

/** A shell word's value: its quotes and backslashes taken away, as the shell takes them. */
function wordValue(word: string): string {
  let value = '';
  let quote: string | undefined;
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else value += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < word.length && '"\\$`'.includes(word[i + 1]!)) value += word[++i];
      else value += c;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\' && i + 1 < word.length) value += word[++i];
    else value += c;
  }
  return value;
}

/**
 * A word too wide for any line, in single-quoted pieces the shell joins back into that one word:
 * `'…'\` ends each line but the last, and the next piece starts at the margin (spaces there would
 * split the word). The first piece fills what `first` columns leave; the others the whole line.
 */
function splitWord(word: string, first: number, layout: Layout): string[] {
  const pieces: string[] = [];
  let piece = '';
  let room = first;
  for (const c of wordValue(word)) {
    const next = piece + c;
    if (piece !== '' && layout.textWidth(`${shellQuote(next)} \\`) > room) { // room for the ` \` after the last piece too
      pieces.push(`${shellQuote(piece)}\\`);
      piece = c;
      room = layout.width;
    } else piece = next;
  }
  pieces.push(shellQuote(piece));
  return pieces;
}

/**
 * One line fitted to the terminal: as it is when it fits; a command to copy broken between shell
 * words with ` \`, so that what is pasted is still that one command (a word wider than a line — a
 * long regular expression — in single-quoted pieces the shell joins again); anything else wrapped
 * as prose, continuation lines indented (present.ts's rule).
 */
export function fitLine(line: string, layout: Layout): string[] {
  if (layout.textWidth(line) <= layout.width) return [line];
  const command = COMMAND.exec(line);
  if (!command) return renderProse([line], layout).replace(/\n$/, '').split('\n');
  const lead = command[1]!;
  const continuation = `${lead}    `;
  const out: string[] = [];
  let current = '';
  for (const word of shellWords(line.slice(lead.length))) {
    if (current === '') current = `${lead}${word}`;
    else if (layout.textWidth(`${current} ${word} \\`) <= layout.width) current += ` ${word}`;
    else {
      out.push(`${current} \\`);
      current = `${continuation}${word}`;
    }
    if (layout.textWidth(`${current} \\`) > layout.width) {
      // One word wider than a line: split where it stands (it is the last thing on `current`).
      const before = current.slice(0, current.length - word.length);
      const pieces = splitWord(word, layout.width - layout.textWidth(before), layout);
      if (pieces.length > 1) {
        out.push(`${before}${pieces[0]}`, ...pieces.slice(1, -1));
        current = pieces.at(-1)!;
      }
    }
  }
  out.push(current);
  return out;
}

/**
 * Has everything written to a terminal fit its width: each line a write holds is fitted (fitLine)
 * on its way out. What is already fitted (tables, wrapped prose) passes unchanged; a line too wide
 * — a log line, a hint, a path in a message — is wrapped. For terminals only: piped output is
 * whole, and so is what is machine-read (the CLI leaves `--json` and JSON log lines alone).
 */
export function fitWrites(stream: NodeJS.WriteStream, layout: Layout): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const fit = (text: string): string =>
    text
      .split('\n')
      .map((segment) => {
        const cr = segment.endsWith('\r') ? '\r' : '';
        const line = cr ? segment.slice(0, -1) : segment;
        return fitLine(line, layout).join(`${cr}\n`) + cr;
      })
      .join('\n');
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return write(fit(chunk), ...rest);
    if (Buffer.isBuffer(chunk)) return write(fit(chunk.toString('utf8')), ...rest.filter((r) => typeof r === 'function'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
