// What the agents' SessionStart and SessionEnd hooks receive on stdin, and what the reasons a
// session ended with mean. Pure: on the hook's start-up path (`rtrack session start|end`).

/**
 * The words a session's end is recorded with (the journal's `reason`): the SessionEnd hook's own
 * `reason`, as each agent gives it, or rtrack's `agent exited` when no SessionEnd ran. What each
 * means, for people (`rtrack sessions`); a word not known here is shown as it is.
 */
export const END_REASONS: Readonly<Record<string, string>> = {
  'agent exited': 'no SessionEnd hook ran: the agent was killed, or crashed',
  other: "the agent ended without naming why: Claude Code's word for a `claude -p` run that finished, a closed terminal, a signal it handled",
  prompt_input_exit: 'the user left at the prompt (/exit, Ctrl+D)',
  exit: 'the agent exited normally (Gemini CLI)',
  clear: '/clear: the conversation was cleared (the process went on, under a new session id)',
  logout: 'the user logged out',
  bypass_permissions_disabled: "Claude Code's bypass-permissions mode was turned off",
  dispose: 'opencode shut the session down (the end of `opencode run`, /exit)',
};

/** `other: the agent ended without naming why…`, or the word alone when it is not known. */
export function endReasonText(reason: string): string {
  const meaning = Object.hasOwn(END_REASONS, reason) ? END_REASONS[reason] : undefined;
  return meaning === undefined ? reason : `${reason}: ${meaning}`;
}

/** What a SessionStart or SessionEnd hook receives on stdin (the fields rtrack uses). */
export interface HookInput {
  session_id: string;
  hook_event_name: string;
  cwd?: string;
  transcript_path?: string;
  /** SessionStart: startup, resume, clear or compact. */
  source?: string;
  /** SessionEnd: why the session ended (clear, logout, prompt_input_exit, other). */
  reason?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the hook's stdin; a line saying what is wrong when it is not a hook payload. */
export function parseHookInput(text: string): HookInput | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'no hook input on stdin' : 'hook input on stdin is not JSON';
  }
  if (!isObject(data)) return 'hook input is not a JSON object';
  if (typeof data.session_id !== 'string' || data.session_id === '') return 'hook input has no session_id';
  if (typeof data.hook_event_name !== 'string') return 'hook input has no hook_event_name';
  const input: HookInput = { session_id: data.session_id, hook_event_name: data.hook_event_name };
  for (const key of ['cwd', 'transcript_path', 'source', 'reason'] as const) if (typeof data[key] === 'string') input[key] = data[key];
  return input;
}
