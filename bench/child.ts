/**
 * Measures some implementations of one scenario side by side in this process and prints
 * their results as a JSON array on the last line. `bench/run.ts` starts one per group:
 *
 *   node <build>/bench/child.js <scenario file name> <name,name…> '<options JSON>'
 */
import { loadScenario } from "./discover.js";
import { measureHere } from "./harness.js";
import type { MeasureOptions } from "./measure.js";
import type { Implementation } from "./scenario.js";

const [file, names, optionsJson] = process.argv.slice(2);
if (!file || !names || !optionsJson) {
  throw new Error("Usage: bench/child <scenario file name> <name,name…> '<options JSON>'");
}
const scenario = await loadScenario(file);
const implementations: Implementation[] = names.split(",").map((name) => {
  const impl = scenario.implementations.find((i) => i.name === name);
  if (!impl) {
    throw new Error(
      `Scenario ${scenario.id} has no implementation \`${name}\`; it has ${scenario.implementations.map((i) => i.name).join(", ")}.`,
    );
  }
  return impl;
});
const results = await measureHere(
  scenario,
  implementations,
  JSON.parse(optionsJson) as MeasureOptions,
);
process.stdout.write(`${JSON.stringify(results)}\n`);
