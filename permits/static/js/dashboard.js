/* Draws the supervision dashboard's charts from the figures in #dashboard-data.
   Every chart repeats a table on the page, so nothing is lost without JavaScript. */
(function () {
  "use strict";

  var COLOURS = ["#1f6f5c", "#c0392b", "#2e6db4", "#d68910", "#6c3483", "#117a65",
                 "#7b7d7d", "#a04000", "#1a5276", "#b7950b"];
  var KINDS = {
    per_day: { type: "line" },
    by_state: { type: "bar" },
    by_district: { type: "bar", horizontal: true },
    steps: { type: "bar", horizontal: true },
    overdue: { type: "bar", horizontal: true },
    scans: { type: "bar", stacked: true },
    verdicts: { type: "doughnut" }
  };

  function draw(canvas, figures) {
    var name = canvas.getAttribute("data-chart");
    var data = figures[name];
    var kind = KINDS[name];
    if (!data || !kind || !data.labels.length) {
      canvas.parentNode.hidden = true;
      return;
    }
    var single = data.series.length === 1;
    var datasets = data.series.map(function (series, i) {
      var colour = COLOURS[i % COLOURS.length];
      return {
        label: series.label,
        data: series.data,
        backgroundColor: kind.type === "doughnut" || (single && kind.type === "bar" && name === "overdue")
          ? data.labels.map(function (_, j) { return COLOURS[j % COLOURS.length]; })
          : colour,
        borderColor: colour,
        fill: false
      };
    });
    var options = { responsive: true, maintainAspectRatio: false, animation: false,
                    plugins: { legend: { display: !single || kind.type === "doughnut" } } };
    if (kind.type !== "doughnut") {
      options.indexAxis = kind.horizontal ? "y" : "x";
      options.scales = { x: { stacked: !!kind.stacked, beginAtZero: true },
                         y: { stacked: !!kind.stacked, beginAtZero: true } };
    }
    new window.Chart(canvas, { type: kind.type, data: { labels: data.labels, datasets: datasets },
                               options: options });
  }

  function start() {
    var block = document.getElementById("dashboard-data");
    if (!block || !window.Chart) { return; }
    var figures = JSON.parse(block.textContent);
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) { draw(canvases[i], figures); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
