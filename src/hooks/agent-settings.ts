// An agent's settings file as rtrack reads and changes it: JSON (comments allowed where the agent
// reads them) parsed with jsonc-parser, a key given twice refused, rtrack's edits made on the text
// (json-text-edits.ts: comments, key order, numbers and every other byte stay; a one-line file
// becomes indented) and checked to change nothing else, and the file written the safe way
// (settings-file.ts). A failure is one line naming the file: a usage error (exit 2) when the file
// is not one rtrack may change, else an error (exit 1); the file is left as it was.
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../errors.js';
import { applyJsonTextEdit, lostComments } from './json-text-edits.js';
import { rtrackHooks, withoutRtrackHooks, type SettingsEdit } from './settings-edits.js';
import { FileRefused, readSmallFile, replaceFileText, type ReplaceOptions, type ReplaceResult } from './settings-file.js';

/** jsonc-parser, loaded when a hooks command runs (this module is bundled into the CLI; the parser stays in node_modules). */
type Jsonc = typeof import('jsonc-parser');
let jsonc: Jsonc | undefined;
const loadJsonc = (): Jsonc => (jsonc ??= createRequire(import.meta.url)('jsonc-parser') as Jsonc);

/** A settings file rtrack cannot use (a usage error, exit 2); `why` is what `hooks status` says of it. */
export class UnusableSettings extends UsageError {
  constructor(
    message: string,
    readonly why: string,
  ) {
    super(message);
  }
}

/**
 * A key given twice in one object (`"hooks": {…}, "hooks": {…}`), with the lines of both; undefined
 * when there is none. jsonc-parser's edits change the first, the agents (JSON.parse) read the last:
 * uninstall would remove hooks of the user's and leave rtrack's, install would add hooks the agent
 * never sees.
 */
function duplicateKey(text: string): { key: string; lines: [number, number] } | undefined {
  const root = loadJsonc().parseTree(text, [], { disallowComments: false, allowTrailingComma: false });
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length;
  const walk = (node: import('jsonc-parser').Node): { key: string; lines: [number, number] } | undefined => {
    if (node.type === 'object') {
      const seen = new Map<string, number>();
      for (const property of node.children ?? []) {
        const key = property.children?.[0];
        if (key?.type !== 'string') continue;
        const first = seen.get(key.value as string);
        if (first !== undefined) return { key: key.value as string, lines: [lineOf(first), lineOf(key.offset)] };
        seen.set(key.value as string, key.offset);
      }
    }
    for (const child of node.children ?? []) {
      const found = walk(child);
      if (found) return found;
    }
    return undefined;
  };
  return root && walk(root);
}

/**
 * The settings in a file's text; `{}` for no file. Text that is not JSON (comments allowed where
 * the agent reads them), or that gives a key twice in one object, is a usage error: such a file is
 * never written.
 */
export function parseSettings(path: string, text: string | undefined, comments: boolean): unknown {
  if (text === undefined || text.trim() === '') return {};
  const { parse, printParseErrorCode } = loadJsonc();
  const errors: import('jsonc-parser').ParseError[] = [];
  const settings: unknown = parse(text, errors, { disallowComments: !comments, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const before = text.slice(0, offset).split('\n');
    throw new UnusableSettings(`hooks: ${path} is not valid JSON (${printParseErrorCode(error)} at line ${before.length} column ${before.at(-1)!.length + 1}); it was left unchanged`, 'not valid JSON');
  }
  const duplicate = duplicateKey(text);
  if (duplicate) {
    const twice = `the key ${JSON.stringify(duplicate.key)} twice in one object (lines ${duplicate.lines.join(' and ')}): the agent reads only the last`;
    throw new UnusableSettings(`hooks: ${path} has ${twice}, an edit would change the first; remove one of them; it was left unchanged`, `not usable: ${twice}`);
  }
  return settings;
}

/** How the file is indented (the first indented line's indent; two spaces when none is) and its line ends. */
function formattingOf(text: string): import('jsonc-parser').FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent ? indent.length : 2, eol };
}

/**
 * The text with the edits made, one after the other. The result is checked: it parses, and apart
 * from rtrack's hooks it holds exactly what the original held (else rtrack refuses, nothing written).
 */
export function applySettingsEdits(path: string, text: string | undefined, edits: SettingsEdit[], comments: boolean): string {
  const jsonc = loadJsonc();
  const original = text === undefined || text.trim() === '' ? '{}\n' : text;
  const formatting = formattingOf(original);
  let next = original;
  for (const edit of edits) next = applyJsonTextEdit(jsonc, next, edit, formatting);
  // Every comment stays, but those inside rtrack's own hooks.
  const root = jsonc.parseTree(original, [], { disallowComments: false, allowTrailingComma: false });
  const found = root ? rtrackHooks(jsonc.getNodeValue(root)) : [];
  const ours = found.flatMap((h) => {
    // A group that holds only rtrack's hooks is rtrack's whole; in a user's group, only rtrack's hook is.
    const group = jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group]);
    const whole = found.filter((o) => o.event === h.event && o.group === h.group).length === jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group, 'hooks'])?.children?.length;
    const node = whole ? group : jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group, 'hooks', h.index]);
    return node ? [[node.offset, node.offset + node.length] as [number, number]] : [];
  });
  const lost = lostComments(jsonc, original, next, ours);
  if (lost.length > 0) throw new Error(`hooks: ${path}: editing the file would have lost a comment (${lost[0]!.slice(0, 60)}); it was left unchanged`);
  let same: boolean;
  try {
    same = isDeepStrictEqual(withoutRtrackHooks(parseSettings(path, next, comments)), withoutRtrackHooks(parseSettings(path, original, comments)));
  } catch {
    same = false;
  }
  if (!same) throw new Error(`hooks: ${path}: editing the file would have changed more than rtrack's hooks; it was left unchanged`);
  return next;
}

/** Changes the settings file safely (settings-file.ts); a failure is one line naming the file. */
export function changeSettings(path: string, edit: (text: string | undefined) => string | undefined, options: ReplaceOptions = {}): ReplaceResult {
  try {
    return replaceFileText(path, edit, options);
  } catch (err) {
    if (err instanceof UsageError || (err as Error).message.startsWith('hooks: ')) throw err;
    if (err instanceof FileRefused) throw new UsageError(`hooks: ${err.message}`);
    throw new Error(`hooks: ${(err as Error).message}`);
  }
}

/** A rule's complaint about the settings (not an object, `hooks` not an object…) as a usage error naming the file. */
export function planned(path: string, plan: () => SettingsEdit[]): SettingsEdit[] {
  try {
    return plan();
  } catch (err) {
    if (err instanceof UsageError) throw err; // the file's own (not valid JSON…): said already
    throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
  }
}

/** A settings file's (or config's) text, undefined when there is none; one that cannot be read (a FIFO, more than 1 MiB): a usage error. */
export function readIfThere(path: string): string | undefined {
  const read = readSmallFile(path);
  if (read && 'problem' in read) throw new UsageError(`hooks: ${path}: ${read.problem}`);
  return read?.text;
}
