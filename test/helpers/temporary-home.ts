// Set up before every test file (vitest setupFiles): HOME and the XDG directories point into a
// temporary directory of the file's own, removed after it, so that nothing a test runs — rtrack's
// state (the signal record, what runs kept), its config, an agent's settings — is read from or
// written to the real user's. npm's cache stays where it was (tests that install the packed
// tarball use it offline). A test that needs a home of its own still makes one (agent-homes.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const realHome = homedir();
const home = mkdtempSync(join(tmpdir(), 'rtrack-test-home-'));
process.env.npm_config_cache ??= join(realHome, '.npm');
process.env.HOME = home;
process.env.XDG_STATE_HOME = join(home, '.local', 'state');
process.env.XDG_CONFIG_HOME = join(home, '.config');
process.env.XDG_DATA_HOME = join(home, '.local', 'share');
process.env.XDG_CACHE_HOME = join(home, '.cache');

afterAll(() => rmSync(home, { recursive: true, force: true }));
