// rtrack: commander wiring. Each command lives in its own file; this maps errors to exit statuses
// (usage and config errors → 2) and prints them as one line.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { homedir } from 'node:os';
import { userConfigPath, type ConfigScope } from '../config.js';
import { ConfigError } from '../errors.js';
import { packageFile } from '../files.js';
import { SHARED_DAEMONS } from '../rules/patterns.js';
import { helpText } from './help-text.js';
import { collect, formatDuration, parseCount, parseDuration, parseGrace, parseNonNegativeNumber, parsePid, parsePort, UsageError } from './common.js';
// Each command's module is loaded when that command runs: `rtrack --version` or a hook's
// `rtrack session start` never pays for the others (prom-client is loaded by watch alone).
import type { HooksOptions } from './hooks-command.js';
import type { SessionOptions } from './session-command.js';
import type { RunOptions } from './run-command.js';
import type { ScanCommandOptions } from './scan-command.js';
import type { SnapshotOptions } from './snapshot-command.js';
import type { WatchOptions } from './watch-command.js';

const hooksCommand = (): Promise<typeof import('./hooks-command.js')> => import('./hooks-command.js');
const sessionCommand = (): Promise<typeof import('./session-command.js')> => import('./session-command.js');

const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function logOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-format <format>', 'log lines as the seed\'s text or JSON (one object a line)').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'drop the INFO lines (warnings and the summary stay)');
}

/** The options that choose what counts: a config file (whose default depends on the command's scope) and extra keep patterns. */
function configOptions(command: Command, scope: ConfigScope = 'machine'): Command {
  const byDefault = scope === 'run' ? './resource-tracker.yaml when it exists' : `your own, ${userConfigPath().replace(homedir(), '~')}, when it exists; never one in this directory`;
  return command
    .option('-c, --config <file>', `YAML config (default: ${byDefault})`)
    .option('--keep <regex>', 'processes whose command line matches are kept, not leaks (repeatable)', collect);
}

/**
 * An option that takes a value swallows the next word, even `--`: `run --report -- cmd` would
 * write the report to a file named `--`, and `--config --` look for one. Say so instead.
 */
function rejectSeparatorAsValue(command: Command): void {
  for (const option of command.options) {
    const value: unknown = command.getOptionValue(option.attributeName());
    if (value === '--' || (Array.isArray(value) && value.includes('--'))) {
      throw new UsageError(`option '${option.flags}' is missing its value (it took the '--' that ends rtrack's options)`);
    }
  }
}

/** A duration option whose help shows its default in the units it takes (`15s`, not `15000`). */
function durationOption(flags: string, description: string, parse: (value: string) => number, defaultMs: number): Option {
  return new Option(flags, description).argParser(parse).default(defaultMs, formatDuration(defaultMs));
}

/** `--grace`: the same on run, scan and watch. */
const graceOption = (description = 'time between SIGTERM and SIGKILL when reaping'): Option =>
  durationOption('--grace <duration>', `${description}, e.g. 500ms, 3s (a bare number is milliseconds)`, parseGrace, 3000);

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('rtrack')
    .description('Find the processes a task leaves behind (MCP servers, browsers), attribute them with evidence, and reap them safely.')
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`rtrack: ${text.replace(/^error: /, '')}`) })
    .showSuggestionAfterError(true)
    .hook('preAction', (_program, command) => rejectSeparatorAsValue(command))
    .addHelpText(
      'after',
      helpText(`
Examples:
  rtrack run --reap -- claude          run an agent session, then remove what it leaked
  rtrack scan                          what earlier sessions left on this machine
  rtrack hooks install claude --reap   follow every Claude Code session, and reap what each one leaves
  rtrack watch --port 9464             serve leak metrics to Prometheus
  rtrack demo                          see a leak found and cleaned up`),
    );

  addRunCommand(program, setExit);
  addSnapshotCommand(program, setExit);
  addScanCommand(program, setExit);
  addWatchCommand(program, setExit);
  addHooksCommands(program, setExit);
  addSessionCommands(program, setExit);
  addSessionsCommand(program, setExit);
  addUninstallCommand(program, setExit);
  addDemoCommand(program, setExit);
  return program;
}

