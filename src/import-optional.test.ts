import { describe, expect, it } from "vitest";
import { MissingDependencyError } from "./errors.js";
import { importOptional } from "./import-optional.js";

describe("importOptional", () => {
  it("returns the module when the package is installed", async () => {
    const zod = await importOptional(
      { feature: "Schemas", dependency: "zod" },
      () => import("zod"),
    );
    expect(typeof zod.z.object).toBe("function");
  });

  it("names the feature and the install command when the package is missing", async () => {
    const name = "trellis-missing-peer";
    const error = await importOptional(
      { feature: "GeminiModel", dependency: name },
      () => import(/* @vite-ignore */ name),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(error).toMatchObject({
      name: "MissingDependencyError",
      code: "DEPENDENCY_MISSING",
      feature: "GeminiModel",
      dependency: name,
      install: [name],
    });
    expect((error as Error).message).toBe(
      `\`GeminiModel\` needs the optional package \`${name}\`. Install it: npm install ${name}`,
    );
    expect((error as Error).cause).toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
  });

  it("lists every package the feature uses, the missing one first", () => {
    const error = new MissingDependencyError("setupTelemetry()", "b", { install: ["a", "b", "c"] });
    expect(error.install).toEqual(["b", "a", "c"]);
    expect(error.message).toBe(
      "`setupTelemetry()` needs the optional package `b`. Install it with the other packages `setupTelemetry()` uses: npm install b a c",
    );
  });

  it("passes on a package missing inside the dependency, and any other failure", async () => {
    const inner = Object.assign(
      new Error("Cannot find package 'long' imported from /x/node_modules/protobufjs/index.js"),
      { code: "ERR_MODULE_NOT_FOUND" },
    );
    const broken = new SyntaxError("Unexpected token");
    const dependency = { feature: "setupTelemetry()", dependency: "protobufjs" };
    await expect(importOptional(dependency, () => Promise.reject(inner))).rejects.toBe(inner);
    await expect(importOptional(dependency, () => Promise.reject(broken))).rejects.toBe(broken);
  });
});
