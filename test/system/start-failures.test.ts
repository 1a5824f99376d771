// A task that cannot start, as an orchestrator meets it (issue 33 #1, #2): every cause comes back
// one way — the promise resolves with a report whose outcome is `not-started` and whose
// `startFailure` names the cause — and leaves nothing behind: no descriptor (the run file used to
// stay open on every failed start), no cgroup, no process.
import { chmodSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTracked, silentLogger, type StartFailure, type TaskReport } from '../../src/index.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir('start-failures');
const notExecutable = join(dir, 'not-executable.sh');
writeFileSync(notExecutable, '#!/bin/sh\necho hi\n');
chmodSync(notExecutable, 0o644);
const aFile = join(dir, 'a-file');
writeFileSync(aFile, '');
const badInterpreter = join(dir, 'bad-interpreter.sh');
writeFileSync(badInterpreter, '#!/nonexistent/interpreter\necho hi\n');
chmodSync(badInterpreter, 0o755);
mkdirSync(join(dir, 'a-directory'));

/** This process's descriptors, and those that point at a run file. */
function descriptors(): { count: number; runFiles: string[] } {
  const fds = readdirSync('/proc/self/fd');
  const runFiles: string[] = [];
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.includes('rtrack-run-')) runFiles.push(target);
    } catch {
      // closed meanwhile (the readdir's own descriptor)
    }
  }
  return { count: fds.length, runFiles };
}

type Case = [name: string, command: unknown, args: unknown, options: { cwd?: string; env?: NodeJS.ProcessEnv }, expected: Pick<StartFailure, 'cause' | 'code'>, exitCode: number | null, message: RegExp];

const cases: Case[] = [
  ['a command that does not exist', '/nonexistent/agent', [], {}, { cause: 'command', code: 'ENOENT' }, 127, /^\/nonexistent\/agent: command not found$/],
  ['a command not on PATH', 'no-such-command-33', [], {}, { cause: 'command', code: 'ENOENT' }, 127, /^no-such-command-33: command not found$/],
  ['a file that is not executable', notExecutable, [], {}, { cause: 'command', code: 'EACCES' }, 126, /permission denied or not executable$/],
  ['a directory', join(dir, 'a-directory'), [], {}, { cause: 'command', code: 'EACCES' }, 126, /permission denied or not executable$/],
  ['a script whose interpreter is missing', badInterpreter, [], { cwd: dir }, { cause: 'command', code: 'ENOENT' }, 126, /the interpreter on its #! line is missing: \/nonexistent\/interpreter$/],
  ['cwd that does not exist (it said "true: command not found")', 'true', [], { cwd: '/nope' }, { cause: 'cwd', code: 'ENOENT' }, 126, /^The "cwd" option is invalid: \/nope: no such directory$/],
  ['cwd that is a file', 'true', [], { cwd: aFile }, { cause: 'cwd', code: 'ENOTDIR' }, 126, /^The "cwd" option is not a directory: /],
  ['an empty command (it rejected with a raw Node error)', '', [], {}, { cause: 'arguments', code: 'ERR_INVALID_ARG_VALUE' }, 126, /the command must not be empty/],
  ['arguments given as a string (it rejected)', 'echo', 'hello', {}, { cause: 'arguments', code: 'ERR_INVALID_ARG_TYPE' }, 126, /the arguments must be an array of strings \(got "hello"\)/],
  ['an argument that is not a string', 'echo', ['a', 5], {}, { cause: 'arguments', code: 'ERR_INVALID_ARG_TYPE' }, 126, /args\[1\] must be a string \(got 5\)/],
  ['an argument over the OS limit, E2BIG (it rejected)', 'echo', ['x'.repeat(200_000)], {}, { cause: 'arguments', code: 'E2BIG' }, 126, /argument list too long \(E2BIG/],
];

describe('every start failure resolves with a not-started report naming its cause', () => {
  for (const cgroup of ['auto', 'off'] as const) {
    it.each(cases)(`cgroup ${cgroup}: %s`, async (_name, command, args, options, expected, exitCode, message) => {
      const report = await runTracked(command as string, args as string[], { ...options, cgroup, logger: silentLogger, stdio: 'ignore', reap: true });
      expect(report.outcome).toBe('not-started');
      if (report.outcome !== 'not-started') return;
      expect(report.startFailure).toMatchObject(expected);
      expect(report.startFailure.message).toMatch(message);
      expect(report.error).toBe(report.startFailure.message);
      expect(report.exitCode).toBe(exitCode);
      expect(report.signal).toBeNull();
      expect(report.reaped).toEqual([]); // reap was asked for: present, as its type says
      expect(report.orphans).toEqual([]);
    });
  }

  it('a run aborted before the task starts is not-started too, cause aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const report: TaskReport = await runTracked('true', [], { abortSignal: controller.signal, logger: silentLogger, reap: true });
    expect(report).toMatchObject({ outcome: 'not-started', stoppedBy: 'abort', exitCode: null, startFailure: { cause: 'aborted', code: 'ABORT_ERR' }, reaped: [] });
  });
});

describe('a failed start leaves no descriptor behind (issue 33 #1: +1 per failed start, 1,000 exhaust ulimit -n 1024)', () => {
  it('40 failed starts of every cause, with and without a cgroup: the descriptors are as before, no run file is held', async () => {
    await runTracked('true', [], { logger: silentLogger, stdio: 'ignore' }); // whatever the first run opens for good (the reader)
    const before = descriptors();
    for (let round = 0; round < 2; round++) {
      for (const [, command, args, options] of cases) {
        for (const cgroup of ['auto', 'off'] as const) {
          // (Some of these used to reject: whatever they do, the descriptors are what this test counts.)
          await runTracked(command as string, args as string[], { ...options, cgroup, logger: silentLogger, stdio: 'ignore' }).catch(() => undefined);
        }
      }
    }
    const after = descriptors();
    expect(after.runFiles).toEqual([]);
    expect(after.count).toBe(before.count);
  });
});
