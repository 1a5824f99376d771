// Who runs what, for a system-wide watch: this process's privileges (uid, Linux capabilities) and
// the machine's users (/etc/passwd, under another root where the host's is mounted: a container),
// parsed here (parsePasswd: a text in, users out).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PasswdUser, Privileges } from '../rules/watch-scope.js';

/** This process's effective uid and (Linux) effective capabilities, from /proc/self/status `CapEff`. */
export function readPrivileges(procRoot = '/proc'): Privileges {
  const uid = process.geteuid?.();
  if (process.platform !== 'linux') return { uid };
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`${procRoot}/self/status`, 'latin1'))?.[1];
    return hex === undefined ? { uid } : { uid, capabilities: BigInt(`0x${hex}`) };
  } catch {
    return { uid };
  }
}

/** /etc/passwd's users by uid (the first entry of a uid wins, as getpwuid gives it); malformed lines are skipped. */
export function parsePasswd(text: string): Map<number, PasswdUser> {
  const users = new Map<number, PasswdUser>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length < 7) continue;
    const uid = Number(fields[2]);
    if (!/^\d+$/.test(fields[2]!) || !Number.isSafeInteger(uid) || users.has(uid)) continue;
    users.set(uid, { name: fields[0]!, uid, home: fields[5]! });
  }
  return users;
}

/** The users of `<root>/etc/passwd` by uid; empty when it cannot be read (then users are shown by uid). */
export function readPasswd(root = '/'): Map<number, PasswdUser> {
  try {
    return parsePasswd(readFileSync(join(root, 'etc', 'passwd'), 'utf8'));
  } catch {
    return new Map();
  }
}
