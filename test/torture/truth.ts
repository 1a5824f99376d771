// The ground truth of a torture world and its verdicts. Each process the world starts is recorded
// by identity with what it is (`kind`), whose it is (`owner`) and when signalling it would be wrong:
// always (kept, a person's, another user's, rtrack's own), or while its owner is live (a session
// before it ended and after it was resumed, a run before its task exited), or from the moment a
// person took it (attached to it, typed into it) — and a host (a multiplexer's server, a pane's
// shell) whenever something it hosts is protected, because killing it takes what it hosts (SIGHUP).
// Pure: records, signals and liveness in, verdicts out.

export type Role = 'leak' | 'live' | 'kept' | 'person' | 'foreign' | 'own';
export type Interval = [number, number];

export interface TruthRecord {
  key: string;
  pid: number;
  start: number;
  label: string;
  /** What it is, for grouping (`kept:env-late`, `tmux:server`, `person:tmux-pane`, `session:devServer`, …). */
  kind: string;
  /** Whose it is: `s1` (a session), `r2` (a run), `p1` (a person), `f1` (another user), `rtrack`. */
  owner: string;
  /** The role it has when its protection does not come from its owner's life: kept, person, foreign, own; `leak` when it has none of its own. */
  role: Role;
  /** Registered (ms). */
  at: number;
  /** Its parent's identity when it registered, when that is a recorded process. */
  parentKey?: string;
  /** Killing it takes what it hosts (a multiplexer's server, a pane's shell). */
  hosting: boolean;
  /** Protected from these times on (a person attached to it or typed into it). */
  from: number[];
  /** Never counted as a leak (why): an agent the world ended, what its agent stops when it ends. Still judged while protected. */
  notALeak?: string;
  /** It may exit by itself (rtrack's own commands and followers): gone at the end is no wrong kill. */
  mayExit?: boolean;
  uid?: number;
  command?: string;
}

export interface SignalSeen {
  at: number;
  key: string;
  signal: string;
  /** `recorder` (the process's own trap), `rtrack` (signals.jsonl), `agent` (the stand-in's own record). */
  source: 'recorder' | 'rtrack' | 'agent';
  /** The sender's pid (recorder: from siginfo; 0 is the kernel). */
  sender?: number;
  /** Who sent it, as far as the world can tell: run r1, scan, watch, follower, kernel, … */
  by: string;
  via?: string;
  evidence?: string[];
}

export interface Verdict {
  record: TruthRecord;
  intervals: Interval[];
  alive: boolean;
  signals: SignalSeen[];
  /** Signals that reached it while it was protected. */
  wrongSignals: SignalSeen[];
  /** Protected at the end, dead, and no signal while it was a leak explains it. */
  deadWhileProtected: boolean;
  leak: boolean;
  /** Why it is protected at the end (or was when it was hit). */
  why: string;
  /** The same in a word or two, for counting kinds: kept, person, foreign, own, owner live, taken by a person, hosts <kind>. */
  whyClass: string;
}

export interface Why {
  text: string;
  cls: string;
}

export const inside = (intervals: readonly Interval[], t: number): boolean => intervals.some(([a, b]) => t >= a && t < b);

