// `node:child_process`, loaded on first use. On Linux a reader runs a program only to learn a Unix
// socket's peer (`ss`, when a kept process's pipeline is read), and loading it costs an rtrack
// process about 1.5 MB of resident memory — the session follower most, since it stays.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);

/** The `node:child_process` module (loaded the first time this is called). */
export function childProcess(): typeof import('node:child_process') {
  return require('node:child_process') as typeof import('node:child_process');
}

/** `execFile`, promisified: resolves with the output; a failure carries `stdout`, `code` and `killed`. */
export function execFileAsync(file: string, args: readonly string[], options: import('node:child_process').ExecFileOptions): Promise<{ stdout: string; stderr: string }> {
  return promisify(childProcess().execFile)(file, args, { ...options, encoding: 'utf8' });
}
