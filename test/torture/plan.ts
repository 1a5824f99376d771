// The plan of one torture world: a seeded topology of agent sessions, runs, hosts, kept processes,
// a person's and another user's processes, and the rtrack paths that judge them. Pure data: the
// driver (world-main.ts) builds it on real processes inside a PID namespace of its own.
import { Rng } from './prng.js';

/** How a session ends: not (live), a normal end (SIGTERM: SessionEnd), SIGKILL, or ended and resumed under the same id in a new process. */
export type Fate = 'live' | 'ended' | 'killed' | 'resumed';

/** How a process is started in the background by a tool command or a task. */
export type Launch = 'background' | 'nohup' | 'setsid' | 'doublefork' | 'deep' | 'scrubbed' | 'retitle' | 'perl-title';
export const LAUNCHES: readonly Launch[] = ['background', 'nohup', 'setsid', 'doublefork', 'deep', 'scrubbed', 'retitle', 'perl-title'];

/** Where RESOURCE_TRACKER_KEEP=1 sits in the environment: first, in the middle, after 1.08 MB of other variables. */
export type KeepEnvAt = 'first' | 'middle' | 'late';
/** Where a keep pattern's text sits on the command line: argv[0], in the middle, past 4 KiB, past 64 KiB. */
export type KeepPatternAt = 'argv0' | 'middle' | 'past-4k' | 'past-64k';
/** Who is given a keep pattern: the config every path reads, `--keep` on every command, `--keep` on the run only (issue 32 #6). */
export type KeepChannel = 'config' | 'flags' | 'run-only';

export type Keep = { env: KeepEnvAt } | { pattern: KeepPatternAt; channel: KeepChannel; token: string };

export type Block =
  /** One process (a recorder): its launch, whether it is kept and how, its session markers (or run tag) moved past 1 MiB, listening, a launcher that double-forks a scrubbed daemon. */
  | { kind: 'proc'; id: string; launch: Launch; keep?: Keep; markersLate?: boolean; listen?: boolean; daemon?: 'quick' | 'slow'; forksOnTerm?: boolean }
  /** `[RESOURCE_TRACKER_KEEP=1] server 2>&1 | tee log &` */
  | { kind: 'pipeline'; id: string; kept: boolean }
  /** `tmux -S <socket> new-session -d -s <id> …`: the world's shared socket or one of its own; the pane a shell (that a person can type into) or a recorder. */
  | { kind: 'tmux'; id: string; socket: 'shared' | 'private'; shell: boolean }
  | { kind: 'screen'; id: string }
  | { kind: 'dtach'; id: string }
  /** A process of the other user, started with setpriv (so with the inherited environment: markers, tag). */
  | { kind: 'foreign'; id: string };

export type HostKind = 'tmux' | 'screen' | 'dtach';

/** What a person does (their own environment, no markers). `host`: the label of a host a block made (`s1.b2`). */
export type PersonAct =
  | { act: 'tmux-session' } // their own session on the world's shared tmux socket
  | { act: 'tmux-window'; host: string } // a window of their own in a host's tmux session
  | { act: 'screen-window'; host: string }
  | { act: 'attach'; host: string; hostKind: HostKind } // attaches from a terminal of their own (script(1))
  | { act: 'type'; host: string } // types a command into a host's shell pane
  | { act: 'agent'; host: string } // starts an agent (a stand-in Claude Code session) in a host's shell pane
  | { act: 'server' }; // a dev server of their own, nohup'd from their shell

export type ForeignAct = 'idle' | 'node-like' | 'session';

export type Step =
  | { do: 'session'; session: string; blocks: Block[] }
  /** `rtrack run --reap -- bash -c '<the blocks>'`, or with `agent`, `rtrack run --reap -- claude` whose Bash tool runs the blocks (ended normally when the run should end). */
  | { do: 'run'; run: string; blocks: Block[]; during: Step[]; agent?: boolean }
  | { do: 'person'; person: string; act: PersonAct }
  | { do: 'foreign'; foreign: string; act: ForeignAct }
  | { do: 'end'; session: string; signal: 'SIGTERM' | 'SIGKILL' }
  | { do: 'resume'; session: string }
  | { do: 'follower' }
  | { do: 'scan' }
  | { do: 'watch' };

