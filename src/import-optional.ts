import { MissingDependencyError } from "./errors.js";

/** An optional peer dependency, and the feature of Trellis that needs it. */
export interface OptionalDependency {
  /** What needs the package, as users write it: `GeminiModel`, `setupTelemetry()`. */
  readonly feature: string;
  /** The package `load` imports, e.g. `@google/genai`. */
  readonly dependency: string;
  /** Everything to install for the feature; default just `dependency`. */
  readonly install?: readonly string[];
}

/**
 * Loads an optional peer dependency on first use. `load` is the `import()` itself (so the
 * specifier stays literal and typed); when it fails because the package is not installed, the
 * failure becomes a `MissingDependencyError` that says what to install. Any other failure,
 * including a missing package that the dependency itself needs, is passed on unchanged.
 *
 * @example
 * ```ts
 * const { GoogleGenAI } = await importOptional(
 *   { feature: "GeminiModel", dependency: "@google/genai" },
 *   () => import("@google/genai"),
 * );
 * ```
 */
export async function importOptional<T>(
  peer: OptionalDependency,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isPackageNotFound(error, peer.dependency)) {
      throw new MissingDependencyError(peer.feature, peer.dependency, {
        ...(peer.install === undefined ? {} : { install: peer.install }),
        cause: error,
      });
    }
    throw error;
  }
}

/** Node's (and Vitest's) resolver reports `Cannot find package 'name' imported from …`. */
function isPackageNotFound(error: unknown, packageName: string): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND") return false;
  return error.message.includes(`'${packageName}'`);
}
