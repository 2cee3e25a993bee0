// The dashboard's three charts, as Vega-Lite specifications rendered to SVG by the vendored
// vega-embed (static/vendor/, no CDN; it sets the global `vegaEmbed`). The series come computed
// from /dashboard/charts: the page only draws them.
//
// `ast: true`: Vega parses its expressions to syntax trees and vega-embed evaluates them with the
// expression interpreter it bundles (vega-interpreter), instead of compiling them with Function().
// So the page needs no 'unsafe-eval' in its Content-Security-Policy (consumers/api/dashboard.py).
import { api } from "./api.js";
import { t } from "./labels.js";
import { asOfQuery } from "./timetravel.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export async function drawCharts() {
  const data = await api(`/dashboard/charts${asOfQuery()}`);
  const options = { renderer: "svg", actions: false, ast: true };
  const width = "container";
  const embed = window.vegaEmbed;
  await Promise.all([
    embed("#chart-violations", {
      $schema: SCHEMA, width, height: 260,
      data: { values: data.violations_per_month },
      mark: "bar",
      encoding: {
        x: { field: "month", type: "ordinal", title: null },
        y: { field: "count", type: "quantitative", title: t("violations") },
        color: { field: "rule", type: "nominal", title: t("rule") },
        tooltip: [{ field: "month" }, { field: "rule" }, { field: "count" }],
      },
    }, options),
    embed("#chart-blacklist", {
      $schema: SCHEMA, width, height: 220,
      data: { values: data.blacklist_size },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "at", type: "temporal", title: null },
        y: { field: "size", type: "quantitative", title: t("blacklistNow") },
      },
    }, options),
    embed("#chart-sla", {
      $schema: SCHEMA, width, height: 220,
      data: { values: data.sla.filter((p) => p.ratio !== null) },
      mark: "bar",
      encoding: {
        x: { field: "fault_level", type: "nominal", title: t("faultLevel") },
        xOffset: { field: "target" },
        y: { field: "ratio", type: "quantitative", title: t("ratio"), axis: { format: "%" }, scale: { domain: [0, 1] } },
        color: { field: "target", type: "nominal", title: t("target") },
      },
    }, options),
  ]);
}
