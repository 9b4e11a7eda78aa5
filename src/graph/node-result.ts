import { InvalidNodeResultError } from "../errors.js";
import { Command } from "./command.js";
import { MergedUpdate } from "./node-runtime.js";

/** What a node's result is: nothing, a partial update, a `Command`, or a pattern's merged state. */
export type NodeResultKind = "none" | "update" | "command" | "merged";

function isUpdate(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Classifies what a node returned. A plain object (prototype `Object.prototype` or `null`) is
 * an update, `undefined` and `null` are nothing, a `Command` (whose `update` is a plain object
 * or absent) routes, and a `MergedUpdate` is a pattern node's finished state. Anything else —
 * a number, a string, an array, a function, a `Map`, a class instance — is a mistake that
 * would otherwise pass without a word.
 *
 * @param node The node's name (the parallel group's, for a branch).
 * @param branch The branch's name, when a parallel branch returned `result`.
 * @throws InvalidNodeResultError saying what was returned and what is allowed.
 */
export function classifyNodeResult(result: unknown, node: string, branch?: string): NodeResultKind {
  if (result === undefined || result === null) return "none";
  if (typeof result === "object") {
    if (isUpdate(result)) return "update";
    if (result instanceof MergedUpdate) return "merged";
    if (result instanceof Command) {
      const update: unknown = result.update;
      if (update === undefined || update === null) return "command";
      if (typeof update === "object" && isUpdate(update)) return "command";
      throw new InvalidNodeResultError(node, update, {
        inCommand: true,
        ...(branch === undefined ? {} : { branch }),
      });
    }
  }
  throw new InvalidNodeResultError(node, result, branch === undefined ? {} : { branch });
}