export interface WorldPlan {
  seed: number;
  /** The sessions' hooks: the follower reaps (`sessions.reap`), only journals, or no hooks at all. */
  hooks: 'reap' | 'journal' | 'none';
  lingerMs: number;
  fates: Record<string, Fate>;
  steps: Step[];
}

export const hostKindOf = (b: Block): HostKind | undefined => (b.kind === 'tmux' || b.kind === 'screen' || b.kind === 'dtach' ? b.kind : undefined);

/** Every block of a plan, with its owner (`s1`, `r2`). */
export function blocksOf(plan: WorldPlan): { owner: string; block: Block }[] {
  const out: { owner: string; block: Block }[] = [];
  const visit = (steps: Step[]): void => {
    for (const s of steps) {
      if (s.do === 'session') for (const b of s.blocks) out.push({ owner: s.session, block: b });
      if (s.do === 'run') {
        for (const b of s.blocks) out.push({ owner: s.run, block: b });
        visit(s.during);
      }
    }
  };
  visit(plan.steps);
  return out;
}

/** Every step, those done during a run included. */
export function allSteps(plan: WorldPlan): Step[] {
  return plan.steps.flatMap((s) => (s.do === 'run' ? [s, ...s.during] : [s]));
}

/** The keep patterns of a plan, by who is given them. */
export function keepPatterns(plan: WorldPlan): { config: string[]; flags: string[]; runOnly: Map<string, string[]> } {
  const config: string[] = [];
  const flags: string[] = [];
  const runOnly = new Map<string, string[]>();
  for (const { owner, block } of blocksOf(plan)) {
    if (block.kind !== 'proc' || !block.keep || !('pattern' in block.keep)) continue;
    const { channel, token } = block.keep;
    if (channel === 'config') config.push(token);
    else if (channel === 'flags') flags.push(token);
    else runOnly.set(owner, [...(runOnly.get(owner) ?? []), token]);
  }
  return { config, flags, runOnly };
}

/** What the machine has: another user (root can make one), screen, dtach. A missing one's blocks are never drawn (the same seed draws the same numbers). */
export interface Available {
  foreign: boolean;
  screen?: boolean;
  dtach?: boolean;
}

interface Generation {
  rng: Rng;
  foreign: boolean;
  screen: boolean;
  dtach: boolean;
  blockCount: number;
  sharedTmux: boolean;
}

function generateBlock(g: Generation, owner: string, ownerKind: 'session' | 'run'): Block {
  const id = `b${++g.blockCount}`;
  const label = `${owner}.${id}`;
  const { rng } = g;
  const kind = rng.weighted<Block['kind']>([
    ['proc', 50],
    ['pipeline', 12],
    ['tmux', 20],
    ['screen', g.screen ? 7 : 0],
    ['dtach', g.dtach ? 6 : 0],
    ['foreign', g.foreign ? 5 : 0],
  ]);
  if (kind === 'pipeline') return { kind, id, kept: rng.chance(0.7) };
  if (kind === 'tmux') {
    const shared = rng.chance(0.7);
    if (shared) g.sharedTmux = true;
    return { kind, id, socket: shared ? 'shared' : 'private', shell: rng.chance(0.6) };
  }
  if (kind === 'screen' || kind === 'dtach' || kind === 'foreign') return { kind, id };
  const launch = rng.pick(LAUNCHES);
  const block: Block & { kind: 'proc' } = { kind: 'proc', id, launch };
  const r = rng.next();
  if (r < 0.3) block.keep = { env: rng.pick<KeepEnvAt>(['first', 'middle', 'late']) };
  else if (r < 0.55) {
    const channels: KeepChannel[] = ownerKind === 'run' ? ['config', 'flags', 'run-only'] : ['config'];
    block.keep = { pattern: rng.pick<KeepPatternAt>(['argv0', 'middle', 'past-4k', 'past-64k']), channel: rng.pick(channels), token: `KeptDevServer_${label.replace(/\./g, '_')}` };
  }
  if (!block.keep && launch !== 'scrubbed' && rng.chance(0.2)) block.markersLate = true;
  if (rng.chance(0.3)) block.listen = true;
  // A launcher that double-forks a scrubbed daemon: kept with its launcher (issue 25's lineage), or a leak with it.
  // `quick`: it double-forks at once (no lineage poll can see the daemon below it); `slow`: the
  // intermediate shell lives 0.6 s after the fork, so a lineage (polling every 250 ms, or once a second) sees it.
  if ((!block.keep || 'env' in block.keep) && launch !== 'perl-title' && rng.chance(0.2)) block.daemon = rng.pick(['quick', 'slow'] as const);
  // A leak with a cleanup step: on SIGTERM it starts a child, born while it is reaped (issue 32: the cgroup, whole again).
  if (!block.keep && rng.chance(0.15)) block.forksOnTerm = true;
  return block;
}

