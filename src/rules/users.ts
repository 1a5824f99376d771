// Whose processes: a scan shows the processes of the user who runs it (root: everyone's), and never
// offers to signal what that user cannot. Pure.
import type { ProcessInfo, ProcessUser } from '../types.js';

/**
 * Whether `by` may signal `p`: root may signal any process, another user those that run as that
 * user. A process whose user was not read (an OS that does not tell) is taken to be the caller's.
 * (The kernel also lets a user signal a set-user-ID program it started: such a process is not
 * called its.)
 */
export function canSignal(by: ProcessUser | undefined, p: Pick<ProcessInfo, 'user'>): boolean {
  return by === undefined || by.uid === 0 || p.user === undefined || p.user.uid === by.uid;
}

/** How a user is shown: its name, or its uid where it has none here. */
export function userText(user: ProcessUser): string {
  return user.name ?? String(user.uid);
}
