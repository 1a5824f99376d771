// The shell text a torture world runs: each block of a plan as the Bash-tool command of a session,
// or a part of a run's task, would start it. Every process a block starts registers its identity
// (the recorder, rec.pl, by itself; others through `reg` in the prelude) under a label, so that the
// driver knows what is what before anything could be reaped.
import type { Block } from './plan.js';

export const q = (s: string): string => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
export const words = (ws: readonly string[]): string => ws.map(q).join(' ');

/** A multiplexer's session name for a label: tmux turns `.` and `:` in names into `_`, screen reads `pid.name`. */
export const hostName = (label: string): string => label.replace(/[.:]/g, '-');

export interface WorldPaths {
  /** The world's directory (rec.pl, envx.pl, the logs). */
  dir: string;
  foreign?: { uid: number; gid: number };
}

/** The prelude of every script: `reg <label> <pid>` registers a process that is no recorder. */
export function prelude(w: WorldPaths): string {
  return [
    `W=${q(w.dir)}`,
    'reg() { local s; s=$(< "/proc/$2/stat") || return 0; s=${s##*) }; set -- "$1" "$2" $s; echo "reg $(date +%s%3N) $1 $2 ${22} ${4} $(stat -c %u "/proc/$2")" >> "$W/registry.log"; }',
  ].join('\n');
}

/** A command-line filler of `bytes` bytes: a Java classpath, as `java -cp <long classpath> Main` has. */
export function filler(bytes: number): string[] {
  const out: string[] = [];
  let left = bytes;
  let n = 0;
  while (left > 0) {
    let arg = '-Dclasspath=';
    while (arg.length < Math.min(left, 60_000)) arg += `/opt/lib/dep-${String(++n).padStart(5, '0')}.jar:`;
    arg = arg.slice(0, Math.min(left, 60_000));
    out.push(arg);
    left -= arg.length + 1;
  }
  return out;
}

export interface BlockText {
  text: string;
  /** The labels the block's processes register under. */
  labels: string[];
}

/** The recorder's command words. */
const rec = (w: WorldPaths, label: string, ...opts: string[]): string[] => ['perl', `${w.dir}/rec.pl`, label, ...opts];

/** Markers that say whose a process is: a session's, and a run's tag. */
const MARKERS = ['CLAUDE_CODE_SESSION_ID', 'CLAUDE_PID', 'RESOURCE_TRACKER_TASK'];

export function blockText(w: WorldPaths, label: string, b: Block): BlockText {
  switch (b.kind) {
    case 'proc': {
      let argv0: string | undefined;
      const opts: string[] = [];
      if (b.listen) opts.push('--listen');
      if (b.forksOnTerm) opts.push('--fork-on-term');
      // A title a keep pattern is written against shows the pattern's text (a pattern matches what ps shows).
      if (b.launch === 'perl-title') opts.push('--title', b.keep && 'pattern' in b.keep ? `${b.keep.token} mydaemon` : `mydaemon-${label}`);
      let command = rec(w, label, ...opts);
      if (b.keep && 'pattern' in b.keep) {
        const { token } = b.keep;
        if (b.keep.pattern === 'argv0') argv0 = `${token} --serve`;
        else if (b.keep.pattern === 'middle') command.push(token, ...filler(2000));
        else command.push(...filler(b.keep.pattern === 'past-4k' ? 4200 : 65_000), token);
      }
      if (b.launch === 'retitle' && argv0 === undefined) argv0 = `node /srv/app/dev-server.js --port 0`;
      const env: string[] = [];
      if (b.keep && 'env' in b.keep) env.push('--at', b.keep.env, 'RESOURCE_TRACKER_KEEP=1');
      else if (b.markersLate) env.push('--at', 'late', ...MARKERS.flatMap((m) => ['--move', m]));
      const envx = (inner: string[], a0?: string): string[] => (env.length > 0 || a0 !== undefined ? ['perl', `${w.dir}/envx.pl`, ...(a0 !== undefined ? ['--argv0', a0] : []), ...env, '--', ...inner] : inner);
      const labels = [label];
      if (b.daemon) {
        // The launcher (kept or not, by its environment) double-forks a daemon that scrubs its environment, then becomes the recorder.
        labels.push(`${label}.daemon`);
        const daemon = `env -i PATH=/usr/bin:/bin ${words(rec(w, `${label}.daemon`))} >/dev/null 2>&1 &`;
        const fork = b.daemon === 'quick' ? `(${daemon});` : `(${daemon} sleep 0.6) &`;
        const inner = `${fork} exec ${argv0 !== undefined ? `-a ${q(argv0)} ` : ''}${words(command)}`;
        command = envx(['bash', '-c', inner]);
      } else command = envx(command, argv0);
      const c = words(command);
      const launch: Record<typeof b.launch, string> = {
        background: `${c} >/dev/null 2>&1 &`,
        nohup: `nohup ${c} >/dev/null 2>&1 &`,
        setsid: `setsid -f ${c} >/dev/null 2>&1`,
        doublefork: `( ${c} >/dev/null 2>&1 & )`,
        deep: `( setsid -f ${c} >/dev/null 2>&1 & )`,
        scrubbed: `( env -i PATH=/usr/bin:/bin ${c} >/dev/null 2>&1 & )`,
        retitle: `nohup ${c} >/dev/null 2>&1 &`,
        'perl-title': `nohup ${c} >/dev/null 2>&1 &`,
      };
      return { text: launch[b.launch], labels };
    }
    case 'pipeline':
      return {
        text: `${b.kept ? 'RESOURCE_TRACKER_KEEP=1 ' : ''}${words(rec(w, `${label}.srv`, '--chatter'))} 2>&1 | tee ${q(`${w.dir}/${label}.log`)} >/dev/null & reg ${label}.tee $!`,
        labels: [`${label}.srv`, `${label}.tee`],
      };
    case 'tmux': {
      const socket = b.socket === 'shared' ? `${w.dir}/tmux-shared` : `${w.dir}/tmux-${label}`;
      const pane = b.shell ? [] : rec(w, `${label}.pane`);
      return { text: words(['tmux', '-S', socket, 'new-session', '-d', '-s', hostName(label), '-x', '80', '-y', '24', '-e', `TORTURE_LABEL=${label}.pane`, ...pane]), labels: [`${label}.pane`] };
    }
    case 'screen':
      return { text: words(['screen', '-dmS', hostName(label), ...rec(w, `${label}.win`, '--shell')]), labels: [`${label}.win`] };
    case 'dtach':
      return { text: words(['dtach', '-n', `${w.dir}/dtach-${label}`, '-z', ...rec(w, `${label}.win`)]), labels: [`${label}.win`] };
    case 'foreign': {
      if (!w.foreign) return { text: ': no other user', labels: [] };
      const { uid, gid } = w.foreign;
      return { text: `setpriv --reuid=${uid} --regid=${gid} --clear-groups nohup ${words(rec(w, label))} >/dev/null 2>&1 &`, labels: [label] };
    }
  }
}

/** A tmux socket of a host block. */
export const tmuxSocket = (w: WorldPaths, label: string, b: Block & { kind: 'tmux' }): string => (b.socket === 'shared' ? `${w.dir}/tmux-shared` : `${w.dir}/tmux-${label}`);