/** Person acts that fit the hosts of these blocks (made by `owner`). */
function personActsFor(g: Generation, owner: string, blocks: Block[], count: () => string): Step[] {
  const { rng } = g;
  const steps: Step[] = [];
  for (const b of blocks) {
    const host = `${owner}.${b.id}`;
    const kind = hostKindOf(b);
    if (!kind || !rng.chance(0.6)) continue;
    const acts: PersonAct[] = [{ act: 'attach', host, hostKind: kind }];
    if (b.kind === 'tmux') {
      acts.push({ act: 'tmux-window', host });
      if (b.shell) acts.push({ act: 'type', host }, { act: 'agent', host });
      if (b.socket === 'shared') acts.push({ act: 'tmux-session' }, { act: 'tmux-session' });
    }
    if (b.kind === 'screen') acts.push({ act: 'screen-window', host });
    steps.push({ do: 'person', person: count(), act: rng.pick(acts) });
  }
  return steps;
}

/** The world of a seed. */
export function generatePlan(seed: number, options: Available): WorldPlan {
  const rng = new Rng(seed);
  const g: Generation = { rng, foreign: options.foreign, screen: options.screen ?? true, dtach: options.dtach ?? true, blockCount: 0, sharedTmux: false };
  let persons = 0;
  let foreigns = 0;
  const person = (): string => `p${++persons}`;
  const hooks = rng.weighted<WorldPlan['hooks']>([
    ['reap', 5],
    ['journal', 2],
    ['none', 2],
  ]);
  let sessionCount = rng.int(0, 3);
  const runCount = rng.int(sessionCount === 0 ? 1 : 0, 2);
  if (sessionCount === 0 && runCount === 0) sessionCount = 1;
  const fates: Record<string, Fate> = {};
  const steps: Step[] = [];
  const early: Step[] = [];

  for (let i = 0; i < (options.foreign ? rng.int(0, 2) : 0); i++) early.push({ do: 'foreign', foreign: `f${++foreigns}`, act: rng.pick<ForeignAct>(['idle', 'node-like', 'session']) });
  // Sometimes a person started the shared tmux server before any session did.
  const personFirst = rng.chance(0.15);
  if (personFirst) early.push({ do: 'person', person: person(), act: { act: 'tmux-session' } });
  if (rng.chance(0.3)) early.push({ do: 'person', person: person(), act: { act: 'server' } });
  steps.push(...early);

  const sessionSteps: Step[] = [];
  for (let i = 1; i <= sessionCount; i++) {
    const session = `s${i}`;
    fates[session] = rng.weighted<Fate>([
      ['live', 3],
      ['ended', 4],
      ['killed', 3],
      ['resumed', 2],
    ]);
    const blocks = Array.from({ length: rng.int(1, 4) }, () => generateBlock(g, session, 'session'));
    sessionSteps.push({ do: 'session', session, blocks }, ...personActsFor(g, session, blocks, person));
  }
  const runSteps: Step[] = [];
  for (let i = 1; i <= runCount; i++) {
    const run = `r${i}`;
    const blocks = Array.from({ length: rng.int(1, 4) }, () => generateBlock(g, run, 'run'));
    runSteps.push({ do: 'run', run, blocks, during: personActsFor(g, run, blocks, person), ...(rng.chance(0.35) ? { agent: true } : {}) });
  }
  const ends: Step[] = [];
  for (const [session, fate] of Object.entries(fates)) {
    if (fate === 'live') continue;
    const signal = fate === 'ended' ? 'SIGTERM' : fate === 'killed' ? 'SIGKILL' : rng.pick(['SIGTERM', 'SIGKILL'] as const);
    ends.push({ do: 'end', session, signal });
    if (fate === 'resumed') ends.push({ do: 'resume', session });
  }
  // Runs go while the sessions live, or after they ended.
  const runsFirst = rng.chance(0.5);
  steps.push(...sessionSteps, ...(runsFirst ? [...runSteps, ...ends] : [...ends, ...runSteps]));

  const anyEnded = ends.length > 0;
  if (hooks !== 'none' && anyEnded) steps.push({ do: 'follower' });
  const machine: Step[] = [];
  if (rng.chance(0.7)) machine.push({ do: 'scan' });
  if (rng.chance(0.5)) machine.push({ do: 'watch' });
  // Something must reap: a run, the follower, a scan or a watch.
  if (machine.length === 0 && runCount === 0 && !(hooks === 'reap' && anyEnded)) machine.push({ do: 'scan' });
  if (rng.chance(0.5)) machine.reverse();
  steps.push(...machine);

  const resumed = Object.values(fates).includes('resumed');
  return { seed, hooks, lingerMs: resumed ? 1500 : 300, fates, steps };
}

