// Who runs what, for a system-wide watch: this process's privileges (uid, Linux capabilities) and
// the machine's users (/etc/passwd, under another root where the host's is mounted: a container).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePasswd, type PasswdUser, type Privileges } from '../rules/watch-scope.js';

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

/** The users of `<root>/etc/passwd` by uid; empty when it cannot be read (then users are shown by uid). */
export function readPasswd(root = '/'): Map<number, PasswdUser> {
  try {
    return parsePasswd(readFileSync(join(root, 'etc', 'passwd'), 'utf8'));
  } catch {
    return new Map();
  }
}
