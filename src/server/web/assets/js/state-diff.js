// What a node changed: the structural difference between two states, as a list of paths with
// their values before and after. Computed in the page from the checkpoints' states.

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Changes from `before` to `after`: `{ path, kind: "added" | "removed" | "changed", before, after }`. */
export function stateDiff(before, after, path = [], out = []) {
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      const has = Object.hasOwn(before, key);
      const now = Object.hasOwn(after, key);
      if (!has) out.push({ path: [...path, key], kind: "added", after: after[key] });
      else if (!now) out.push({ path: [...path, key], kind: "removed", before: before[key] });
      else stateDiff(before[key], after[key], [...path, key], out);
    }
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && after.length > before.length) {
    const prefix = before.every((item, i) => same(item, after[i]));
    if (prefix) {
      for (let i = before.length; i < after.length; i++) {
        out.push({ path: [...path, String(i)], kind: "added", after: after[i] });
      }
      return out;
    }
  }
  if (!same(before, after)) out.push({ path, kind: "changed", before, after });
  return out;
}

/** A path as text: `draft`, `items.2.title`, `(the whole state)` for the root. */
export function pathText(path) {
  return path.length === 0 ? "(the whole state)" : path.join(".");
}
