// Every "no" has its reason: why a process a person names (by the port it holds, by `--match`) is
// not reaped, in the gate's own words where the gate refuses it (rules/gate.ts: in use by a live
// session, kept, rtrack's own, unreadable), else by what the scan made of it. Pure.
import type { ProcessInfo, ProcessUser } from '../types.js';
import type { Refusal } from './gate.js';
import { parentOf } from './identity.js';
import type { LeakGroup } from './machine-leaks.js';
import { isKernelThread, isReparented } from './orphans.js';
import { canSignal, userText } from './users.js';

/** Why a process is not reaped by what was asked: the gate's refusal, not the caller's, or what it is. */
export interface NotReaped {
  /** `in-use`, `kept`, `refused`, `unreadable`: the gate's; `not-yours`: another user's; `not-a-leak`: neither certain nor suspected; `not-named`: in a suspected tree whose root the pattern does not name. */
  kind: Refusal['result'] | 'not-yours' | 'not-a-leak' | 'not-named';
  reason: string;
}

/**
 * Why `p` is not reaped: first whether the scanning user may signal it, then what the gate refuses
 * (`refusal`, from the look the scan judged), then what the scan made of it — a member of a suspected
 * tree whose root is another process, or no leak at all (its parent alive, or re-parented but not
 * like an agent's helper). Undefined for a certain leak or a suspected tree's root: those are reaped
 * (`scan --reap`, `--match … --yes`).
 */
export function whyNotReaped(
  p: ProcessInfo,
  ctx: {
    refusal: (pid: number) => Refusal | undefined;
    certain: readonly LeakGroup[];
    suspected: readonly LeakGroup[];
    live: ReadonlyMap<number, ProcessInfo>;
    by?: ProcessUser;
  },
): NotReaped | undefined {
  // Another user's process is not this user's to signal, whatever else is true of it (its
  // environment, for one, cannot be read).
  if (!canSignal(ctx.by, p)) return { kind: 'not-yours', reason: `it runs as ${userText(p.user!)}` };
  const refused = ctx.refusal(p.pid);
  if (refused) return { kind: refused.result, reason: refused.reason };
  if (ctx.certain.some((g) => g.processes.some((q) => q.pid === p.pid))) return undefined;
  const tree = ctx.suspected.find((g) => g.processes.some((q) => q.pid === p.pid));
  if (tree) return tree.root.pid === p.pid ? undefined : { kind: 'not-named', reason: `in the suspected tree of ${tree.root.pid}, whose root the pattern does not name` };
  const parent = parentOf(p, ctx.live);
  if (!isReparented(p, ctx.live) || isKernelThread(p, ctx.live)) return { kind: 'not-a-leak', reason: parent ? `its parent ${parent.pid}, ${parent.command}, is alive` : 'not re-parented' };
  return { kind: 'not-a-leak', reason: "re-parented, but not like a leak: its command is not an agent's helper's, and it is no server started from a session (a service leads a session of its own); scan --all lists every re-parented tree" };
}

/** How each kind of "not reaped" is said before its reason: `in use (belongs to the live claude-code session …)`. */
const NOT_REAPED_LABEL: Readonly<Record<NotReaped['kind'], string>> = {
  'in-use': 'in use',
  kept: 'kept',
  refused: 'never signalled',
  unreadable: 'not readable',
  'not-yours': 'not yours',
  'not-a-leak': 'not a leak',
  'not-named': 'not named',
};

/** A "not reaped" as people read it: `in use (belongs to the live claude-code session …)`, `kept (…)`, `not yours (it runs as bob)`. */
export function notReapedText(n: NotReaped): string {
  const label = NOT_REAPED_LABEL[n.kind];
  return n.reason.startsWith(label) ? n.reason : `${label} (${n.reason})`;
}
