// What a torture world reports, and how the suite prints it: wrong kills (which process, what it
// was, what hit it, on which path) with the seed that replays them, and the leaks reaped per path.

export interface HitSignal {
  /** ms after the world started */
  at: number;
  signal: string;
  by: string;
  source: string;
  via?: string;
}

export interface WrongKill {
  label: string;
  pid: number;
  kind: string;
  owner: string;
  /** Why it is protected (kept, person, live …, hosts …). */
  why: string;
  whyClass: string;
  how: 'signalled' | 'dead';
  signals: HitSignal[];
  /** The path that hit it: run r1, scan, watch, follower, … */
  path: string;
  phase: string;
  command: string;
  /** What else was hit around it: its hosts, its pipeline partner; rtrack's own account. */
  related: string[];
}

export interface PathStats {
  /** Leaks that were there for the path to reap. */
  candidates: number;
  reaped: number;
}

export interface CaseResult {
  seed: number;
  plan: string[];
  durationMs: number;
  error?: string;
  notes: string[];
  /** Whether rtrack's own record of its signals ($XDG_STATE_HOME/rtrack/signals.jsonl) existed. */
  signalsFile: boolean;
  wrong: WrongKill[];
  leaks: { label: string; kind: string; owner: string; reaped: boolean; path?: string }[];
  paths: Record<string, PathStats>;
  /** Processes rtrack signalled that the world's ground truth does not know (a gap in the suite). */
  unclassified: string[];
  records: number;
}

export const replayCommand = (seed: number): string => `npm run torture -- --seed ${seed}`;

/** A wrong kill's kind, for counting distinct ones: what the victim was and the path that hit it. */
/** Hit through what hosts it or shares its pipe: its host was killed (SIGHUP), its pipeline partner was (SIGPIPE). */
export const isConsequence = (w: WrongKill): boolean => /\(through /.test(w.path);

export const wrongKind = (w: WrongKill): string => `${w.kind} [${w.whyClass}] ← ${w.path.replace(/^run r\d+/, 'run').replace(/ \(.*/, '')}`;

export function formatWrongKill(w: WrongKill): string[] {
  const lines = [`  ${w.label} pid ${w.pid} [${w.kind}] — ${w.why}: ${w.how === 'dead' ? 'dead at the end, no signal recorded' : 'signalled'}; path: ${w.path}; during ${w.phase}`];
  lines.push(`    command: ${w.command}`);
  for (const s of w.signals) lines.push(`    ${s.signal} at +${s.at} ms by ${s.by} (${s.source}${s.via ? `, via ${s.via}` : ''})`);
  for (const r of w.related) lines.push(`    ${r}`);
  return lines;
}

export function formatCase(r: CaseResult, verbose: boolean): string[] {
  const leaks = r.leaks.length;
  const reaped = r.leaks.filter((l) => l.reaped).length;
  const head = `seed ${r.seed}: ${r.wrong.length === 0 ? 'ok' : `${r.wrong.length} WRONG KILL${r.wrong.length > 1 ? 'S' : ''}`}, leaks reaped ${reaped}/${leaks}, ${(r.durationMs / 1000).toFixed(1)} s${r.error ? `, error: ${r.error}` : ''}`;
  const lines = [head];
  if (r.wrong.length > 0 || verbose || r.error) {
    lines.push(`  replay: ${replayCommand(r.seed)}`, '  topology:', ...r.plan.map((l) => `    ${l}`));
    if (r.wrong.length > 0) lines.push('  wrong kills:');
    for (const w of r.wrong) lines.push(...formatWrongKill(w));
  }
  if (verbose) {
    for (const l of r.leaks) lines.push(`  leak ${l.label} [${l.kind}] ${l.reaped ? `reaped (${l.path ?? '?'})` : 'left alive'}`);
    for (const n of r.notes) lines.push(`  note: ${n}`);
  }
  for (const u of r.unclassified) lines.push(`  unclassified: ${u}`);
  return lines;
}

export interface Totals {
  worlds: number;
  errors: number;
  wrong: number;
  /** Wrong kills that died with what was hit (a pane when its server was killed, a server when its tee was): counted, not listed as kinds. */
  consequences: number;
  /** distinct kind → first seed, count */
  kinds: Map<string, { seed: number; count: number; example: WrongKill }>;
  paths: Record<string, PathStats>;
  leaks: number;
  reaped: number;
  signalsFile: boolean;
  failingSeeds: number[];
}

export const newTotals = (): Totals => ({ worlds: 0, errors: 0, wrong: 0, consequences: 0, kinds: new Map(), paths: {}, leaks: 0, reaped: 0, signalsFile: false, failingSeeds: [] });

export function addCase(t: Totals, r: CaseResult): void {
  t.worlds++;
  if (r.error) t.errors++;
  t.wrong += r.wrong.length;
  if (r.wrong.length > 0) t.failingSeeds.push(r.seed);
  if (r.signalsFile) t.signalsFile = true;
  for (const w of r.wrong) {
    if (isConsequence(w)) {
      t.consequences++;
      continue;
    }
    const k = wrongKind(w);
    const known = t.kinds.get(k);
    if (known) known.count++;
    else t.kinds.set(k, { seed: r.seed, count: 1, example: w });
  }
  for (const [path, s] of Object.entries(r.paths)) {
    const p = (t.paths[path] ??= { candidates: 0, reaped: 0 });
    p.candidates += s.candidates;
    p.reaped += s.reaped;
  }
  t.leaks += r.leaks.length;
  t.reaped += r.leaks.filter((l) => l.reaped).length;
}

const pct = (a: number, b: number): string => (b === 0 ? '—' : `${((100 * a) / b).toFixed(1)} %`);

export function formatTotals(t: Totals, seconds: number): string[] {
  const lines = [
    `torture: ${t.worlds} worlds in ${(seconds / 60).toFixed(1)} min, ${t.errors} with errors`,
    `wrong kills: ${t.wrong} (must be 0)${t.failingSeeds.length > 0 ? ` in ${t.failingSeeds.length} worlds` : ''}`,
  ];
  if (t.wrong > 0) lines.push(`  by kind (what was hit [why it is protected] ← the path that hit it), ${t.consequences} more that died with their host or pipeline partner not listed:`);
  for (const [kind, k] of [...t.kinds].sort((a, b) => b[1].count - a[1].count)) lines.push(`  ${k.count}× ${kind}; e.g. seed ${k.seed} (${replayCommand(k.seed)})`);
  lines.push(`recall: ${t.reaped}/${t.leaks} leaks reaped (${pct(t.reaped, t.leaks)})`);
  for (const [path, s] of Object.entries(t.paths).sort()) lines.push(`  ${path}: ${s.reaped}/${s.candidates} of the leaks it could see (${pct(s.reaped, s.candidates)})`);
  lines.push(t.signalsFile ? "rtrack's record of its signals (signals.jsonl): read" : "rtrack's record of its signals (signals.jsonl): absent — judged by the processes' own signal records and by who is alive");
  return lines;
}
