import { later } from "../clock.js";
import { SessionBusyError } from "../errors.js";
import type { CliIO } from "./command.js";

/** How a busy session is told apart from one whose run died: polls until its lease runs out. */
export interface LeaseWaitOptions {
  /** Give up waiting after this long, in milliseconds. */
  readonly maxWaitMs: number;
  /** How often to try again while waiting. Default 500 ms. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** The session is held by a run that is alive: its lease was renewed while we waited. */
export class LiveLeaseError extends SessionBusyError {
  constructor(sessionId: string, holder: { readonly owner: string; readonly expiresAt: number }) {
    super(sessionId, holder);
    this.message = `Session \`${sessionId}\` is held by a live run of \`${holder.owner}\` (its lease was renewed, now until ${new Date(holder.expiresAt).toISOString()}). Wait for it to end, or steer it: trellis send ${sessionId} pause`;
    this.name = "SessionBusyError";
  }
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    const cancel = later(ms, resolve, { keepAlive: true });
    signal?.addEventListener(
      "abort",
      () => {
        cancel();
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Calls `attempt` (a resume) until it gets the session. While another lease holds it, waits for
 * that lease to run out, up to `maxWaitMs`: a process that died mid-run (killed, crashed) leaves
 * its lease until it expires, and then the session is free. A lease that is renewed while we
 * wait belongs to a live run: that fails at once with `SessionBusyError` saying so, as does a
 * lease that runs longer than `maxWaitMs`.
 */
export async function waitForLease<T>(
  sessionId: string,
  attempt: () => Promise<T>,
  io: CliIO,
  options: LeaseWaitOptions,
): Promise<T> {
  const started = Date.now();
  let seen: number | undefined;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof SessionBusyError) || error.expiresAt === undefined) throw error;
      const holder = { owner: error.owner ?? "another process", expiresAt: error.expiresAt };
      if (seen !== undefined && holder.expiresAt > seen)
        throw new LiveLeaseError(sessionId, holder);
      const left = holder.expiresAt - Date.now();
      if (Date.now() + left - started > options.maxWaitMs) throw error;
      if (seen === undefined) {
        io.err(
          `Session \`${sessionId}\` is held by \`${holder.owner}\` until ${new Date(holder.expiresAt).toISOString()}; waiting up to ${Math.max(0, Math.ceil(left / 1000))} s to see whether that run is gone…`,
        );
      }
      seen = holder.expiresAt;
      await sleep(Math.max(10, Math.min(options.pollMs ?? 500, left + 10)), options.signal);
    }
  }
}
