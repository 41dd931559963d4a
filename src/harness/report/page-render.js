// Draws the sigload report's charts from the inlined JSON model (built by src/harness/report/report.ts).
// Plain browser script, no modules, no network: Chart.js is inlined before this script.
(function () {
  'use strict';
  /* global Chart */
  var model = JSON.parse(document.getElementById('sigload-data').textContent);
  var charts = [];
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;

  function box(containerId, title) {
    var div = document.createElement('div');
    div.className = 'chart';
    var canvas = document.createElement('canvas');
    canvas.setAttribute('aria-label', title);
    canvas.dataset.chartTitle = title;
    div.appendChild(canvas);
    document.getElementById(containerId).appendChild(div);
    return canvas;
  }

  function empty(containerId, text) {
    var p = document.createElement('p');
    p.className = 'empty';
    p.textContent = text;
    document.getElementById(containerId).appendChild(p);
  }

  function draw(canvas, config) {
    config.options = config.options || {};
    config.options.responsive = true;
    charts.push(new Chart(canvas, config));
  }

  function title(text) {
    return { display: true, text: text };
  }

  // Anchors: ratio of each anchor and its goal.
  if (model.anchors.length === 0) empty('anchor-charts', 'No anchors in these runs.');
  else {
    draw(box('anchor-charts', 'anchors'), {
      type: 'bar',
      data: {
        labels: model.anchors.map(function (a) { return a.id; }),
        datasets: [
          {
            label: 'ratio',
            data: model.anchors.map(function (a) { return a.ratio; }),
            backgroundColor: model.anchors.map(function (a) { return a.met === false ? '#d62728' : a.met === true ? '#2ca02c' : '#1f77b4'; }),
          },
          {
            type: 'line',
            label: 'goal',
            data: model.anchors.map(function (a) { return a.goal ? a.goal.value : null; }),
            borderColor: '#000',
            showLine: false,
            pointStyle: 'line',
            pointRadius: 14,
            pointBorderWidth: 3,
          },
        ],
      },
      // Ratios span 0.05 … 100+: a logarithmic axis keeps every bar and goal readable.
      options: {
        plugins: { title: title('anchor ratio (bar) vs goal (line), log scale; green met, red missed') },
        scales: { y: { type: 'logarithmic', title: { display: true, text: 'ours ÷ theirs' } } },
      },
    });
  }

  // Trend of every benchmark across runs: median with its 95% CI band.
  var runLabels = model.runs.map(function (r) { return r.label; });
  if (model.trends.length === 0) empty('trend-charts', 'No benchmarks in these runs.');
  model.trends.forEach(function (t) {
    draw(box('trend-charts', t.id), {
      type: 'line',
      data: {
        labels: runLabels,
        datasets: [
          { label: 'CI low', data: t.points.map(function (p) { return p ? p.lo : null; }), borderWidth: 0, pointRadius: 0, fill: false },
          { label: 'CI high', data: t.points.map(function (p) { return p ? p.hi : null; }), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: 'rgba(31,119,180,0.15)' },
          { label: 'median', data: t.points.map(function (p) { return p ? p.median : null; }), borderColor: '#1f77b4', pointRadius: 3, spanGaps: true },
        ],
      },
      options: {
        plugins: { title: title(t.id + ' (' + t.unit + ', ' + t.better + ' is better)'), legend: { display: false } },
        scales: { y: { title: { display: true, text: t.unit } } },
      },
    });
  });

  // Latency percentile curves: x = log10(1 / (1 - p)), the usual HDR plot axis.
  function tailX(p) { return p >= 100 ? 6 : Math.log10(1 / (1 - p / 100)); }
  var tickNames = { 0: '0%', 1: '90%', 2: '99%', 3: '99.9%', 4: '99.99%', 5: '99.999%' };
  if (model.latency.length === 0) empty('latency-charts', 'No latency histograms in these runs.');
  model.latency.forEach(function (l) {
    draw(box('latency-charts', l.id), {
      type: 'line',
      data: {
        datasets: l.curves.map(function (c, i) {
          return {
            label: c.run,
            data: c.points.map(function (p) { return { x: tailX(p.percentile), y: p.valueMs }; }),
            borderColor: palette[i % palette.length],
            pointRadius: 1,
          };
        }),
      },
      options: {
        parsing: false,
        plugins: { title: title(l.id + ': latency by percentile') },
        scales: {
          x: { type: 'linear', min: 0, max: 5, title: { display: true, text: 'percentile' }, ticks: { stepSize: 1, callback: function (v) { return tickNames[v] || ''; } } },
          y: { title: { display: true, text: 'ms' } },
        },
      },
    });
  });

  // Throughput against worker count (latest run).
  if (model.scaling.length === 0) empty('scaling-charts', 'No benchmarks with a workers parameter in these runs.');
  model.scaling.forEach(function (s) {
    draw(box('scaling-charts', s.group), {
      type: 'line',
      data: { datasets: [{ label: s.run, data: s.points.map(function (p) { return { x: p.workers, y: p.median }; }), borderColor: '#2ca02c' }] },
      options: {
        parsing: false,
        plugins: { title: title(s.group + ' against workers') },
        scales: { x: { type: 'linear', title: { display: true, text: 'workers' }, ticks: { stepSize: 1 } }, y: { title: { display: true, text: s.unit } } },
      },
    });
  });

  window.sigloadReport = { charts: charts.length, canvases: document.querySelectorAll('canvas').length };
  document.body.dataset.charts = String(charts.length);
})();
