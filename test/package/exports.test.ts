import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

type Conditions = Record<string, string>;
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  exports: Record<string, Conditions | string>;
};

/** What an entry in `exports` must look like: the sources first, then types, then the code. */
function expected(source: string, built: string): Conditions {
  return {
    "trellis-source": `./${source}`,
    types: `./dist/${built}.d.ts`,
    import: `./dist/${built}.js`,
  };
}

describe("package exports", () => {
  it("maps the main entry to src/index.ts and dist/index.js", () => {
    expect(Object.entries(pkg.exports["."] as Conditions)).toEqual(
      Object.entries(expected("src/index.ts", "index")),
    );
  });

  it("has one subpath for every file in src/entries/, and no other", () => {
    const files = readdirSync("src/entries")
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
      .map((file) => file.slice(0, -".ts".length))
      .sort();
    const subpaths = Object.keys(pkg.exports)
      .filter((key) => key !== "." && key !== "./package.json")
      .map((key) => key.slice("./".length))
      .sort();
    expect(subpaths).toEqual(files);
    for (const name of files) {
      // Key order is the order Node tries the conditions in.
      expect(Object.entries(pkg.exports[`./${name}`] as Conditions)).toEqual(
        Object.entries(expected(`src/entries/${name}.ts`, `entries/${name}`)),
      );
    }
  });
});
