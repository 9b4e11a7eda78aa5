// TypeDoc builds the API reference (`npm run docs`, into api-docs/, which git ignores) and checks
// it in `npm test` (`npm run docs:check`): every link must resolve, every type the public API
// refers to must be exported, and every export must have a TSDoc comment.
//
// TypeDoc 0.28 supports TypeScript up to 6.0 and cannot load TypeScript 7, which has no
// JavaScript compiler API yet. So TypeDoc is installed from tools/typedoc/, a local package whose
// own dependency on typescript@6 npm places beside TypeDoc, while the project compiles with
// typescript@7. Declarations use nothing TypeScript 6 cannot read.

/** @type {Partial<import("typedoc").TypeDocOptions>} */
const config = {
  name: "Trellis",
  // The main entry and one page per subpath export (`trellis/gemini`, …).
  entryPoints: ["src/index.ts", "src/entries/*.ts"],
  tsconfig: "tsconfig.build.json",
  out: "api-docs",
  readme: "none",
  includeVersion: true,
  excludePrivate: true,
  excludeInternal: true,
  validation: {
    notExported: true,
    invalidLink: true,
    rewrittenLink: true,
    notDocumented: true,
    unusedMergeModuleWith: true,
  },
  // Every export and every method needs a comment; properties only where their name and type
  // do not say enough.
  requiredToBeDocumented: [
    "Enum",
    "Variable",
    "Function",
    "Class",
    "Interface",
    "TypeAlias",
    "Method",
    "Accessor",
  ],
  // A one-line helper type, shown inline where it is used.
  intentionallyNotExported: ["WithoutSeq"],
  // Source links need a hosted repository URL, which a clone does not always have.
  disableSources: true,
  treatWarningsAsErrors: true,
};

export default config;
