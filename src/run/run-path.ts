/**
 * The nodes a run's lineage executed, oldest first: an immutable value that grows in O(1).
 *
 * A run appends a node on every step, and its plans are immutable values; copying the path
 * array on each step made a run of n steps cost O(n²). A `RunPath` is instead a length over a
 * backing array that paths share. Appending to a path as long as its backing array pushes onto
 * that array: older paths over it do not change, because they read only up to their own length.
 * Appending to a shorter one (a plan that was extended before, now extended differently) copies
 * its part of the array first, so no path ever sees another's nodes.
 */
export class RunPath {
  readonly #items: string[];
  /** How many nodes the path holds. */
  readonly length: number;

  private constructor(items: string[], length: number) {
    this.#items = items;
    this.length = length;
  }

  /** A path of these nodes (copied). */
  static of(nodes: readonly string[] | RunPath): RunPath {
    const items = nodes instanceof RunPath ? nodes.toArray() : [...nodes];
    return new RunPath(items, items.length);
  }

  /** This path with `nodes` after it. */
  append(...nodes: readonly string[]): RunPath {
    const items =
      this.#items.length === this.length ? this.#items : this.#items.slice(0, this.length);
    for (const node of nodes) items.push(node);
    return new RunPath(items, this.length + nodes.length);
  }

  /** The node at `index` (negative: from the end), or `undefined`. */
  at(index: number): string | undefined {
    const i = index < 0 ? this.length + index : index;
    return i >= 0 && i < this.length ? this.#items[i] : undefined;
  }

  /** Whether `node` ran on this path. */
  includes(node: string): boolean {
    const items = this.#items;
    for (let i = 0; i < this.length; i++) if (items[i] === node) return true;
    return false;
  }

  /** The last `count` nodes, oldest first. */
  last(count: number): string[] {
    return this.#items.slice(Math.max(0, this.length - count), this.length);
  }

  /** The nodes as a new array. */
  toArray(): string[] {
    return this.#items.slice(0, this.length);
  }
}