/** `rtrack run`: run a command as a tracked task. */
function addRunCommand(program: Command, setExit: (code: number) => void): void {
  logOptions(
    configOptions(program.command('run'), 'run')
      .description('run a command as a tracked task and report what it left running')
      .usage('[options] -- <command> [args...]')
      .argument('[command...]', 'the command to run, after --')
      .option('--threshold <mb>', 'warn when memory grows by more than this many MB', parseNonNegativeNumber)
      .option('--mcp-only', 'only report MCP/browser orphans')
      .option('--no-tracking', 'run the command without tracking')
      .option('--report <file>', 'write a JSON report to <file> ("-" writes it to stdout instead of the summary)')
      .option('--fail-on-orphans', 'exit 3 when the command succeeded but left orphans')
      .option('--reap', 'after reporting, terminate the task\'s orphans (tag or lineage evidence only)')
      .addOption(graceOption())
      .option('--dry-run', 'with --reap: print what would be signalled, signal nothing')
      .option('--metrics-file <path>', 'write the run\'s figures for node_exporter\'s textfile collector (atomically; one job per file: overlapping runs take --metrics-dir)')
      .option('--metrics-dir <dir>', 'write them to a file of this run\'s own in <dir>, rtrack-run-<job>.prom (node_exporter\'s textfile directory); files of runs that ended over a day ago are removed')
      .option('--metrics-job <name>', 'the job the figures are labelled with (rtrack_job) and, with --metrics-dir, named after (default: the run\'s start time and pid)')
      .addOption(
        new Option('--cgroup <mode>', 'run the task in a cgroup of its own: auto (when the kernel allows), required (else exit 2), off').choices(['auto', 'required', 'off']),
      )
      .passThroughOptions(),
  )
    .addHelpText(
      'after',
      helpText(`
Exit status: the command's own; 128+n when it died of signal n; when it succeeded, 4 if tracking
failed (the report's error says what) and 3 with --fail-on-orphans if it left orphans; 2 for a
usage or config error; 127 when the command is not found and 126 when it cannot be executed.

Kept by default (shared per-user daemons a task may be the first to start; never orphans, never
reaped; config keep_shared_daemons: false turns this off, keep: extends it):
  ${SHARED_DAEMONS.map((d) => d.name).join(', ')}

Examples:
  rtrack run -- npx -y @playwright/mcp
  rtrack run --reap --report run.json -- claude -p "fix the tests"
  rtrack run --threshold 500 --fail-on-orphans -- ./agent-task.sh`),
    )
    .action(async (commandLine: string[], options: RunOptions) => {
      setExit((await (await import('./run-command.js')).executeRun(commandLine, options)).exitCode);
    });
}

/** `rtrack snapshot`: list every process. */
function addSnapshotCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('snapshot')
    .description('list every process (PID, PPID, MEM MB, MCP, COMMAND) with totals')
    .option('--json', 'print the ProcessSnapshot as JSON')
    .addOption(new Option('--sort <key>', 'sort by pid or memory').choices(['pid', 'memory']).default('pid'))
    .option('--mcp', 'only MCP/browser processes')
    .addHelpText('after', helpText('\nExamples:\n  rtrack snapshot --mcp --sort memory\n  rtrack snapshot --json > before.json'))
    .action(async (options: SnapshotOptions) => {
      setExit(await (await import('./snapshot-command.js')).snapshotCommand(options));
    });
}

/** `rtrack scan`: what earlier sessions left on this machine. */
function addScanCommand(program: Command, setExit: (code: number) => void): void {
  configOptions(program.command('scan'))
    .description('find what earlier sessions left on this machine: certain leaks (runs and agent sessions that are over) and suspected trees')
    .option('--json', 'print the scan as JSON')
    .option('--all', 'report every re-parented tree, not only agent-like ones')
    .option('--reap', 'terminate the certain leaks (of runs and agent sessions that are over)')
    .option('--session <id>', 'with --reap: only the certain leaks of this agent session (as `rtrack sessions` names it)')
    .option('--match <regex>', 'with --reap: also reap suspected trees whose root command matches (needs --yes)')
    .option('--yes', 'confirm reaping the suspected trees named by --match')
    .option('--dry-run', 'with --reap: print what would be signalled, signal nothing')
    .addOption(graceOption())
    .option('--port <port>', 'who holds this TCP/UDP port: a leak, a suspect, or neither (exit 1 when nothing listens on it)', parsePort)
    .option('--all-users', "every user's leaks, not only yours (root sees everyone's); what you cannot signal is shown, never offered to reap")
    .option('--full-cost', 'read the cost of every suspected tree, not only of the largest (100 processes), and sample CPU use for 200 ms (else: its share since each process started)')
    .addHelpText(
      'after',
      helpText(`
Exit status: 0; 1 when --match names suspected trees but --yes is missing (nothing is signalled),
or when nothing listens on the --port asked about; 2 for a usage or config error.

Suspected trees are reaped only when named: with no certain leak, scan --reap prints the command
that would reap each one.

Examples:
  rtrack scan
  rtrack scan --all --json
  rtrack scan --reap
  rtrack scan --reap --match 'mcp-server-playwright' --yes
  rtrack scan --port 3000`),
    )
    .action(async (options: ScanCommandOptions) => {
      setExit(await (await import('./scan-command.js')).scanCommand(options));
    });
}

