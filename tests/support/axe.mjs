// axe-core (Deque's accessibility rules) run inside a page of the tests. The page's CSP
// forbids inline scripts, so axe's source goes in through page.evaluate (evaluated by the
// DevTools protocol, which the CSP does not govern), once per page.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * The violations axe finds in the page as it is now: [{id, impact, help, nodes:
 * [target selectors]}], by every rule axe runs by default (WCAG 2.x A and AA and its
 * best practices; not the experimental ones).
 */
export async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof window.axe === "object");
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
}

/** Serious and critical ones only: what the page must not have. */
export function severe(violations) {
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Counts by rule ("color-contrast (serious): 3 nodes"), for the test's log and messages. */
export function describeViolations(violations) {
  return violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length} node(s), e.g. ${v.nodes.slice(0, 3).join(" | ")}`).join("\n");
}
