// rtrack: commander wiring. Each command lives in its own file; this maps errors to exit statuses
// (usage and config errors → 2) and prints them as one line.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { SHARED_DAEMONS } from '../rules/patterns.js';
import { collect, parseDuration, parseNonNegativeNumber, parsePort, UsageError } from './common.js';
import { demoCommand } from './demo-command.js';
import { executeRun, type RunOptions } from './run-command.js';
import { scanCommand, type ScanCommandOptions } from './scan-command.js';
import { snapshotCommand, type SnapshotOptions } from './snapshot-command.js';
import { watchCommand, type WatchOptions } from './watch-command.js';

const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function logOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-format <format>', 'log lines as the seed\'s text or JSON (one object a line)').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'drop the INFO lines (warnings and the summary stay)');
}

/** The options that choose what counts: a config file and extra keep patterns. */
function configOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML config (default: ./resource-tracker.yaml when it exists)')
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
      `
Examples:
  rtrack run --reap -- claude          run an agent session, then remove what it leaked
  rtrack scan                          what earlier sessions left on this machine
  rtrack watch --port 9464             serve leak metrics to Prometheus
  rtrack demo                          see a leak found and cleaned up`,
    );

  logOptions(
    configOptions(program.command('run'))
      .description('run a command as a tracked task and report what it left running')
      .usage('[options] -- <command> [args...]')
      .argument('[command...]', 'the command to run, after --')
      .option('--threshold <mb>', 'warn when memory grows by more than this many MB', parseNonNegativeNumber)
      .option('--mcp-only', 'only report MCP/browser orphans')
      .option('--no-tracking', 'run the command without tracking')
      .option('--report <file>', 'write a JSON report to <file> ("-" writes it to stdout instead of the summary)')
      .option('--fail-on-orphans', 'exit 3 when the command succeeded but left orphans')
      .option('--reap', 'after reporting, terminate the task\'s orphans (tag or lineage evidence only)')
      .option('--grace <ms>', 'time between SIGTERM and SIGKILL when reaping', parseNonNegativeNumber, 3000)
      .option('--dry-run', 'with --reap: print what would be signalled, signal nothing')
      .option('--metrics-file <path>', 'write the run\'s figures for node_exporter\'s textfile collector (atomically)')
      .passThroughOptions(),
  )
    .addHelpText(
      'after',
      `
Exit status: the command's own; 128+n when it died of signal n; when it succeeded, 4 if tracking
failed (the report's error says what) and 3 with --fail-on-orphans if it left orphans; 2 for a
usage or config error; 127 when the command is not found and 126 when it cannot be executed.

Kept by default (shared per-user daemons a task may be the first to start; never orphans, never
reaped; config keep_shared_daemons: false turns this off, keep: extends it):
  ${SHARED_DAEMONS.map((d) => d.name).join(', ')}

Examples:
  rtrack run -- npx -y @playwright/mcp
  rtrack run --reap --report run.json -- claude -p "fix the tests"
  rtrack run --threshold 500 --fail-on-orphans -- ./agent-task.sh`,
    )
    .action(async (commandLine: string[], options: RunOptions) => {
      setExit((await executeRun(commandLine, options)).exitCode);
    });

  program
    .command('snapshot')
    .description('list every process (PID, PPID, MEM MB, MCP, COMMAND) with totals')
    .option('--json', 'print the ProcessSnapshot as JSON')
    .addOption(new Option('--sort <key>', 'sort by pid or memory').choices(['pid', 'memory']).default('pid'))
    .option('--mcp', 'only MCP/browser processes')
    .addHelpText('after', '\nExamples:\n  rtrack snapshot --mcp --sort memory\n  rtrack snapshot --json > before.json')
    .action(async (options: SnapshotOptions) => {
      setExit(await snapshotCommand(options));
    });

  configOptions(program.command('scan'))
    .description('find what earlier sessions left on this machine: certain leaks (tagged, owner gone) and suspected trees')
    .option('--json', 'print the scan as JSON')
    .option('--all', 'report every re-parented tree, not only agent-like ones')
    .option('--reap', 'terminate the certain leaks (tagged by runs that are gone)')
    .option('--match <regex>', 'with --reap: also reap suspected trees whose root command matches (needs --yes)')
    .option('--yes', 'confirm reaping the suspected trees named by --match')
    .option('--dry-run', 'with --reap: print what would be signalled, signal nothing')
    .option('--grace <ms>', 'time between SIGTERM and SIGKILL when reaping', parseNonNegativeNumber, 3000)
    .addHelpText(
      'after',
      `
Exit status: 0; 1 when --match names suspected trees but --yes is missing (nothing is signalled).

Examples:
  rtrack scan
  rtrack scan --all --json
  rtrack scan --reap
  rtrack scan --reap --match 'mcp-server-playwright' --yes`,
    )
    .action(async (options: ScanCommandOptions) => {
      setExit(await scanCommand(options));
    });

  logOptions(
    configOptions(program.command('watch'))
      .description('scan the machine at an interval and serve Prometheus metrics (GET /metrics, GET /healthz)')
      .option('--host <address>', 'address to bind (loopback unless you ask for another)', '127.0.0.1')
      .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, 9464)
      .option('--interval <duration>', 'time between scans, e.g. 15s, 500ms, 2m', parseDuration, 15_000)
      .option('--all', 'count every re-parented tree as suspected, not only agent-like ones'),
  )
    .addHelpText('after', '\nSIGTERM or SIGINT stops it cleanly (exit 0).\n\nExamples:\n  rtrack watch\n  rtrack watch --host 0.0.0.0 --port 9464 --interval 30s')
    .action(async (options: WatchOptions) => {
      setExit(await watchCommand(options));
    });

  program
    .command('demo')
    .description('run a built-in leaky task under `rtrack run --reap` and show the leak being found and removed')
    .option('--report <file>', 'also write the JSON report')
    .addHelpText('after', '\nExample:\n  rtrack demo')
    .action(async (options: { report?: string }) => {
      setExit(await demoCommand(options));
    });

  return program;
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
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