const KEEP_TEXT: Record<KeepPatternAt, string> = { argv0: 'in argv[0]', middle: 'mid-command-line', 'past-4k': 'past 4 KiB of command line', 'past-64k': 'past 64 KiB of command line' };

export function describeBlock(b: Block): string {
  switch (b.kind) {
    case 'proc': {
      const parts = [`${b.launch}`];
      if (b.keep && 'env' in b.keep) parts.push(`RESOURCE_TRACKER_KEEP=1 ${b.keep.env === 'late' ? 'after 1.08 MB of environment' : `${b.keep.env} in the environment`}`);
      if (b.keep && 'pattern' in b.keep) parts.push(`keep pattern ${b.keep.token} ${KEEP_TEXT[b.keep.pattern]} (given to: ${b.keep.channel})`);
      if (b.markersLate) parts.push('its markers/tag after 1.08 MB of environment');
      if (b.listen) parts.push('listening');
      if (b.forksOnTerm) parts.push('on SIGTERM it starts a cleanup child');
      if (b.daemon) parts.push(`double-forks a scrubbed daemon (${b.daemon === 'quick' ? 'at once' : 'its intermediate shell lingers 0.6 s'})`);
      return `${b.id}: process, ${parts.join(', ')}`;
    }
    case 'pipeline':
      return `${b.id}: ${b.kept ? 'RESOURCE_TRACKER_KEEP=1 ' : ''}server 2>&1 | tee log &`;
    case 'tmux':
      return `${b.id}: tmux new-session -d on ${b.socket === 'shared' ? 'the shared socket' : 'a socket of its own'}, pane ${b.shell ? 'a shell' : 'a program'}`;
    case 'screen':
      return `${b.id}: screen -dmS`;
    case 'dtach':
      return `${b.id}: dtach -n`;
    case 'foreign':
      return `${b.id}: another user's process (setpriv, inherited environment)`;
  }
}

function describePerson(a: PersonAct): string {
  switch (a.act) {
    case 'tmux-session':
      return 'tmux new -d -s <own session> on the shared socket';
    case 'tmux-window':
      return `tmux new-window in ${a.host}`;
    case 'screen-window':
      return `screen -X screen in ${a.host}`;
    case 'attach':
      return `attaches to ${a.host} (${a.hostKind}) from a terminal`;
    case 'type':
      return `types a command into ${a.host}'s shell`;
    case 'agent':
      return `starts an agent (claude) in ${a.host}'s shell`;
    case 'server':
      return 'nohup dev-server & from a plain shell';
  }
}

