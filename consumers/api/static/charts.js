// The dashboard's three charts, as Vega-Lite specifications rendered to SVG by the vendored
// vega-embed (static/vendor/, no CDN). The series come computed from /dashboard/charts: the page only
// draws them. `t` gives the labels of the current language.
"use strict";

(() => {
  async function draw(data, t) {
    const options = { renderer: "svg", actions: false };
    const width = "container";
    await Promise.all([
      vegaEmbed("#chart-violations", {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json", width, height: 260,
        data: { values: data.violations_per_month },
        mark: "bar",
        encoding: {
          x: { field: "month", type: "ordinal", title: null },
          y: { field: "count", type: "quantitative", title: t("violations") },
          color: { field: "rule", type: "nominal", title: t("rule") },
          tooltip: [{ field: "month" }, { field: "rule" }, { field: "count" }],
        },
      }, options),
      vegaEmbed("#chart-blacklist", {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json", width, height: 220,
        data: { values: data.blacklist_size },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "at", type: "temporal", title: null },
          y: { field: "size", type: "quantitative", title: t("blacklistNow") },
        },
      }, options),
      vegaEmbed("#chart-sla", {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json", width, height: 220,
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

  window.HotlineCharts = { draw };
})();
