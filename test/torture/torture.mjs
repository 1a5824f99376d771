// `npm run torture -- …`: bundles the long mode (torture.ts, TypeScript) with esbuild and runs it.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Inside the checkout's node_modules, so that the bundle finds esbuild (left external) at run time.
const out = join(here, '..', '..', 'node_modules', '.cache', 'rtrack-torture', 'torture.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({ entryPoints: [join(here, 'torture.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, packages: 'external', logLevel: 'error' });
process.env.RTRACK_TORTURE_DIR = here;
await import(pathToFileURL(out).href);
