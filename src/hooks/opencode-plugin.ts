// rtrack's opencode plugin: the file `rtrack hooks install opencode` writes, and how it is
// recognised as rtrack's. Pure: the paths in, the file's text out (and back).
//
// opencode 1.18.33 (recorded in shared/agents/opencode-1.18.33) has no hooks of Claude Code's shape;
// its plugins are ES modules that run inside the opencode process itself (its embedded Bun; in the
// TUI in a worker thread of the same process), loaded from `$XDG_CONFIG_HOME/opencode/plugins/` (and
// the older `plugin/`) and a project's `.opencode/plugins/`. A plugin gets bus events (session.created,
// session.idle, … — no session end), a `dispose` hook when opencode shuts its instance down (not when
// `opencode run` is killed by a signal: then nothing runs), and a `shell.env` hook that adds variables
// to every bash-tool command, given the session id. A plugin must not listen for SIGTERM: opencode run
// then no longer dies on it.

/** The plugin's file name in opencode's plugin directory. */
export const OPENCODE_PLUGIN_FILE = 'rtrack.js';
/** opencode's global plugin directory under its config directory (`$XDG_CONFIG_HOME/opencode`); a project's is `.opencode/plugins`. */
export const OPENCODE_PLUGIN_DIRECTORY = 'plugins';

/** What rtrack's plugin runs: `<node> <bin/rtrack.js> session start|end --agent opencode --pid <opencode> [--config <file>]`. */
export interface OpencodePlugin {
  /** The Node executable (absolute). */
  node: string;
  /** rtrack's bin/rtrack.js (absolute). */
  bin: string;
  /** The YAML config the follower is told to read (absolute). */
  config?: string;
}

const HEADER = '// rtrack: the opencode plugin of rtrack (resource-tracker), version 1.';

/**
 * The plugin's text. It never gets in opencode's way: every rtrack command runs detached, one after
 * the other (a later registration must not be overtaken by an earlier one), through `/bin/sh` so that
 * the hook JSON reaches rtrack's stdin even when opencode exits right after (`dispose`); a missing
 * rtrack or Node is skipped without a word; every error is swallowed (rtrack logs its own problems in
 * its state directory's hooks.log); no signal listener is added.
 */
export function opencodePluginText(plugin: OpencodePlugin): string {
  const constants = [`const NODE = ${JSON.stringify(plugin.node)};`, `const RTRACK = ${JSON.stringify(plugin.bin)};`, `const CONFIG = ${plugin.config === undefined ? 'null' : JSON.stringify(plugin.config)};`];
  return `${HEADER}
// Written by \`rtrack hooks install opencode\`, removed by \`rtrack hooks uninstall opencode\`; an edited
// copy is no longer rtrack's (install then leaves it alone). It tells rtrack which opencode process
// runs which session, so that what a session leaves behind is found and, if you asked for it, reaped:
//   on load          rtrack session start --agent opencode --pid <this opencode>  (session pid-<pid>)
//   a new session    the same with the session's id (session.created, or the first event of a
//                    continued session: \`opencode run --continue\` keeps the id in a new process)
//   shell.env        OPENCODE_SESSION_ID=<session id> in every bash-tool command
//   dispose          rtrack session end --agent opencode --pid <this opencode>
// Each runs detached and in turn; nothing here can fail or delay opencode, and no signal is listened to.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

${constants.join('\n')}

let queue = Promise.resolve();

function rtrack(subcommand, input) {
  queue = queue.then(() => new Promise((done) => {
    try {
      if (!existsSync(NODE) || !existsSync(RTRACK)) return done();
      const args = [RTRACK, "session", subcommand, "--agent", "opencode", "--pid", String(process.pid)];
      if (CONFIG !== null) args.push("--config", CONFIG);
      const child = spawn("/bin/sh", ["-c", 'printf "%s" "$1" | { shift; exec "$@"; }', "sh", JSON.stringify(input), NODE, ...args], { detached: true, stdio: "ignore" });
      const timer = setTimeout(done, 10000);
      timer.unref?.();
      child.on("error", done);
      child.on("exit", done);
      child.unref();
    } catch {
      done();
    }
  })).catch(() => {});
}

export const RtrackSessions = async (ctx) => {
  const cwd = typeof ctx?.directory === "string" ? ctx.directory : process.cwd();
  let session = "pid-" + process.pid;
  let named = false;
  const begin = (id, directory) => {
    named = true;
    if (typeof id !== "string" || id === "" || id === session) return;
    session = id;
    rtrack("start", { session_id: id, hook_event_name: "SessionStart", cwd: typeof directory === "string" ? directory : cwd });
  };
  try {
    rtrack("start", { session_id: session, hook_event_name: "SessionStart", cwd, source: "startup" });
  } catch {}
  return {
    event: async ({ event }) => {
      try {
        const properties = event?.properties ?? {};
        if (event?.type === "session.created") {
          if (!properties.info?.parentID) begin(properties.info?.id ?? properties.sessionID, properties.info?.directory);
        } else if (!named && typeof properties.sessionID === "string") begin(properties.sessionID, properties.info?.directory);
      } catch {}
    },
    "shell.env": async (input, output) => {
      try {
        if (typeof input?.sessionID !== "string" || input.sessionID === "") return;
        if (!named) begin(input.sessionID, input.cwd);
        if (output?.env) output.env.OPENCODE_SESSION_ID = input.sessionID;
      } catch {}
    },
    dispose: async () => {
      try {
        rtrack("end", { session_id: session, hook_event_name: "SessionEnd", cwd, reason: "dispose" });
      } catch {}
    },
  };
};
`;
}

const CONSTANTS = /^const NODE = ("(?:[^"\\\n]|\\.)*");\nconst RTRACK = ("(?:[^"\\\n]|\\.)*");\nconst CONFIG = (null|"(?:[^"\\\n]|\\.)*");$/m;

/**
 * rtrack's plugin, recognised exactly: the text opencodePluginText() writes for some absolute paths,
 * byte for byte, with bin/rtrack.js as the script. Anything else — a copy someone edited, a plugin of
 * theirs named rtrack.js — is not rtrack's: never overwritten, never removed.
 */
export function parseOpencodePlugin(text: string): OpencodePlugin | undefined {
  if (!text.startsWith(HEADER)) return undefined;
  const m = CONSTANTS.exec(text);
  if (!m) return undefined;
  let plugin: OpencodePlugin;
  try {
    const node = JSON.parse(m[1]!) as unknown;
    const bin = JSON.parse(m[2]!) as unknown;
    const config = JSON.parse(m[3]!) as unknown;
    if (typeof node !== 'string' || typeof bin !== 'string' || (config !== null && typeof config !== 'string')) return undefined;
    plugin = { node, bin, ...(typeof config === 'string' ? { config } : {}) };
  } catch {
    return undefined;
  }
  const absolute = [plugin.node, plugin.bin, ...(plugin.config === undefined ? [] : [plugin.config])].every((p) => p.startsWith('/'));
  if (!absolute || !plugin.bin.endsWith('/bin/rtrack.js')) return undefined;
  return opencodePluginText(plugin) === text ? plugin : undefined;
}

/** Undefined when a plugin file's text is rtrack's plugin; else a line saying why it is left alone (someone else's file of that name, an edited copy). */
export function notOurPlugin(path: string, text: string): string | undefined {
  return parseOpencodePlugin(text) === undefined ? `${path} is not rtrack's plugin (a file of that name that rtrack did not write, or an edited copy); it was left unchanged` : undefined;
}