/** The plan in a few lines. */
export function describePlan(plan: WorldPlan): string[] {
  const lines = [`hooks: ${plan.hooks}${plan.hooks === 'none' ? '' : `, linger ${plan.lingerMs} ms`}`];
  const step = (s: Step, indent: string): void => {
    switch (s.do) {
      case 'session':
        lines.push(`${indent}session ${s.session} (${plan.fates[s.session]}): ${s.blocks.map(describeBlock).join('; ')}`);
        break;
      case 'run':
        lines.push(`${indent}run ${s.run} (${s.agent ? 'run --reap -- claude, its Bash tool' : 'run --reap'}): ${s.blocks.map(describeBlock).join('; ')}`);
        for (const d of s.during) step(d, `${indent}  while it runs: `);
        break;
      case 'person':
        lines.push(`${indent}person ${s.person}: ${describePerson(s.act)}`);
        break;
      case 'foreign':
        lines.push(`${indent}other user ${s.foreign}: ${s.act === 'session' ? 'a live agent session of their own' : s.act === 'idle' ? 'a listening server' : 'a node-like process'}`);
        break;
      case 'end':
        lines.push(`${indent}${s.signal} to ${s.session}'s agent`);
        break;
      case 'resume':
        lines.push(`${indent}${s.session} resumed (same id, new agent process)`);
        break;
      case 'follower':
        lines.push(`${indent}the follower closes the ended sessions${plan.hooks === 'reap' ? ' (sessions.reap)' : ' (journal only)'}`);
        break;
      case 'scan':
        lines.push(`${indent}rtrack scan --reap`);
        break;
      case 'watch':
        lines.push(`${indent}rtrack watch --reap, one reaping tick`);
        break;
    }
  };
  for (const s of plan.steps) step(s, '');
  return lines;
}

/** What a plan exercises, as names (`fate:resumed`, `keep-env:late`, `person:attach-dtach`, `path:watch`, …): the quick mode's seeds must cover them all. */
export function featuresOf(plan: WorldPlan): Set<string> {
  const f = new Set<string>([`hooks:${plan.hooks}`]);
  for (const fate of Object.values(plan.fates)) f.add(`fate:${fate}`);
  for (const { owner, block: b } of blocksOf(plan)) {
    const by = owner.startsWith('r') ? 'run' : 'session';
    f.add(`block:${b.kind}`);
    f.add(`block:${b.kind}:${by}`);
    if (b.kind === 'tmux') f.add(`tmux:${b.socket}:${b.shell ? 'shell' : 'program'}`);
    if (b.kind === 'pipeline') f.add(`pipeline:${b.kept ? 'kept' : 'leak'}`);
    if (b.kind !== 'proc') continue;
    f.add(`launch:${b.launch}`);
    if (b.keep && 'env' in b.keep) f.add(`keep-env:${b.keep.env}`);
    if (b.keep && 'pattern' in b.keep) f.add(`keep-pattern:${b.keep.pattern}`).add(`keep-channel:${b.keep.channel}`);
    if (b.keep && b.launch === 'perl-title') f.add(`kept+perl-title`);
    if (b.markersLate) f.add('markers-late');
    if (b.daemon) f.add(`daemon:${b.daemon}`);
    if (b.forksOnTerm) f.add('forks-on-term');
  }
  for (const s of allSteps(plan)) {
    if (s.do === 'person') f.add(`person:${s.act.act}${s.act.act === 'attach' ? `-${s.act.hostKind}` : ''}`);
    if (s.do === 'foreign') f.add(`foreign:${s.act}`);
    if (s.do === 'run') f.add('path:run').add(s.agent ? 'run:agent' : 'run:task');
    if (s.do === 'follower' && plan.hooks === 'reap') f.add('path:follower');
    if (s.do === 'scan' || s.do === 'watch') f.add(`path:${s.do}`);
  }
  return f;
}