function union(list: Interval[]): Interval[] {
  const sorted = list.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

const clipFrom = (list: readonly Interval[], t: number): Interval[] => list.flatMap(([a, b]) => (b > t ? [[Math.max(a, t), b] as Interval] : []));

export interface JudgeInput {
  records: TruthRecord[];
  /** When each owner (session, run) is live: signalling its processes then is wrong. */
  ownerLive: ReadonlyMap<string, Interval[]>;
  signals: SignalSeen[];
  alive: (r: TruthRecord) => boolean;
  /** The last sweep that saw it alive and the first that saw it gone (ms). */
  deathWindow: (r: TruthRecord) => Interval | undefined;
  end: number;
}

/** The intervals in which signalling each record is wrong, hosting included. */
export function protection(records: readonly TruthRecord[], ownerLive: ReadonlyMap<string, Interval[]>): Map<string, { intervals: Interval[]; why: (t: number) => Why }> {
  const byKey = new Map(records.map((r) => [r.key, r]));
  const children = new Map<string, TruthRecord[]>();
  for (const r of records) if (r.parentKey && byKey.has(r.parentKey)) children.set(r.parentKey, [...(children.get(r.parentKey) ?? []), r]);
  const memo = new Map<string, { intervals: Interval[]; why: (t: number) => Why }>();
  const visiting = new Set<string>();
  const compute = (r: TruthRecord): { intervals: Interval[]; why: (t: number) => Why } => {
    const known = memo.get(r.key);
    if (known) return known;
    if (visiting.has(r.key)) return { intervals: [], why: () => ({ text: '', cls: '' }) };
    visiting.add(r.key);
    const own: Interval[] = r.role === 'leak' ? [...(ownerLive.get(r.owner) ?? [])] : [[-Infinity, Infinity]];
    const took: Interval[] = r.from.map((t) => [t, Infinity]);
    const hosted: { child: TruthRecord; intervals: Interval[] }[] = [];
    if (r.hosting) {
      for (const c of children.get(r.key) ?? []) {
        const ci = clipFrom(compute(c).intervals, c.at);
        if (ci.length > 0) hosted.push({ child: c, intervals: ci });
      }
    }
    const intervals = union([...own, ...took, ...hosted.flatMap((h) => h.intervals)]);
    const why = (t: number): Why => {
      if (r.role !== 'leak') return { text: r.role, cls: r.role };
      if (inside(own, t)) return { text: `its owner ${r.owner} is live`, cls: 'owner live' };
      if (inside(took, t)) return { text: 'a person took it (attached to it, typed into it)', cls: 'taken by a person' };
      const h = hosted.find((x) => inside(x.intervals, t));
      if (h) {
        const inner = compute(h.child).why(t);
        return { text: `hosts ${h.child.label} (pid ${h.child.pid}, ${inner.text})`, cls: `hosts ${h.child.kind} (${inner.cls})` };
      }
      return { text: 'not protected', cls: 'leak' };
    };
    const result = { intervals, why };
    memo.set(r.key, result);
    visiting.delete(r.key);
    return result;
  };
  for (const r of records) compute(r);
  return memo;
}

export function judge(input: JudgeInput): Verdict[] {
  const prot = protection(input.records, input.ownerLive);
  return input.records.map((record) => {
    const { intervals, why } = prot.get(record.key)!;
    const signals = input.signals.filter((s) => s.key === record.key).sort((a, b) => a.at - b.at);
    const alive = input.alive(record);
    const wrongSignals = signals.filter((s) => inside(intervals, s.at));
    const protectedAtEnd = inside(intervals, input.end);
    let deadWhileProtected = false;
    if (protectedAtEnd && !alive && wrongSignals.length === 0 && !record.mayExit) {
      const legit = signals.some((s) => !inside(intervals, s.at));
      const window = input.deathWindow(record);
      // It died in a window that holds a moment when it was a leak: it may have been reaped then.
      const couldHaveBeenLeak = window !== undefined && !intervals.some(([a, b]) => a <= window[0] && b > window[1]);
      deadWhileProtected = !legit && !couldHaveBeenLeak;
    }
    const at = wrongSignals[0]?.at ?? input.deathWindow(record)?.[1] ?? input.end;
    const w = why(Math.min(at, input.end));
    return { record, intervals, alive, signals, wrongSignals, deadWhileProtected, leak: !protectedAtEnd && record.notALeak === undefined, why: w.text, whyClass: w.cls };
  });
}

/** One line of rtrack's record of the signals it sends (`$XDG_STATE_HOME/rtrack/signals.jsonl`, written before each signal). */
export interface RtrackSignal {
  at: string;
  by: string;
  pid: number;
  identity: string;
  signal: string;
  command?: string;
  evidence?: string[];
  via?: string;
}

/** The signals in a signals.jsonl text, and the lines that are not one (a partial last line, a corrupt one). */
export function parseRtrackSignals(text: string): { signals: SignalSeen[]; lines: RtrackSignal[]; bad: string[] } {
  const signals: SignalSeen[] = [];
  const lines: RtrackSignal[] = [];
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e: Partial<RtrackSignal>;
    try {
      e = JSON.parse(line) as Partial<RtrackSignal>;
    } catch {
      bad.push(line);
      continue;
    }
    const at = typeof e.at === 'string' ? Date.parse(e.at) : NaN;
    if (typeof e.identity !== 'string' || !/^\d+:\d+$/.test(e.identity) || Number.isNaN(at)) {
      bad.push(line);
      continue;
    }
    lines.push(e as RtrackSignal);
    signals.push({ at, key: e.identity, signal: e.signal ?? '?', source: 'rtrack', by: e.by ?? '?', ...(e.via ? { via: e.via } : {}), ...(e.evidence ? { evidence: e.evidence } : {}) });
  }
  return { signals, lines, bad };
}
