// The torture suite's long mode: random worlds for a while, or the worlds of given seeds.
//   npm run torture -- --minutes 30           random seeds for 30 minutes; prints wrong kills (must be 0) and recall
//   npm run torture -- --seed 1234            one world, with its topology, every leak and what each path did
//   npm run torture -- --seeds 1,2,3 [--jobs 2] [--keep-worlds] [--no-foreign] [--json out.json]
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generatePlan } from './plan.js';
import { prepare, runWorld, whyNot } from './orchestrator.js';
import { addCase, formatCase, formatTotals, newTotals, type CaseResult } from './report.js';

interface Options {
  minutes: number;
  seeds?: number[];
  jobs: number;
  keepWorlds: boolean;
  foreign: boolean;
  json?: string;
  verbose: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { minutes: 30, jobs: 1, keepWorlds: false, foreign: true, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const whole = (v: string): number => {
      if (!/^\d+$/.test(v)) throw new Error(`${a}: expected a whole number, not ${v}`);
      return Number(v);
    };
    if (a === '--minutes') o.minutes = Number(value());
    else if (a === '--seed') {
      o.seeds = [whole(value())];
      o.verbose = true;
    } else if (a === '--seeds') o.seeds = value().split(',').map(whole);
    else if (a === '--jobs') o.jobs = Math.max(1, whole(value()));
    else if (a === '--keep-worlds') o.keepWorlds = true;
    else if (a === '--no-foreign') o.foreign = false;
    else if (a === '--json') o.json = value();
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown option ${a} (--minutes N, --seed N, --seeds a,b, --jobs N, --keep-worlds, --no-foreign, --json file, --verbose)`);
  }
  if (!(o.minutes > 0)) throw new Error('--minutes: expected a positive number');
  return o;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`torture: ${(err as Error).message}`);
    return 2;
  }
  const why = whyNot();
  if (why) {
    console.error(`torture: skipped: ${why}`);
    return 0;
  }
  const setup = await prepare({ foreign: options.foreign });
  let stop = false;
  const onSignal = (): void => {
    if (stop) return;
    stop = true;
    console.error('torture: stopping after the worlds that run now (their processes, groups and files are removed)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const totals = newTotals();
  const results: CaseResult[] = [];
  const started = Date.now();
  const deadline = started + options.minutes * 60_000;
  const queue = options.seeds ? [...options.seeds] : undefined;
  const nextSeed = (): number | undefined => (queue ? queue.shift() : Date.now() < deadline ? randomInt(2 ** 31) : undefined);
  console.log(`torture: ${queue ? `${queue.length} seed(s)` : `random seeds for ${options.minutes} min`}, ${options.jobs} world(s) at a time${setup.foreign ? `, other user ${setup.foreign.name} (uid ${setup.foreign.uid})` : ', no other user'}${setup.available.screen ? '' : ', no screen'}${setup.available.dtach ? '' : ', no dtach'}`);
  try {
    const worker = async (): Promise<void> => {
      for (let seed = nextSeed(); seed !== undefined && !stop; seed = nextSeed()) {
        const plan = generatePlan(seed, setup.available);
        const result = await runWorld(setup, plan, { keepWorld: options.keepWorlds });
        results.push(result);
        addCase(totals, result);
        console.log(formatCase(result, options.verbose).join('\n'));
        if (result.world) console.log(`  world kept in ${result.world}`);
      }
    };
    await Promise.all(Array.from({ length: options.jobs }, worker));
  } finally {
    setup.cleanup();
  }
  console.log(formatTotals(totals, (Date.now() - started) / 1000).join('\n'));
  if (options.json) writeFileSync(options.json, JSON.stringify(results, null, 1));
  return totals.wrong > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
