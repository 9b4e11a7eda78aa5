import { later } from "../clock.js";

/**
 * Calls `check` every `pollMs` until it returns a value, and resolves with it. Rejects with what
 * `check` throws, or with the signal's reason when it aborts first.
 */
export function waitFor<T>(
  check: () => Promise<T | undefined>,
  options: { readonly pollMs: number; readonly signal?: AbortSignal | undefined },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal } = options;
    let cancel = () => {};
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    const tick = () => {
      check().then(
        (value) => {
          if (signal?.aborted) return;
          if (value !== undefined) {
            signal?.removeEventListener("abort", onAbort);
            resolve(value);
            return;
          }
          cancel = later(options.pollMs, tick, { keepAlive: true });
        },
        (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    };
    tick();
  });
}