/** `rtrack watch`: scan at an interval and serve Prometheus metrics. */
function addWatchCommand(program: Command, setExit: (code: number) => void): void {
  logOptions(
    configOptions(program.command('watch'))
      .description('scan the machine at an interval and serve Prometheus metrics (GET /metrics, GET /healthz)')
      .addOption(new Option('--scope <scope>', "whose processes it serves: system (every user's, a user label on each figure: root, or CAP_SYS_PTRACE and CAP_KILL), user (your own only); auto: system when it may").choices(['auto', 'system', 'user']).default('auto'))
      .option('--host <address>', 'address to bind (loopback unless you ask for another)', '127.0.0.1')
      .option('--port <port>', 'port to listen on (0 picks a free one; default 9464 system-wide, 20000 + your uid for a user\'s watch)', parsePort)
      .option('--web-config <file>', 'TLS and basic authentication for the endpoint, in the Prometheus exporter toolkit\'s format (as node_exporter --web.config.file); reloaded on SIGHUP')
      .option('--host-root <dir>', 'where the host\'s root filesystem is mounted (its /etc/passwd and the users\' homes, for their rtrack state): a container\'s /host', '/')
      .option('--runtime-metrics', 'also serve Node.js\'s own figures for the watch process (process_*, nodejs_*; they sample the event loop every 10 ms)')
      .addOption(durationOption('--interval <duration>', 'time between scans, e.g. 15s, 500ms, 2m (under 15s, each process\'s stat descriptor stays open from one scan to the next: half the CPU, about 4 KiB of kernel memory a process)', parseDuration, 15_000))
      .option('--all', 'count every re-parented tree as suspected, not only agent-like ones')
      .option('--reap', 'terminate certain leaks (runs and agent sessions that are over) once they have stayed certain for --linger; never suspects')
      .addOption(durationOption('--linger <duration>', 'with --reap: how long a leak must stay certain before it is reaped, e.g. 2m', parseDuration, 60_000))
      .addOption(graceOption('with --reap: time between SIGTERM and SIGKILL')),
  )
    .addHelpText('after', helpText('\nSIGTERM or SIGINT lets the scan in flight finish, then stops it cleanly (exit 0). SIGHUP reads the config (and --web-config) again; a bad one is logged and the previous one kept. SIGUSR1 is ignored (Node.js would open its inspector).\n\nExamples:\n  rtrack watch\n  sudo rtrack watch --host 0.0.0.0 --interval 30s     one watch for the machine, every user labelled\n  rtrack watch --reap --linger 2m                     on a CI runner or a shared dev box nobody watches'))
    .action(async (options: WatchOptions) => {
      setExit(await (await import('./watch-command.js')).watchCommand(options));
    });
}

