/**
 * Own-property access for maps of names (state keys, object keys inside state values): never a
 * member inherited from `Object.prototype`, and `__proto__` written as data, not as the
 * prototype setter.
 */

/** Writes `value` as an own, enumerable property, also for the key `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/** The own property `key` of `target`; `undefined` when it has none (whatever it inherits). */
export function ownValue(target: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}
