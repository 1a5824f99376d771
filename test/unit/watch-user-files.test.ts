// Each user's own rtrack files, as a system-wide watch reads them (user-files.ts, watch-scan.ts):
// where they are (under the home of /etc/passwd, and wherever the user's processes' environments
// say), what each user's config keeps — of that user's processes only — and a config that cannot be
// used withholds that user's reaping. A table reader over plain data, a host root in a temporary
// directory.
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createWatchScanner } from '../../src/operations/watch-scan.js';
import { createUserFiles, noteUserProcess, readUserFiles, userFilePaths, NAMED_MAX } from '../../src/operations/user-files.js';
import type { PlatformReader, RawProcess } from '../../src/platform/types.js';
import { ownersKeepRules } from '../../src/rules/keep.js';
import type { PasswdUser } from '../../src/rules/watch-scope.js';
import { fakeReader } from '../helpers/fake-reader.js';
import { tempDir } from '../helpers/temp.js';

const ALICE = 1001;
const BOB = 1002;
const CAROL = 1003;
const yaml = (keep: string[], extra = ''): string => `diagnostics:\n  resource_tracking:\n    keep: ${JSON.stringify(keep)}\n${extra}`;

describe('ownersKeepRules: what a user\'s configs keep beyond the watch\'s rules', () => {
  it.each([
    { name: 'no config at all: the defaults (shared daemons), when the watch does not keep them', configs: [], own: false, patterns: [], shared: true },
    { name: 'no config, the watch keeps them: nothing more', configs: [], own: true, patterns: undefined, shared: undefined },
    { name: 'patterns of every config, once each', configs: [{ keep: ['^a$', '^b$'], keepSharedDaemons: true }, { keep: ['^b$'], keepSharedDaemons: true }], own: true, patterns: ['^a$', '^b$'], shared: false },
    { name: 'a place without a config keeps by the defaults', configs: [{ keep: [], keepSharedDaemons: false }, undefined], own: false, patterns: [], shared: true },
    { name: 'every config says no shared daemons', configs: [{ keep: [], keepSharedDaemons: false }], own: false, patterns: undefined, shared: undefined },
  ])('$name', ({ configs, own, patterns, shared }) => {
    const rules = ownersKeepRules(configs, { sharedDaemons: own });
    expect(rules && { patterns: rules.patterns.map((r) => r.source), shared: rules.sharedDaemons }).toEqual(patterns === undefined ? undefined : { patterns, shared });
  });
});

describe('userFilePaths: where a user\'s rtrack keeps its state and reads its config', () => {
  it.each([
    { name: 'the home of /etc/passwd alone', home: '/home/a', named: [], states: ['/h/home/a/.local/state/rtrack'], configs: ['/h/home/a/.config/rtrack/config.yaml'] },
    { name: 'XDG directories a process names, besides', home: '/home/a', named: [{ stateHome: '/s', configHome: '/c/' }], states: ['/h/home/a/.local/state/rtrack', '/h/s/rtrack'], configs: ['/h/home/a/.config/rtrack/config.yaml', '/h/c/rtrack/config.yaml'] },
    { name: 'another HOME; a relative XDG directory is not used, as rtrack does not', home: '/home/a', named: [{ home: '/work/a', stateHome: 'rel' }], states: ['/h/home/a/.local/state/rtrack', '/h/work/a/.local/state/rtrack'], configs: ['/h/home/a/.config/rtrack/config.yaml', '/h/work/a/.config/rtrack/config.yaml'] },
    { name: 'no home in /etc/passwd, a relative HOME: only what is absolute', home: undefined, named: [{ home: 'x', configHome: '/c' }], states: [], configs: ['/h/c/rtrack/config.yaml'] },
    { name: 'a path that climbs stays below the host root', home: '/home/a', named: [{ stateHome: '/../../etc' }], states: ['/h/home/a/.local/state/rtrack', '/h/etc/rtrack'], configs: ['/h/home/a/.config/rtrack/config.yaml'] },
  ])('$name', ({ home, named, states, configs }) => {
    expect(userFilePaths('/h', home, named)).toEqual({ states, configs });
  });
});

/** A host root with /etc/passwd naming alice, bob and carol, homes below it. */
function hostRoot(): { root: string; passwd: Map<number, PasswdUser> } {
  const root = tempDir('host-root');
  mkdirSync(join(root, 'etc'));
  const users = [['alice', ALICE], ['bob', BOB], ['carol', CAROL]] as const;
  writeFileSync(join(root, 'etc', 'passwd'), users.map(([name, uid]) => `${name}:x:${uid}:${uid}::/home/${name}:/bin/sh\n`).join(''));
  return { root, passwd: new Map(users.map(([name, uid]) => [uid, { name, uid, home: `/home/${name}` }])) };
}

