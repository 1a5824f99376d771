// Edits of a JSON (with comments) file's text that touch only what they change: a member appended
// after the last one goes on lines of its own below it (the last one's line gets a comma, its
// trailing comment stays where it is), and a member removed takes its own lines with it and nothing
// else (a comment above the next member stays, a neighbour on the line above is not re-laid out).
// jsonc-parser's modify() re-formats every line an insertion or removal touches and removes the
// text between a member and its neighbour, comments included; it is used here only for what these
// cannot do without it (a member into an empty or one-line container, a value replaced in place).
// Pure: the parser is passed in (loaded where it is used).
import type * as JsoncParser from 'jsonc-parser';
import type { SettingsEdit } from './agent-hooks.js';

type Jsonc = Pick<typeof JsoncParser, 'applyEdits' | 'createScanner' | 'findNodeAtLocation' | 'modify' | 'parseTree'>;
type Node = JsoncParser.Node;

/** The text with one edit made (see SettingsEdit); the result is checked by the caller. */
export function applyJsonTextEdit(jsonc: Jsonc, text: string, edit: SettingsEdit, formatting: JsoncParser.FormattingOptions): string {
  const root = jsonc.parseTree(text, [], { disallowComments: false, allowTrailingComma: false });
  const own = root && (edit.value === undefined ? removal(jsonc, text, root, edit.path) : appending(jsonc, text, root, edit, formatting));
  if (own !== undefined) return own;
  return jsonc.applyEdits(text, jsonc.modify(text, edit.path, edit.value, { formattingOptions: formatting, ...(edit.insert ? { isArrayInsertion: true } : {}) }));
}

const isBlank = (s: string): boolean => /^[ \t]*$/.test(s);
const lineStartOf = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;

/**
 * Where the line of `offset` ends (its `\r\n` or `\n`), when only blanks and comments that end on
 * that line follow `offset` on it; undefined when anything else does (a comma, a bracket, a comment
 * running on to the next line).
 */
function endOfLineAfter(jsonc: Jsonc, text: string, offset: number): number | undefined {
  const scanner = jsonc.createScanner(text, false);
  scanner.setPosition(offset);
  for (;;) {
    const token = scanner.scan();
    const { Trivia, LineCommentTrivia, BlockCommentTrivia, LineBreakTrivia, EOF } = JSON_TOKENS;
    if (token === LineBreakTrivia) return scanner.getTokenOffset();
    if (token === EOF) return text.length;
    if (token === Trivia || token === LineCommentTrivia) continue;
    if (token === BlockCommentTrivia && !/[\r\n]/.test(scanner.getTokenValue())) continue;
    return undefined;
  }
}

/** The offset of the comma after a member (past blanks and comments), if one follows it. */
function commaAfter(jsonc: Jsonc, text: string, offset: number): number | undefined {
  const scanner = jsonc.createScanner(text, false);
  scanner.setPosition(offset);
  for (;;) {
    const token = scanner.scan();
    const { Trivia, LineCommentTrivia, BlockCommentTrivia, LineBreakTrivia, CommaToken } = JSON_TOKENS;
    if (token === CommaToken) return scanner.getTokenOffset();
    if (token === Trivia || token === LineCommentTrivia || token === BlockCommentTrivia || token === LineBreakTrivia) continue;
    return undefined;
  }
}

/** jsonc-parser's SyntaxKind values (a const enum, not importable at run time from a type import). */
const JSON_TOKENS = { CommaToken: 5, Trivia: 15, LineBreakTrivia: 14, LineCommentTrivia: 12, BlockCommentTrivia: 13, EOF: 17 } as const;

/** Removes the member at `path` (a property, or an array's element) and only it; undefined when it is not there or not on lines of its own. */
function removal(jsonc: Jsonc, text: string, root: Node, path: SettingsEdit['path']): string | undefined {
  const found = jsonc.findNodeAtLocation(root, path);
  if (!found) return undefined;
  const member = found.parent?.type === 'property' ? found.parent : found;
  const siblings = member.parent?.children ?? [];
  const index = siblings.indexOf(member);
  if (index < 0) return undefined;
  const start = member.offset;
  const end = member.offset + member.length;
  const lineStart = lineStartOf(text, start);
  if (!isBlank(text.slice(lineStart, start))) return undefined;
  const last = index === siblings.length - 1;
  const comma = last ? undefined : commaAfter(jsonc, text, end);
  if (!last && comma === undefined) return undefined;
  const lineEnd = endOfLineAfter(jsonc, text, comma === undefined ? end : comma + 1);
  if (lineEnd === undefined) return undefined;
  const through = text.startsWith('\r\n', lineEnd) ? lineEnd + 2 : text.startsWith('\n', lineEnd) ? lineEnd + 1 : lineEnd;
  let next = text.slice(0, lineStart) + text.slice(through);
  if (last && index > 0) {
    // the member before it is the last one now: its comma goes (it is before `lineStart`)
    const previous = siblings[index - 1]!;
    const before = commaAfter(jsonc, next, previous.offset + previous.length);
    if (before === undefined) return undefined;
    next = next.slice(0, before) + next.slice(before + 1);
  }
  return next;
}

/**
 * Appends a member after the last one of a container that has members, on lines of its own below
 * it, indented as it is; a property that is already there is not appended (undefined: replaced in
 * place by jsonc-parser), nor a member into a container whose last member does not end its line.
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
  const lastStart = lineStartOf(text, last.offset);
  const indent = text.slice(lastStart, last.offset);
  if (!isBlank(indent)) return undefined;
  const end = last.offset + last.length;
  const lineEnd = endOfLineAfter(jsonc, text, end);
  if (lineEnd === undefined || lineEnd === text.length) return undefined;
  const eol = formatting.eol ?? '\n';
  const unit = formatting.insertSpaces === false ? '\t' : ' '.repeat(formatting.tabSize ?? 2);
  const valueText = JSON.stringify(value, null, unit).split('\n').join(eol + indent);
  const member = edit.insert ? valueText : `${JSON.stringify(key)}: ${valueText}`;
  return `${text.slice(0, end)},${text.slice(end, lineEnd)}${eol}${indent}${member}${text.slice(lineEnd)}`;
}
