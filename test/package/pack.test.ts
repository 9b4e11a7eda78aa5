/**
 * The package as users get it: `npm pack`, then the tarball installed into a fresh ESM project
 * with strict TypeScript (`skipLibCheck: false`), without any optional peer. Also checks, through
 * Node's module hooks, that the built main entry loads none of the optional packages.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");

interface Manifest {
  readonly version: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly peerDependencies: Readonly<Record<string, string>>;
  readonly exports: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly [field: string]: unknown;
}
interface LockEntry {
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}
interface PackResult {
  readonly filename: string;
  readonly integrity: string;
  readonly files: readonly { readonly path: string }[];
}

/** What `package.json` says, read once before the tests. */
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;

/**
 * The optional peers, and packages only they pull in: the main entry loads none of them, and
 * the subpath entries load them only when used.
 */
const OPTIONAL = [
  ...Object.keys(manifest.peerDependencies),
  "@opentelemetry/otlp-transformer",
  "@opentelemetry/semantic-conventions",
  "protobufjs",
  "esbuild",
];

/** The environment of the `npm test` run, without what ties npm to this project. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_|^npm_command$|^npm_config_(local_prefix|call)$/.test(key)) {
      continue;
    }
    if (key === "INIT_CWD" || key === "NODE_OPTIONS") continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

async function run(command: string, args: readonly string[], cwd: string, extra = {}) {
  return exec(command, [...args], { cwd, env: childEnv(extra), maxBuffer: 16 * 1024 * 1024 });
}

/** Runs a command that is expected to fail; returns its exit code and output. */
async function runFailing(command: string, args: readonly string[], cwd: string) {
  try {
    await run(command, args, cwd);
    return { code: 0, stdout: "", stderr: "" };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

let temp: string;
let project: string;
let packed: PackResult;
let ourLock: Readonly<Record<string, LockEntry>>;
/** What `tsc` reported on the consumer project: empty when it type-checked cleanly. */
let typeErrors: string;

/** The version this project's lockfile installed at the top of node_modules. */
function locked(name: string): LockEntry {
  const entry = ourLock[`node_modules/${name}`];
  if (entry === undefined) throw new Error(`${name} is not installed at the top of node_modules`);
  return entry;
}

/** What the consumer depends on: the tarball, and zod and Node's types as its own code uses them. */
function consumerDependencies(tarball: string): Record<string, string> {
  return {
    trellis: tarball,
    zod: locked("zod").version,
    "@types/node": locked("@types/node").version,
  };
}

/**
 * A lockfile for the consumer project, taken from this project's own: the tarball plus the
 * versions `npm ci` installed here, so `npm ci --offline` installs from the npm cache alone.
 */
function consumerLock(tarball: string): unknown {
  const packages: Record<string, unknown> = {
    "": { name: "consumer", version: "0.0.0", dependencies: consumerDependencies(tarball) },
    "node_modules/trellis": {
      version: manifest.version,
      resolved: tarball,
      integrity: packed.integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      peerDependenciesMeta: manifest.peerDependenciesMeta,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  const todo = [
    ...Object.keys(consumerDependencies(tarball)),
    ...Object.keys(manifest.dependencies),
  ];
  for (let name = todo.shift(); name !== undefined; name = todo.shift()) {
    if (name === "trellis" || `node_modules/${name}` in packages) continue;
    const {
      dev: _dev,
      devOptional: _devOptional,
      peer: _peer,
      optional: _optional,
      ...entry
    } = locked(name);
    packages[`node_modules/${name}`] = entry;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: "consumer", version: "0.0.0", lockfileVersion: 3, requires: true, packages };
}

const TSCONFIG = {
  compilerOptions: {
    target: "ES2023",
    lib: ["ES2023"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    outDir: "out",
    rootDir: "src",
  },
  include: ["src"],
};

const AGENT = `import { END, Graph, GraphAgent, START } from "trellis";
import { z } from "zod";

const State = z.object({ count: z.number().default(0), log: z.array(z.string()).default([]) });

const graph = new Graph({ state: State, reducers: { log: "append" } })
  .addNode("inc", (s) => ({ count: s.count + 1, log: [\`inc \${s.count}\`] }))
  .addEdge(START, "inc")
  .addConditionalEdges("inc", (s) => (s.count < 3 ? "inc" : END), ["inc", END])
  .compile();

export const agent = new GraphAgent({ name: "counter", graph });
export const input = { count: 0 };
`;

const MAIN = `import { type RunResult, MissingDependencyError } from "trellis";
import { GeminiModel, type GeminiModelOptions } from "trellis/gemini";
import { SimulatedClock, spanTree } from "trellis/testing";
import { agent, input } from "./agent.js";

const result = await agent.run(input, { sessionId: "s1" });
const summary: Pick<RunResult<{ count: number; log: string[] }>, "status" | "path"> = result;

const options: GeminiModelOptions = { apiKey: "not-used", model: "gemini-2.5-flash" };
const failure = await new GeminiModel(options)
  .generate({ prompt: "hello" })
  .catch((error: unknown) => error);

console.log(
  JSON.stringify({
    status: summary.status,
    path: summary.path,
    count: result.state.count,
    gemini: failure instanceof MissingDependencyError ? failure.message : String(failure),
    clock: typeof new SimulatedClock().now(),
    spans: spanTree([]).length,
  }),
);
`;

/** Loads `code` in a child Node with a resolve hook that writes every resolved URL to a file. */
async function loadedBy(code: string): Promise<string[]> {
  const log = join(temp, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(log, "");
  const script = `${code}
const { createRequire } = await import("node:module");
const cache = Object.keys(createRequire(process.cwd() + "/").cache);
process.stdout.write(JSON.stringify(cache));`;
  const { stdout } = await run(
    process.execPath,
    [
      "--import",
      pathToFileURL(join(temp, "register.mjs")).href,
      "--input-type=module",
      "-e",
      script,
    ],
    root,
    { TRELLIS_LOAD_LOG: log },
  );
  const required = (JSON.parse(stdout) as string[]).map((path) => pathToFileURL(path).href);
  const resolved = (await readFile(log, "utf8")).split("\n").filter(Boolean);
  return [...resolved, ...required];
}

function optionalIn(urls: readonly string[]): string[] {
  return urls.filter((url) => OPTIONAL.some((name) => url.includes(`/node_modules/${name}/`)));
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), "trellis-pack-"));
  ourLock = (
    JSON.parse(await readFile(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;

  // `npm pack` runs `prepare`, which builds dist/ as a publish or a git install would.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", temp], root);
  packed = (JSON.parse(stdout) as PackResult[])[0]!;

  await writeFile(
    join(temp, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(process.env.TRELLIS_LOAD_LOG, result.url + "\\n");
  return result;
}
`,
  );
  await writeFile(
    join(temp, "register.mjs"),
    `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`,
  );

  project = join(temp, "consumer");
  await mkdir(join(project, "src"), { recursive: true });
  const tarball = `file:../${packed.filename}`;
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({
      name: "consumer",
      version: "0.0.0",
      private: true,
      type: "module",
      dependencies: consumerDependencies(tarball),
    }),
  );
  await writeFile(join(project, "package-lock.json"), JSON.stringify(consumerLock(tarball)));
  await writeFile(join(project, "tsconfig.json"), JSON.stringify(TSCONFIG));
  await writeFile(join(project, "src/agent.ts"), AGENT);
  await writeFile(join(project, "src/main.ts"), MAIN);
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], project);
  // Compiled here (tsc emits even when it reports errors) so the tests below can run in parallel.
  typeErrors = await run(process.execPath, [tsc, "-p", "tsconfig.json"], project).then(
    () => "",
    (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
  );
}, 180_000);

afterAll(async () => {
  if (temp !== undefined) await rm(temp, { recursive: true, force: true });
});

describe.concurrent("the packed package", () => {
  it("ships the build, the CLI, the license, the README and the docs it links to, and no sources or tests", async () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "LICENSE",
        "README.md",
        "package.json",
        "bin/trellis.js",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/entries/gemini.js",
        "dist/entries/telemetry.js",
        "dist/entries/testing.js",
        "dist/cli/main.js",
      ]),
    );
    // Every file the exports map points at, but the sources, is in the package.
    const targets = Object.values(manifest.exports).flatMap((entry) =>
      typeof entry === "string" ? [entry] : [entry.types, entry.import],
    );
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((target) => !files.includes(target?.slice(2) ?? ""))).toEqual([]);
    // Every relative link in the README points at a file in the package.
    const readme = await readFile(join(root, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\((?!https?:|#)([^)]+)\)/g)].map((match) => match[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !files.includes(link?.split("#")[0] ?? ""))).toEqual([]);
    expect(files.filter((file) => /^(src|test|samples|bench|tools)\/|\.test\./.test(file))).toEqual(
      [],
    );
  });

  it("type-checks a strict program against its declarations with skipLibCheck off", () => {
    expect(typeErrors).toBe("");
  });

  it("runs a graph through the public entry, without any optional peer installed", async () => {
    const { stdout } = await run(process.execPath, ["out/main.js"], project);
    expect(JSON.parse(stdout)).toEqual({
      status: "completed",
      path: ["inc", "inc", "inc"],
      count: 3,
      gemini:
        "`GeminiModel` needs the optional package `@google/genai`. Install it: npm install @google/genai",
      clock: "number",
      spans: 0,
    });
  });

  it("says which packages setupTelemetry() needs when the SDK is missing", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { setupTelemetry } from "trellis/telemetry";
setupTelemetry({ exporter: "memory" }).catch((e) => console.log(e.name + ": " + e.message));`,
      ],
      project,
    );
    expect(stdout.trim()).toBe(
      "MissingDependencyError: `setupTelemetry()` needs the optional package `@opentelemetry/sdk-trace-node`. Install it with the other packages `setupTelemetry()` uses: npm install @opentelemetry/sdk-trace-node @opentelemetry/sdk-trace-base @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http",
    );
  });

  it("installs a trellis command that prints its version and runs JavaScript agents", async () => {
    const bin = join(project, "node_modules/.bin/trellis");
    const { stdout: version } = await run(bin, ["--version"], project);
    expect(version.trim()).toBe(manifest.version);
    const { stdout } = await run(bin, ["run", "out/agent.js"], project);
    expect(stdout).toContain("■ completed  3 steps: inc → inc → inc");
  });

  it("asks for tsx when the command is given a TypeScript file", async () => {
    const result = await runFailing(
      join(project, "node_modules/.bin/trellis"),
      ["run", "src/agent.ts"],
      project,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      "MissingDependencyError [DEPENDENCY_MISSING]: `trellis run src/agent.ts` needs the optional package `tsx`. Install it: npm install tsx",
    );
  });
});

describe.concurrent("the built main entry", () => {
  it("loads dist/ (not the sources) and none of the optional packages", async () => {
    const urls = await loadedBy(`await import("trellis");`);
    const base = pathToFileURL(root).href;
    expect(urls).toContain(`${base}dist/index.js`);
    expect(urls.filter((url) => url.startsWith(`${base}src/`))).toEqual([]);
    // The hook sees packages in node_modules, so an empty list below means something.
    expect(urls.some((url) => url.includes("/node_modules/@opentelemetry/api/"))).toBe(true);
    expect(urls.some((url) => url.includes("/node_modules/zod/"))).toBe(true);
    expect(optionalIn(urls)).toEqual([]);
  });

  it("leaves the optional packages unloaded until a subpath entry uses them", async () => {
    const urls = await loadedBy(
      `await import("trellis/gemini"); await import("trellis/telemetry"); await import("trellis/testing");`,
    );
    expect(urls).toContain(`${pathToFileURL(root).href}dist/entries/gemini.js`);
    expect(optionalIn(urls)).toEqual([]);
  });
});
