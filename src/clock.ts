import { InvalidOptionError } from "./errors.js";

/**
 * The longest wait a {@link Clock} sleeps, and so the longest timeout any option accepts
 * (node `timeoutMs`, `branchTimeoutMs`, approval gate `timeoutMs`, `pauseTimeoutMs`, the
 * `pause` action's `timeoutMs`): 366 days, in milliseconds.
 */
export const MAX_TIMEOUT_MS = 366 * 24 * 60 * 60 * 1000;

/** What option messages say the maximum is. */
export const MAX_TIMEOUT_TEXT = `${MAX_TIMEOUT_MS} (366 days)`;

/** `setTimeout` fires at once for any delay above this (2³¹−1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Time, behind a small interface, so tests never wait on real timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` (any duration up to {@link MAX_TIMEOUT_MS}; `0` or less resolves on
   * the next turn); rejects with `signal.reason` if the signal aborts first, and with
   * `InvalidOptionError` for a longer duration.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Rejects a duration longer than {@link MAX_TIMEOUT_MS}; shared by every clock. */
export function checkSleep(ms: number): InvalidOptionError | undefined {
  return ms > MAX_TIMEOUT_MS
    ? new InvalidOptionError("ms", `a duration of at most ${MAX_TIMEOUT_TEXT} ms`, ms)
    : undefined;
}

/**
 * The real clock, and the one place in the library that sets timers: a wait longer than
 * `setTimeout` can take (2³¹−1 ms) is a chain of shorter timers, so a 30-day timeout waits
 * 30 days instead of firing at once.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const invalid = checkSleep(ms);
      if (invalid !== undefined) {
        reject(invalid);
        return;
      }
      let remaining = Number.isFinite(ms) && ms > 0 ? ms : 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const arm = () => {
        if (remaining <= 0) {
          signal?.removeEventListener("abort", onAbort);
          resolve();
          return;
        }
        const chunk = Math.min(remaining, MAX_TIMER_MS);
        remaining -= chunk;
        timer = setTimeout(arm, chunk);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const first = Math.min(remaining, MAX_TIMER_MS);
      remaining -= first;
      timer = setTimeout(arm, first);
    });
  },
};

/** Stops a {@link later} or {@link every} timer; calling it again does nothing. */
export type CancelTimer = () => void;

/**
 * Calls `callback` once after `ms`, for the library's own housekeeping (a store's polling,
 * heartbeats, reconnects), never for a wait a user sets: those go through a {@link Clock}. The
 * timer does not keep the process alive unless `keepAlive` says so (a poll that someone is
 * waiting on). `ms` is at most the 2³¹−1 ms a timer can take.
 */
export function later(
  ms: number,
  callback: () => void,
  options: { readonly keepAlive?: boolean } = {},
): CancelTimer {
  const timer = setTimeout(callback, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
  if (options.keepAlive !== true) timer.unref();
  return () => clearTimeout(timer);
}

/** Calls `callback` every `ms`, for housekeeping like {@link later} (a store's retention). */
export function every(ms: number, callback: () => void): CancelTimer {
  const timer = setInterval(callback, Math.min(Math.max(ms, 1), MAX_TIMER_MS));
  timer.unref();
  return () => clearInterval(timer);
}
