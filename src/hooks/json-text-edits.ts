// Edits of a JSON (with comments) file's text that touch only what they change. A member appended
// after the last one goes on lines of its own below it, indented as that line, when the last one
// ends its line (a comma after it, its trailing comment left where it is), or on the same line,
// compact, when something follows it there (`[ {…} ]`, `{ "a": 1 } /* c */ }`). A member removed
// takes its own text and its comma, and the lines that leave blank — never a comment outside it,
// never a neighbour's layout. So appending a member then removing it gives the text back byte for
// byte. jsonc-parser's modify() re-formats every line an insertion or removal touches and removes
// the text between a member and its neighbour, comments included: it is used only for a member
// put into an empty container, and for a value replaced in place.
// Pure: the parser is passed in (loaded where it is used).
import type * as JsoncParser from 'jsonc-parser';
import type { SettingsEdit } from './settings-edits.js';

type Jsonc = Pick<typeof JsoncParser, 'applyEdits' | 'createScanner' | 'findNodeAtLocation' | 'modify' | 'parseTree'>;
type Node = JsoncParser.Node;

/** The text with one edit made (see SettingsEdit); the result is checked by the caller. */
export function applyJsonTextEdit(jsonc: Jsonc, text: string, edit: SettingsEdit, formatting: JsoncParser.FormattingOptions): string {
  const root = jsonc.parseTree(text, [], { disallowComments: false, allowTrailingComma: false });
  const own = root && (edit.value === undefined ? removal(jsonc, text, root, edit.path) : appending(jsonc, text, root, edit, formatting));
  if (own !== undefined) return own;
  return jsonc.applyEdits(text, jsonc.modify(text, edit.path, edit.value, { formattingOptions: formatting, ...(edit.insert ? { isArrayInsertion: true } : {}) }));
}

/** jsonc-parser's SyntaxKind values (a const enum, not importable at run time from a type import). */
const TOKEN = { CommaToken: 5, LineCommentTrivia: 12, BlockCommentTrivia: 13, LineBreakTrivia: 14, Trivia: 15, EOF: 17 } as const;

const lineStartOf = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
/** Where the line of `offset` ends: its `\r\n` or `\n`, or the end of the text. */
function lineEndOf(text: string, offset: number): number {
  const n = text.indexOf('\n', offset);
  if (n < 0) return text.length;
  return n > 0 && text[n - 1] === '\r' ? n - 1 : n;
}
const lineBreakAt = (text: string, offset: number): string => (text.startsWith('\r\n', offset) ? '\r\n' : text.startsWith('\n', offset) ? '\n' : '');

/**
 * Where the line of `offset` ends, when only blanks and comments that end on that line follow
 * `offset` on it; undefined when anything else does (a bracket, another member, a comment running
 * on to the next line).
 */
function endOfLineAfter(jsonc: Jsonc, text: string, offset: number): number | undefined {
  const scanner = jsonc.createScanner(text, false);
  scanner.setPosition(offset);
  for (;;) {
    const token = scanner.scan();
    if (token === TOKEN.LineBreakTrivia) return scanner.getTokenOffset();
    if (token === TOKEN.EOF) return text.length;
    if (token === TOKEN.Trivia || token === TOKEN.LineCommentTrivia) continue;
    if (token === TOKEN.BlockCommentTrivia && !/[\r\n]/.test(text.slice(scanner.getTokenOffset(), scanner.getPosition()))) continue;
    return undefined;
  }
}

/** The offset of the comma after a member (past blanks, line breaks and comments), if one follows it. */
function commaAfter(jsonc: Jsonc, text: string, offset: number): number | undefined {
  const scanner = jsonc.createScanner(text, false);
  scanner.setPosition(offset);
  for (;;) {
    const token = scanner.scan();
    if (token === TOKEN.CommaToken) return scanner.getTokenOffset();
    if (token === TOKEN.Trivia || token === TOKEN.LineCommentTrivia || token === TOKEN.BlockCommentTrivia || token === TOKEN.LineBreakTrivia) continue;
    return undefined;
  }
}

/** The comments of a text, each with where it starts. */
export function commentsOf(jsonc: Jsonc, text: string): { offset: number; text: string }[] {
  const scanner = jsonc.createScanner(text, false);
  const found: { offset: number; text: string }[] = [];
  for (let token = scanner.scan(); token !== TOKEN.EOF; token = scanner.scan()) {
    if (token === TOKEN.LineCommentTrivia || token === TOKEN.BlockCommentTrivia) {
      const offset = scanner.getTokenOffset();
      found.push({ offset, text: text.slice(offset, offset + scanner.getTokenLength()) });
    }
  }
  return found;
}

/**
 * The comments of `before` that `after` does not hold (as many times): all of them but those inside
 * one of `exempt` (ranges of `before`: what the edits were to remove).
 */
export function lostComments(jsonc: Jsonc, before: string, after: string, exempt: readonly [number, number][] = []): string[] {
  const left = new Map<string, number>();
  for (const c of commentsOf(jsonc, after)) left.set(c.text, (left.get(c.text) ?? 0) + 1);
  const lost: string[] = [];
  for (const c of commentsOf(jsonc, before)) {
    if (exempt.some(([a, b]) => c.offset >= a && c.offset < b)) continue;
    const n = left.get(c.text) ?? 0;
    if (n > 0) left.set(c.text, n - 1);
    else lost.push(c.text);
  }
  return lost;
}

