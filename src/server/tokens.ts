import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";

/** What a token may do: `viewer` reads, `reviewer` also acts on sessions, `admin` also starts runs and deletes. */
export type Role = "viewer" | "reviewer" | "admin";

const RANK: Readonly<Record<Role, number>> = { viewer: 0, reviewer: 1, admin: 2 };

/** Whether `role` may do what `needed` may. */
export function hasRole(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** One bearer token of the review API. `name` is who the audit trail records as the actor. */
export interface ApiToken {
  readonly token: string;
  readonly name: string;
  readonly role: Role;
}

/** Who made a request: a token's name and role. */
export interface Caller {
  readonly name: string;
  readonly role: Role;
}

/** Schema of a tokens file (`--tokens FILE`) and of `TRELLIS_TOKENS`. */
export const ApiTokensSchema = z
  .array(
    z
      .object({
        token: z.string().min(16, "a token needs at least 16 characters").max(1024),
        name: z.string().min(1).max(256),
        role: z.enum(["viewer", "reviewer", "admin"]),
      })
      .strict(),
  )
  .min(1, "give at least one token");

/**
 * Checks a list of tokens: the schema, and no token or name twice.
 *
 * @throws InvalidOptionError naming what is wrong (never the token itself).
 */
export function parseTokens(value: unknown, where = "tokens"): ApiToken[] {
  const parsed = ApiTokensSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join(".");
    throw new InvalidOptionError(
      `${where}${path === "" ? "" : `[${path}]`}`,
      `a JSON array of { "token", "name", "role" } with role viewer, reviewer or admin (${issue.message})`,
      "(not shown)",
    );
  }
  const names = new Set<string>();
  const hashes = new Set<string>();
  for (const entry of parsed.data) {
    const hash = createHash("sha256").update(entry.token).digest("hex");
    if (hashes.has(hash)) {
      throw new InvalidOptionError(where, "tokens that are all different", "a token given twice");
    }
    if (names.has(entry.name)) {
      throw new InvalidOptionError(where, "tokens with different names", entry.name);
    }
    hashes.add(hash);
    names.add(entry.name);
  }
  return parsed.data;
}

/** Reads tokens from a JSON file. */
export async function readTokensFile(file: string): Promise<ApiToken[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidOptionError(
      "--tokens",
      "a readable JSON file",
      `${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return parseTokens(parseJson(text, "--tokens"), "--tokens");
}

/** Reads tokens from the JSON text of `TRELLIS_TOKENS`. */
export function tokensFromEnv(text: string): ApiToken[] {
  return parseTokens(parseJson(text, "TRELLIS_TOKENS"), "TRELLIS_TOKENS");
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidOptionError(where, "JSON text", "text that is not JSON");
  }
}

const digest = (token: string) => createHash("sha256").update(token, "utf8").digest();

/**
 * Looks tokens up in constant time: every known token's SHA-256 is compared with the presented
 * one's through `timingSafeEqual`, all of them, whichever matches, so neither the position nor
 * the length of a match shows in the time taken. Tokens themselves are not kept.
 */
export class TokenRegistry {
  readonly #entries: readonly { readonly hash: Buffer; readonly caller: Caller }[];

  constructor(tokens: readonly ApiToken[]) {
    this.#entries = parseTokens(tokens).map((t) => ({
      hash: digest(t.token),
      caller: Object.freeze({ name: t.name, role: t.role }),
    }));
  }

  /** The caller a presented token names, or `undefined`. */
  find(presented: string): Caller | undefined {
    const hash = digest(presented);
    let found: Caller | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.hash, hash) && found === undefined) found = entry.caller;
    }
    return found;
  }
}
