import { readdirSync } from "node:fs";
import { extname } from "node:path";
import type { Scenario } from "./scenario.js";

const DIR = new URL("./scenarios/", import.meta.url);
/** `.ts` when running from the sources, `.js` when running the compiled bench. */
const EXT = extname(new URL(import.meta.url).pathname);

/** A scenario and the file (name without extension) that defines it. */
export interface ScenarioEntry {
  readonly name: string;
  readonly scenario: Scenario;
}

/** Loads one scenario file by its name without extension, e.g. `a-chain`. */
export async function loadScenario(name: string): Promise<Scenario> {
  const module = (await import(new URL(`${name}${EXT}`, DIR).href)) as { default?: Scenario };
  if (!module.default?.id) {
    throw new Error(`bench/scenarios/${name}${EXT} must default-export defineScenario({ … }).`);
  }
  return module.default;
}

/** Every scenario in `bench/scenarios/`, sorted by id. */
export async function loadScenarios(): Promise<ScenarioEntry[]> {
  const names = readdirSync(DIR)
    .filter((f) => f.endsWith(EXT) && !f.endsWith(`.d${EXT}`))
    .map((f) => f.slice(0, -EXT.length));
  const entries: ScenarioEntry[] = [];
  for (const name of names) entries.push({ name, scenario: await loadScenario(name) });
  entries.sort((a, b) => a.scenario.id.localeCompare(b.scenario.id));
  const ids = entries.map((e) => e.scenario.id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) throw new Error(`Two scenarios have the id \`${duplicate}\`.`);
  return entries;
}