/** Blanks (spaces, tabs) right before `offset` on its line: where they start. */
function blanksBefore(text: string, offset: number): number {
  let i = offset;
  while (i > 0 && (text[i - 1] === ' ' || text[i - 1] === '\t')) i--;
  return i;
}
/** Blanks right after `offset` on its line: where they end. */
function blanksAfter(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  return i;
}

/**
 * Deletes ranges of the text (not overlapping), then every line they touched that is left blank,
 * with its line break.
 */
function deleteRanges(text: string, ranges: [number, number][]): string {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  // Whole lines to take: a touched line whose text outside the ranges is blank.
  const lines: [number, number][] = [];
  for (const [from, to] of sorted) {
    if (to <= from) continue;
    // The lines from the one holding its first character to the one holding its last.
    for (let start = lineStartOf(text, from); start < to; ) {
      const end = lineEndOf(text, start);
      const through = end + lineBreakAt(text, end).length;
      let rest = '';
      let at = start;
      for (const [a, b] of sorted) {
        if (b <= start || a >= end) continue;
        rest += text.slice(at, Math.max(at, a));
        at = Math.max(at, b);
      }
      rest += text.slice(Math.min(at, end), end);
      if (/^[ \t]*$/.test(rest) && !lines.some(([a]) => a === start)) lines.push([start, through]);
      if (through === start || through >= text.length) break;
      start = through;
    }
  }
  const all = [...sorted, ...lines].sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [a, b] of all) {
    if (a > at) out += text.slice(at, a);
    at = Math.max(at, b);
  }
  return out + text.slice(at);
}

/** Removes the member at `path` (a property, or an array's element) and its comma; undefined when it is not there. */
function removal(jsonc: Jsonc, text: string, root: Node, path: SettingsEdit['path']): string | undefined {
  const found = jsonc.findNodeAtLocation(root, path);
  if (!found) return undefined;
  const member = found.parent?.type === 'property' ? found.parent : found;
  const siblings = member.parent?.children ?? [];
  const index = siblings.indexOf(member);
  if (index < 0) return undefined;
  const start = member.offset;
  const end = member.offset + member.length;
  if (index < siblings.length - 1) {
    // Its comma follows it: right after it, the two go with the blanks after the comma on its line
    // (`[ {r}, {a} ]` → `[ {a} ]`); with a comment between, the comment stays (`2 /* c */, 3` → `/* c */ 3`).
    const comma = commaAfter(jsonc, text, end);
    if (comma === undefined) return undefined;
    if (blanksAfter(text, end) === comma) return deleteRanges(text, [[start, blanksAfter(text, comma + 1)]]);
    const commaFirst = /^[ \t]*$/.test(text.slice(lineStartOf(text, comma), comma)); // `  , next`: the blanks after it go too
    return deleteRanges(text, [
      [start, blanksAfter(text, end)],
      [comma, commaFirst ? blanksAfter(text, comma + 1) : comma + 1],
    ]);
  }
  if (index === 0) return deleteRanges(text, [[start, end]]);
  // The last one: the comma after the one before it goes, and the blanks before it on its line (`{a}, {r} ]` → `{a} ]`).
  const previous = siblings[index - 1]!;
  const comma = commaAfter(jsonc, text, previous.offset + previous.length);
  if (comma === undefined) return undefined;
  return deleteRanges(text, [
    [comma, comma + 1],
    [Math.max(comma + 1, blanksBefore(text, start)), end],
  ]);
}

/**
 * Appends a member after the last one of a container that has members: on lines of its own below
 * it when it ends its line, else on its line. A property that is already there is not appended
 * (undefined: replaced in place by jsonc-parser), nor a member into an empty container.
 */
function appending(jsonc: Jsonc, text: string, root: Node, edit: SettingsEdit, formatting: JsoncParser.FormattingOptions): string | undefined {
  // The deepest object on the path that is there: missing properties below it are appended to it
  // as one (`hooks` with its `SessionStart` list, into settings without `hooks`).
  let depth = edit.path.length - 1;
  let value = edit.value;
  if (!edit.insert) {
    if (jsonc.findNodeAtLocation(root, edit.path)) return undefined;
    while (depth > 0 && !jsonc.findNodeAtLocation(root, edit.path.slice(0, depth))) {
      const missing = edit.path[depth];
      if (typeof missing !== 'string') return undefined;
      value = { [missing]: value! };
      depth--;
    }
  }
  const key = edit.path[depth]!;
  const container = depth === 0 ? root : jsonc.findNodeAtLocation(root, edit.path.slice(0, depth));
  if (!container) return undefined;
  if (edit.insert) {
    if (container.type !== 'array' || (key !== -1 && key !== container.children?.length)) return undefined;
  } else if (container.type !== 'object' || typeof key !== 'string') return undefined;
  const last = container.children?.at(-1);
  if (!last) return undefined;
  const end = last.offset + last.length;
  const named = (valueText: string): string => (edit.insert ? valueText : `${JSON.stringify(key)}: ${valueText}`);
  const lineEnd = endOfLineAfter(jsonc, text, end);
  if (lineEnd === undefined) return `${text.slice(0, end)}, ${named(JSON.stringify(value))}${text.slice(end)}`; // something follows it on its line
  const eol = lineBreakAt(text, lineEnd) || formatting.eol || '\n';
  const indent = /^[ \t]*/.exec(text.slice(lineStartOf(text, last.offset)))![0];
  const unit = formatting.insertSpaces === false ? '\t' : ' '.repeat(formatting.tabSize ?? 2);
  const valueText = JSON.stringify(value, null, unit).split('\n').join(eol + indent);
  return `${text.slice(0, end)},${text.slice(end, lineEnd)}${eol}${indent}${named(valueText)}${text.slice(lineEnd)}`;
}
