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

  // Per-second time series of load figures: throughput, p99, errors by code, server CPU per request.
  if (model.timeSeries.length === 0) empty('time-series-charts', 'No load time series in these runs.');
  model.timeSeries.forEach(function (s) {
    var xAxis = { title: { display: true, text: 's' } };
    draw(box('time-series-charts', s.id + ' throughput'), {
      type: 'line',
      data: {
        labels: s.t,
        datasets: [
          { label: 'offered /s', data: s.offered, borderColor: '#7f7f7f', borderDash: [4, 3], pointRadius: 0 },
          { label: 'answered /s', data: s.answered, borderColor: '#1f77b4', pointRadius: 0 },
        ],
      },
      options: { plugins: { title: title(s.id + ': throughput (' + s.run + ')') }, scales: { x: xAxis, y: { title: { display: true, text: 'req/s' } } } },
    });
    draw(box('time-series-charts', s.id + ' p99'), {
      type: 'line',
      data: { labels: s.t, datasets: [{ label: 'p99', data: s.p99Ms, borderColor: '#d62728', pointRadius: 0, spanGaps: true }] },
      options: { plugins: { title: title(s.id + ': p99 latency per second'), legend: { display: false } }, scales: { x: xAxis, y: { title: { display: true, text: 'ms' } } } },
    });
    var codes = Object.keys(s.errors);
    draw(box('time-series-charts', s.id + ' errors'), {
      type: 'bar',
      data: {
        labels: s.t,
        datasets: codes.length
          ? codes.map(function (code, i) { return { label: code, data: s.errors[code], backgroundColor: palette[i % palette.length] }; })
          : [{ label: 'errors', data: s.t.map(function () { return 0; }), backgroundColor: '#2ca02c' }],
      },
      options: {
        plugins: { title: title(s.id + ': errors per second by code' + (codes.length ? '' : ' (none)')) },
        scales: { x: { stacked: true, title: xAxis.title }, y: { stacked: true, beginAtZero: true, suggestedMax: 1, title: { display: true, text: 'errors' } } },
      },
    });
    if (s.cpuUserUs) {
      draw(box('time-series-charts', s.id + ' server CPU'), {
        type: 'line',
        data: {
          labels: s.t,
          datasets: [
            { label: 'user', data: s.cpuUserUs, borderColor: '#ff7f0e', backgroundColor: 'rgba(255,127,14,0.3)', fill: 'origin', pointRadius: 0, spanGaps: true },
            { label: 'system', data: s.cpuSystemUs, borderColor: '#9467bd', backgroundColor: 'rgba(148,103,189,0.3)', fill: '-1', pointRadius: 0, spanGaps: true },
          ],
        },
        options: {
          plugins: { title: title(s.id + ': server CPU per request (µs, stacked)') },
          scales: { x: xAxis, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'µs / request' } } },
        },
      });
    }
  });

  // Capacity curves: every step of every search, offered rate against the SLO's percentile
  // (log scale, green pass / red fail, the SLO as a line) and against the achieved rate.
  if (model.capacity.length === 0) empty('capacity-charts', 'No capacity-at-SLO figures in these runs.');
  model.capacity.forEach(function (c) {
    var offered = c.steps.map(function (s) { return s.offered; });
    var lo = Math.min.apply(null, offered);
    var hi = Math.max.apply(null, offered);
    draw(box('capacity-charts', c.id), {
      type: 'scatter',
      data: {
        datasets: [
          {
            label: c.slo.stat + ' (ms)',
            data: c.steps.map(function (s) { return { x: s.offered, y: s.sloMs }; }),
            backgroundColor: c.steps.map(function (s) { return s.passed ? '#2ca02c' : '#d62728'; }),
            pointRadius: 4,
            yAxisID: 'y',
          },
          {
            type: 'line',
            label: 'SLO ' + c.slo.stat + ' ≤ ' + c.slo.max_ms + ' ms',
            data: [{ x: lo, y: c.slo.max_ms }, { x: hi, y: c.slo.max_ms }],
            borderColor: '#000',
            borderDash: [6, 4],
            pointRadius: 0,
            yAxisID: 'y',
          },
          {
            type: 'line',
            label: 'achieved (' + c.unit + ')',
            data: c.steps.map(function (s) { return { x: s.offered, y: s.achieved }; }),
            borderColor: '#1f77b4',
            pointRadius: 2,
            yAxisID: 'rate',
          },
        ],
      },
      options: {
        parsing: false,
        plugins: { title: title(c.id + ': capacity ' + c.capacity + ' ' + c.unit + ' (' + c.run + ')') },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'offered (' + c.unit + ')' } },
          y: { type: 'logarithmic', position: 'left', title: { display: true, text: c.slo.stat + ' ms (log)' } },
          rate: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'achieved (' + c.unit + ')' } },
        },
      },
    });
  });

  window.sigloadReport = { charts: charts.length, canvases: document.querySelectorAll('canvas').length };
  document.body.dataset.charts = String(charts.length);
})();