/** `rtrack hooks install|uninstall|status`: the agents' hooks. */
function addHooksCommands(program: Command, setExit: (code: number) => void): void {
  const hooks = program.command('hooks').description("install rtrack's SessionStart/SessionEnd hooks into an agent's settings (opencode: rtrack's plugin), so that every session it runs is followed");
  const hookAgents = 'the agent: claude-code (or claude), gemini-cli (or gemini), opencode (a plugin); codex needs none (its sessions are found by their markers)';
  const settingsFile = 'the settings file (default: ~/.claude/settings.json for claude-code, ~/.gemini/settings.json for gemini-cli); for opencode the plugin file or a plugin directory (default: $XDG_CONFIG_HOME/opencode/plugins/rtrack.js)';
  hooks
    .command('install')
    .description("add the hooks, or update rtrack's hooks that are there (merged into the settings: other keys, comments and hooks are kept; installing twice changes nothing)")
    .argument('<agent>', hookAgents)
    .option('--settings <file>', settingsFile)
    .option('--reap', 'also turn reaping on: sessions.reap: true in the per-user config, written or updated (comments and other keys kept)')
    .option('-c, --config <file>', 'the YAML config the follower reads instead of the per-user one (its settings under diagnostics.resource_tracking, see below)')
    .option('--dry-run', 'print the settings (and with --reap the config) as they would become, change nothing')
    .option('--allow-shared-path', "install even when rtrack, Node or the config is where others could put their own file (a directory writable by others, such as /tmp, or another user's): the hooks would run it as you")
    .addHelpText(
      'after',
      helpText(`
The follower the hooks start reads --config when the hooks were installed with one, else the
per-user config, $XDG_CONFIG_HOME/rtrack/config.yaml (else ~/.config/rtrack/config.yaml), when it
exists, else the defaults (reaping off). rtrack reads only this part of a config file:

  diagnostics:
    resource_tracking:
      sessions:
        reap: true         # reap what an ended agent session left running
        linger_ms: 3000

A --config file from which rtrack would read nothing, or with unknown keys, is refused (exit 2).

The hooks run bin/rtrack.js, Node and the config by absolute path. Install refuses (exit 2) an
rtrack run by npx (npm empties its cache when it likes; install it with npm install -g rtrack), and
when another user could put their own file there: the file or a directory above it is writable by
others (/tmp too: a checkout tried there and removed leaves its path to anyone) or is another
user's. Install rtrack where only you and root can write, or give --allow-shared-path.

Codex needs no hooks: rtrack finds its sessions by the markers its processes carry. opencode has
no hooks of this kind: rtrack writes its own plugin file, rtrack.js, into opencode's plugin directory
(a file of that name that is not rtrack's is left alone, exit 2).

Examples:
  rtrack hooks install claude-code --reap
  rtrack hooks install gemini --settings .gemini/settings.json --dry-run
  rtrack hooks install claude --config ~/work/rtrack.yaml
  rtrack hooks install opencode --reap`),
    )
    .action(async (agent: string, options: HooksOptions) => setExit(await (await hooksCommand()).hooksInstall(agent, options)));
  hooks
    .command('uninstall')
    .description("remove rtrack's hooks, and only them")
    .argument('<agent>', hookAgents)
    .option('--settings <file>', settingsFile)
    .option('--dry-run', 'print the settings as they would become, change nothing')
    .addHelpText('after', helpText('\nExamples:\n  rtrack hooks uninstall claude-code\n  rtrack hooks uninstall gemini'))
    .action(async (agent: string, options: HooksOptions) => setExit(await (await hooksCommand()).hooksUninstall(agent, options)));
  hooks
    .command('status')
    .description("every agent's settings files, the user's and this project's: rtrack's hooks installed (which events), stale, or not; and whether the follower runs")
    .option('--settings <file>', 'another settings file to look at')
    .addHelpText('after', helpText('\nExample:\n  rtrack hooks status'))
    .action(async (options: HooksOptions) => setExit(await (await hooksCommand()).hooksStatus(options)));
}

