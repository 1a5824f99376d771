// The text after a command's options in its help (exit statuses, notes, examples), laid out to the
// width commander lays the rest out to: the terminal's, or 80 columns when the help is piped. Written
// as it reads best in the source; here:
//   - lines that start at the margin run on as one paragraph, wrapped;
//   - an indented line stays a line of its own: an example (`  rtrack scan      what it does`) keeps
//     its command whole and wraps its description under itself; any other (a list, a config's
//     lines) wraps under its own indent;
//   - a blank line stays.
// Help is ASCII: its width is its length.

/** Words of `text` in lines of at most `width` (a word longer than that on a line of its own). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/).filter(Boolean)) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The text laid out in `width` columns (see above). */
export function layOutHelp(text: string, width: number): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) out.push(...wrapWords(paragraph.join(' '), width));
    paragraph = [];
  };
  for (const line of text.split('\n')) {
    const indent = /^ */.exec(line)![0].length;
    if (line.trim() === '') {
      flush();
      out.push('');
    } else if (indent === 0) paragraph.push(line.trim());
    else {
      flush();
      if (line.length <= width) {
        out.push(line);
        continue;
      }
      // An example: the command, then two or more spaces, then what it does.
      const example = /^( +)(\S.*?)( {2,})(\S.*)$/.exec(line);
      if (example && example[1]!.length + example[2]!.length + example[3]!.length <= width - 20) {
        const column = example[1]!.length + example[2]!.length + example[3]!.length;
        const [first, ...rest] = wrapWords(example[4]!, width - column);
        out.push(`${example[1]}${example[2]}${example[3]}${first}`, ...rest.map((r) => `${' '.repeat(column)}${r}`));
      } else out.push(...wrapWords(line.trim(), width - indent).map((r) => `${' '.repeat(indent)}${r}`));
    }
  }
  flush();
  return out.join('\n');
}

/** The width commander gives the help: the terminal's, else 80 columns. */
function helpWidth(error: boolean): number {
  const stream = error ? process.stderr : process.stdout;
  return stream.isTTY && stream.columns > 0 ? stream.columns : 80;
}

/** An `addHelpText` argument that lays `text` out when the help is shown. */
export function helpText(text: string): (context: { error: boolean }) => string {
  return (context) => layOutHelp(text, helpWidth(context.error));
}
