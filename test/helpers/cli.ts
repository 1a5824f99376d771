// Runs the built CLI (dist/) as a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const RTRACK = fileURLToPath(new URL('../../bin/rtrack.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  result: Promise<CliResult>;
  /** Resolves once stdout contains the text. */
  waitForStdout(text: string | RegExp, timeoutMs?: number): Promise<string>;
}

export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): CliRun {
  const child = spawn(process.execPath, [RTRACK, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const result = new Promise<CliResult>((resolve) => {
    // 'exit' then drain: leaked grandchildren may keep the pipes open.
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      setTimeout(() => resolve({ code, signal, stdout, stderr }), 50);
    });
  });
  const waitForStdout = (text: string | RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = typeof text === 'string' ? stdout.includes(text) : text.test(stdout);
        if (hit) resolve(stdout);
        return hit;
      };
      if (check()) return;
      waiters.push(check);
      setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; stdout so far: ${stdout}; stderr: ${stderr}`)), timeoutMs);
    });
  return { child, result, waitForStdout };
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

export function pidsIn(text: string): number[] {
  return text.split(/\s+/).filter((t) => /^\d+$/.test(t)).map(Number);
}
