// examples/orchestrator.ts runs, as a user's project runs it (the package installed by name), and
// says what the README says it does: sequential and concurrent tasks, a crash, a timeout, an abort,
// a command that does not start, reaping, and each task's own account. (Its types are checked by
// test/unit/examples-typecheck.test.ts.)
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessJar, runLibraryHost } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const jar = new ProcessJar();
afterEach(() => jar.cleanup());

describe('examples/orchestrator.ts', () => {
  it('runs every kind of task and reports each one, and leaves nothing behind', async () => {
    const dir = tempDir('orchestrator');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(CHECKOUT, join(dir, 'node_modules', 'rtrack'));
    const source = readFileSync(join(CHECKOUT, 'examples', 'orchestrator.ts'), 'utf8');
    writeFileSync(join(dir, 'orchestrator.mjs'), transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' }).code);
    const { code, out, err, left } = await runLibraryHost(jar, [join(dir, 'orchestrator.mjs')], { cwd: dir });
    expect(code, err).toBe(0);
    expect(left).toEqual([]);
    const lines = out.trim().split('\n');
    const line = (name: string): string => lines.find((l) => l.startsWith(`${name}: `)) ?? `(no line for ${name})`;
    expect(line('build')).toMatch(/^build: exited 0; its own peak [\d.]+ MB \((pss|rss|none)\), CPU [\d.]+ s \((cgroup|samples)\)$/);
    expect(line('leaky')).toMatch(/^leaky: exited 0; .*; left 1 \(mcp-server-example 300: terminated\)$/);
    expect(out).toMatch(/ {2}heard while it ran: "mcp-server-example 300" \(pid \d+\) left its task\n/);
    expect(line('crash')).toMatch(/^crash: crashed \(SIGSEGV\)/);
    expect(line('slow')).toMatch(/^slow: timed out/);
    expect(line('cancelled')).toMatch(/^cancelled: aborted/);
    expect(line('typo')).toBe('typo: did not start (command ENOENT: /nonexistent/agent: command not found)');
    expect(line('small')).not.toContain('OVER ITS THRESHOLD');
    expect(line('large')).toMatch(/^large: exited 0; its own peak (2\d\d|3\d\d)\.\d MB .*OVER ITS THRESHOLD/);
    expect(err).toMatch(/^WARN task memory exceeded threshold peak_mb=\d+\.\d threshold_mb=150 /m);
    expect(lines.at(-1)).toBe("left by this orchestrator's runs: 0");
  }, 60_000);
});