/** `rtrack session start|end|follow`: what the hooks run. */
function addSessionCommands(program: Command, setExit: (code: number) => void): void {
  const session = program.command('session').description('what the hooks run (not for people): register a session, record its end, follow sessions');
  const agentOption = (c: Command): Command =>
    c
      .requiredOption('--agent <name>', 'the agent whose hook this is (claude-code, gemini-cli, opencode, or their commands\' names)')
      .option('--pid <pid>', 'the agent process (default: for claude-code the one CLAUDE_PID names, checked; else the hook\'s nearest ancestor that is not a shell); gemini-cli\'s and opencode\'s must be theirs by its command line', parsePid)
      .option('--parent <pid>', 'the process that ran the hook\'s shell (the installed hooks pass "$PPID": rtrack runs detached, after that shell has exited)', parsePid)
      .option('-c, --config <file>', 'the YAML config the follower uses');
  agentOption(session.command('start').description('SessionStart hook: register the agent process with the follower, starting one if none runs; always exits 0'))
    .addHelpText('after', helpText('\nExample (as a hook runs it, with the hook JSON on stdin):\n  rtrack session start --agent claude-code'))
    .action(async (options: SessionOptions) => setExit(await (await sessionCommand()).sessionStart(options)));
  agentOption(session.command('end').description('SessionEnd hook: record why the session ended; never waits; always exits 0'))
    .addHelpText('after', helpText('\nExample:\n  rtrack session end --agent claude-code'))
    .action(async (options: SessionOptions) => setExit(await (await sessionCommand()).sessionEnd(options)));
  session
    .command('follow')
    .description('the follower: follow every registered agent, journal (and with sessions.reap, reap) what each session left; exits when it follows nothing')
    .option('-c, --config <file>', 'YAML config')
    .addOption(durationOption('--interval <duration>', 'how often agents are checked and their trees followed', parseDuration, 1000))
    .addHelpText('after', helpText('\nExample:\n  rtrack session follow'))
    .action(async (options: { config?: string; interval: number }) => setExit(await (await import('./follower-main.js')).sessionFollow({ config: options.config, intervalMs: options.interval })));
}

/** `rtrack sessions`: the journal. */
function addSessionsCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('sessions')
    .description('the journal: recent agent sessions that ended and left processes')
    .option('--json', 'print the entries as JSON')
    .option('--limit <n>', 'how many of the most recent', parseCount, 20)
    .addHelpText('after', helpText('\nExamples:\n  rtrack sessions\n  rtrack sessions --json --limit 5'))
    .action(async (options: { json?: boolean; limit: number }) => setExit(await (await import('./sessions-command.js')).sessionsCommand(options)));
}

/** `rtrack uninstall`: remove everything rtrack wrote. */
function addUninstallCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('uninstall')
    .description('remove everything rtrack wrote for you: every agent\'s hooks (opencode: its plugin), the per-user config, the state directory and the backups rtrack made; says what first')
    .option('--dry-run', 'say what would be removed, remove nothing')
    .option('--yes', 'remove without asking (needed when stdin is not a terminal)')
    .addHelpText('after', helpText('\nrtrack itself stays: `npm uninstall -g rtrack` removes it. A project\'s settings are left (their hooks named, with\nthe command that removes them).\n\nExamples:\n  rtrack uninstall --dry-run\n  rtrack uninstall --yes && npm uninstall -g rtrack'))
    .action(async (options: { dryRun?: boolean; yes?: boolean }) => setExit(await (await import('./uninstall-command.js')).uninstallCommand(options)));
}

/** `rtrack demo`: a leak found and removed. */
function addDemoCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('run a built-in leaky task under `rtrack run --reap` and show the leak being found and removed')
    .option('--report <file>', 'also write the JSON report')
    .addHelpText('after', helpText('\nExample:\n  rtrack demo'))
    .action(async (options: { report?: string }) => {
      setExit(await (await import('./demo-command.js')).demoCommand(options));
    });
}

/**
 * On a terminal, every line rtrack writes fits its width (terminal-layout.ts fitWrites): stdout
 * unless it carries JSON (`--json`, `--report -`), stderr unless its log lines are JSON.
 */
async function fitTerminals(argv: readonly string[]): Promise<void> {
  const before = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv; // a task's own arguments are not rtrack's
  const jsonOut = before.includes('--json') || before.some((a, i) => a === '--report' && before[i + 1] === '-') || before.includes('--report=-');
  const jsonLog = before.some((a, i) => (a === '--log-format' && before[i + 1] === 'json') || a === '--log-format=json');
  for (const [stream, machine] of [[process.stdout, jsonOut], [process.stderr, jsonLog]] as const) {
    if (!stream.isTTY || machine) continue;
    const { fitWrites, terminalLayout } = await import('./terminal-layout.js');
    fitWrites(stream, (await terminalLayout(stream))!);
  }
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  await fitTerminals(argv);
  let exitCode = 0;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help or the version when asked for (commander's exit code 0) is a success; help shown
      // because no command was given, like every other commander error, is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`rtrack: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError || err instanceof ConfigError ? EXIT_USAGE : 1;
  }
}
