import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RunPath } from "./run-path.js";

describe("RunPath", () => {
  it("keeps every path as it was made, whatever is appended to the paths before it", () => {
    // Random appends to random earlier paths, compared with plain arrays copied every time.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.array(fc.constantFrom("a", "b", "constructor"))), {
          maxLength: 60,
        }),
        (steps) => {
          const paths = [RunPath.of([])];
          const arrays: string[][] = [[]];
          for (const [from, nodes] of steps) {
            const i = from % paths.length;
            paths.push(paths[i]!.append(...nodes));
            arrays.push([...arrays[i]!, ...nodes]);
          }
          paths.forEach((path, i) => {
            expect(path.toArray()).toEqual(arrays[i]);
            expect(path.length).toBe(arrays[i]!.length);
            expect(path.at(-1)).toBe(arrays[i]!.at(-1));
            expect(path.last(3)).toEqual(arrays[i]!.slice(-3));
            expect(path.includes("b")).toBe(arrays[i]!.includes("b"));
          });
        },
      ),
    );
  });

  it("copies what it is made of", () => {
    const nodes = ["a"];
    const path = RunPath.of(nodes);
    nodes.push("b");
    expect(path.toArray()).toEqual(["a"]);
    expect(path.at(5)).toBeUndefined();
  });
});
