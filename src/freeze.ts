/**
 * Deep freezing. States, checkpoint records, queued interrupts and audit data are immutable
 * once written; a value that is deeply frozen can be shared instead of copied.
 */

/**
 * Freezes a value and every object and array inside it. Returns the value. An object that is
 * frozen already is taken to be deeply frozen and is not walked. Iterative, so any depth (and
 * a cycle) is fine.
 */
export function deepFreeze<T>(value: T): T {
  // Kept this small so it inlines: most calls get a primitive or a frozen value.
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  freezeAll(value);
  return value;
}

// One stack for every call: freezing runs after every node, and a fresh stack per call made
// each checkpointed step slower than the recursive walk it replaces. A getter that freezes
// while a walk is under way only shares the stack (and the work); a walk that throws empties it.
const pending: object[] = [];

function freezeAll(value: object): void {
  Object.freeze(value);
  pending.push(value);
  try {
    while (pending.length > 0) {
      const current = pending.pop() as Record<string, unknown>;
      for (const key of Object.keys(current)) {
        const child = current[key];
        if (child !== null && typeof child === "object" && !Object.isFrozen(child)) {
          Object.freeze(child);
          pending.push(child);
        }
      }
    }
  } catch (error) {
    pending.length = 0;
    throw error;
  }
}

/**
 * True when the value is JSON (objects, arrays, strings, finite numbers, booleans, null) and
 * it and everything inside it is frozen: it can be kept by reference instead of copied.
 */
export function isFrozenJson(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (!Object.isFrozen(value)) return false;
      if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const key of Object.keys(value)) {
        if (!isFrozenJson((value as Record<string, unknown>)[key])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