function writeConfig(root: string, path: string, text: string, uid: number): string {
  const file = join(root, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  chownSync(file, uid, uid);
  return file;
}

describe.skipIf(process.getuid?.() !== 0)("readUserFiles: each user's configs, read as root reads them", () => {
  it('reads a config again only when it changed; refuses one that is not a regular file (a FIFO would hold the watch), another user\'s, or not valid, without saying what it holds', () => {
    const { root, passwd } = hostRoot();
    const files = createUserFiles();
    for (const uid of [ALICE, BOB, CAROL]) noteUserProcess(files, uid, undefined, 1);
    const config = writeConfig(root, 'home/alice/.config/rtrack/config.yaml', yaml(['^a$']), ALICE);
    writeConfig(root, 'home/bob/.config/rtrack/config.yaml', yaml(['^b$']), CAROL); // bob's, owned by carol
    mkdirSync(join(root, 'home/carol/.config/rtrack'), { recursive: true });
    expect(spawnSync('mkfifo', [join(root, 'home/carol/.config/rtrack/config.yaml')]).status).toBe(0);
    const options = { hostRoot: root, passwd, ownSharedDaemons: true };
    const first = readUserFiles(files, options);
    expect(first.keeps.get(ALICE)?.patterns.map((r) => r.source)).toEqual(['^a$']);
    expect(first.withheld.get(BOB)).toBe(`bob's rtrack config (${join(root, 'home/bob/.config/rtrack/config.yaml')}) cannot be used: owned by uid ${CAROL}, not by its user`);
    expect(first.withheld.get(CAROL)).toMatch(/^carol's rtrack config \(.*\) cannot be used: not a regular file$/);
    // Unchanged: the same rules (verdicts are cached against them); changed: read again.
    expect(readUserFiles(files, options).keeps.get(ALICE)).toBe(first.keeps.get(ALICE));
    writeFileSync(config, yaml(['^a$', '^secret: (.*)$'], '    bogus: 1\n'));
    const broken = readUserFiles(files, options);
    expect(broken.keeps.has(ALICE)).toBe(false);
    expect(broken.withheld.get(ALICE)).toBe(`alice's rtrack config (${config}) cannot be used: not a valid config (\`rtrack scan\` run as its user says why)`);
    // A user whose processes name more places than it looks at each scan is not judged (their home's, and 65 more).
    for (let i = 0; i <= NAMED_MAX; i++) noteUserProcess(files, BOB, { stateHome: `/s${i}` }, 1);
    expect(readUserFiles(files, options).withheld.get(BOB)).toMatch(new RegExp(`^bob's processes name ${NAMED_MAX + 2} places for rtrack's state or config`));
  });
});

/** A reader over a table whose processes run as given users, with environments that name directories. */
function tableReader(table: { pid: number; ppid: number; command: string; uid: number; vars?: Record<string, string> }[]): PlatformReader {
  const base = fakeReader([table.map((p) => ({ pid: p.pid, ppid: p.ppid, command: p.command }))]);
  return {
    ...base,
    async readProcessTable() {
      const processes: RawProcess[] = table.map((p) => ({ pid: p.pid, ppid: p.ppid, name: p.command.split(' ')[0]!, commandLine: p.command, rssBytes: 1 << 20, startTime: p.pid, env: { keep: false, ...(p.vars ? { vars: p.vars } : {}) } }));
      return { processes, warnings: [] };
    },
    readOwner: (pid: number) => table.find((p) => p.pid === pid)?.uid,
  };
}

describe.skipIf(process.getuid?.() !== 0)("a system-wide watch keeps each user's processes by that user's own config", () => {
  it("a user's pattern keeps that user's processes (and theirs below them) only, from the config under their home or where their processes say; shared daemons by each user's own setting; an unusable config withholds that user's reaping", async () => {
    const { root } = hostRoot();
    writeConfig(root, 'home/alice/.config/rtrack/config.yaml', yaml(['^keep-me$']), ALICE);
    writeConfig(root, 'elsewhere/rtrack/config.yaml', yaml(['^keep-me-too$']), ALICE);
    writeConfig(root, 'home/carol/.config/rtrack/config.yaml', 'diagnostics: [', CAROL);
    const reader = tableReader([
      { pid: 1, ppid: 0, command: 'init', uid: 0 },
      { pid: 10, ppid: 1, command: 'keep-me', uid: ALICE },
      { pid: 11, ppid: 10, command: 'child', uid: BOB }, // bob's, below alice's kept process
      { pid: 12, ppid: 11, command: 'grandchild', uid: ALICE },
      { pid: 20, ppid: 1, command: 'keep-me', uid: BOB }, // alice's pattern, bob's process
      { pid: 21, ppid: 1, command: 'keep-me-too', uid: ALICE, vars: { XDG_CONFIG_HOME: '/elsewhere' } },
      { pid: 30, ppid: 1, command: 'ssh-agent', uid: BOB }, // bob keeps shared daemons (the default), the watch does not
      { pid: 31, ppid: 1, command: 'ssh-agent', uid: 0 },
      { pid: 40, ppid: 1, command: 'anything', uid: CAROL },
    ]);
    const ownConfig = writeConfig(root, 'root/.config/rtrack/config.yaml', yaml([], '    keep_shared_daemons: false\n'), 0);
    const scanner = createWatchScanner({ scope: 'system', rules: { keep: [], keepSharedDaemons: false }, hostRoot: root, config: ownConfig, reader, cpuSampleMs: 0 });
    const report = await scanner.scan();
    expect(report.kept.map((p) => p.pid).sort((a, b) => a - b)).toEqual([10, 12, 21, 30]);
    expect(report.notReapable?.(40)).toMatch(/^carol's rtrack config \(.*\) cannot be used: not a valid config/);
    expect(report.notReapable?.(10)).toBeUndefined();
    expect(report.warnings.filter((w) => w.includes("'s rtrack"))).toEqual([expect.stringMatching(/^carol's rtrack config/)]);
    // The reaper's gate judges by the same: a look of its own keeps alice's processes by her config.
    const { lookAtTable } = await import('../../src/operations/table-look.js');
    const gate = await lookAtTable({ reader, keepSharedDaemons: false, userFiles: scanner.userFiles });
    expect([...gate.kept].sort((a, b) => a - b)).toEqual([10, 12, 21, 30]);
    expect(gate.keptBecause?.get(10)).toBe("kept by alice's own config (pattern)");
    expect(gate.keptBecause?.get(12)).toBe("below pid 10, kept by alice's own config (pattern)");
  });
});
