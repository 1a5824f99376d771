// Forwarding signals from the tracker to the task it runs.
//
// The rule: SIGTERM, SIGHUP and SIGCONT sent to the tracker always reach the task. SIGINT and
// SIGQUIT are forwarded unless they came from the terminal: when stdin is a terminal and the
// tracker (with the task, which shares its process group) is the terminal's foreground job, a
// Ctrl+C or Ctrl+\ was delivered by the kernel to the whole group — the task already has it, and a
// second copy would count as a second key press. Ctrl+Z (SIGTSTP) is never handled: the group stops
// and resumes together, as without the tracker.
import type { ChildProcess } from 'node:child_process';
import { isatty } from 'node:tty';
import { isForegroundJob } from '../platform/index.js';

export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGCONT';

const TERMINAL_SIGNALS = new Set<ForwardedSignal>(['SIGINT', 'SIGQUIT']);
const DEFAULT_SIGNALS: ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGCONT'];

export interface ForwardSignalsOptions {
  signals?: ForwardedSignal[];
  /** Is stdin a terminal (default: whether descriptor 0 is one). */
  stdinIsTTY?: boolean;
  /** Tells whether we are the terminal's foreground job (default: the platform's answer). */
  isForegroundJob?: () => boolean | undefined;
  /** Called for every signal received, after forwarding it (or not). */
  onSignal?: (signal: ForwardedSignal, forwarded: boolean) => void;
}

export interface SignalForwarder {
  /** Signals received so far, in order. */
  readonly received: ForwardedSignal[];
  /** Starts forwarding to the task; signals that arrived before it existed are delivered now. */
  attach(child: ChildProcess): void;
  /** Removes the handlers. */
  dispose(): void;
}

/** Whether a signal of this kind, received now, already reached the task through its process group. */
export function deliveredByTerminal(signal: ForwardedSignal, stdinIsTTY: boolean, foreground: boolean | undefined): boolean {
  if (!TERMINAL_SIGNALS.has(signal) || !stdinIsTTY) return false;
  // Where the OS cannot tell, a terminal on stdin means we were started as a foreground job.
  return foreground ?? true;
}

/**
 * Installs the handlers at once — before the task is spawned, since a fast task can be signalled
 * through us before spawn() returns — and forwards to the child once attached.
 */
export function forwardSignals(options: ForwardSignalsOptions = {}): SignalForwarder {
  const signals = options.signals ?? DEFAULT_SIGNALS;
  const stdinIsTTY = options.stdinIsTTY ?? isatty(0); // not process.stdin, which makes a stream
  const received: ForwardedSignal[] = [];
  const pending: ForwardedSignal[] = [];
  const handlers = new Map<ForwardedSignal, () => void>();
  let target: ChildProcess | undefined;

  const deliver = (child: ChildProcess, signal: ForwardedSignal): boolean => {
    const running = child.exitCode === null && child.signalCode === null && child.pid !== undefined;
    if (!running) return false;
    try {
      return child.kill(signal);
    } catch {
      return false; // the task exited meanwhile
    }
  };

  for (const signal of signals) {
    const handler = (): void => {
      received.push(signal);
      const skip = deliveredByTerminal(signal, stdinIsTTY, (options.isForegroundJob ?? isForegroundJob)());
      let forwarded = false;
      if (!skip) {
        if (target) forwarded = deliver(target, signal);
        else pending.push(signal);
      }
      options.onSignal?.(signal, forwarded);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return {
    received,
    attach(child: ChildProcess) {
      target = child;
      for (const signal of pending.splice(0)) deliver(child, signal);
    },
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      handlers.clear();
    },
  };
}
