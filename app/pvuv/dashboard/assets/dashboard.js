// The PV/UV dashboard. It reads only the dashboard's JSON API (the package
// doc of app/pvuv/dashboard describes it) and draws with Apache ECharts.
// Plain JavaScript, no build step. Page paths come from log lines, so they
// reach the page only as text (textContent), never as HTML.
(function () {
  'use strict';

  var REFRESH_MS = 5000;   // minute series and top pages: re-read this often
  var RECONNECT_MS = 3000; // live feed: wait this long after it closed
  var FETCH_TIMEOUT_MS = 10000;
  var SPAN_MS = 60 * 60 * 1000;

  var numbers = new Intl.NumberFormat('en-US');
  var clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  var clockSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

  function $(id) { return document.getElementById(id); }
  function num(n) { return numbers.format(n); }
  function mib(bytes) { return numbers.format(Math.round(bytes / 1048576)) + ' MiB'; }

  var state = {
    windows: [],      // {start, end, pv, uv, final}, by start
    live: null,       // the last live event
    pages: [],
    counters: { lines: 0, bad_lines: 0, late: 0 },
    day: { pv: 0, uv: 0 },
    liveEvents: 0,
    loaded: false,    // a refresh succeeded
    refreshing: false,
    again: false,     // a refresh was asked for while one ran
    source: null
  };

  // ---- charts ----

  function lineChart(el, name, color) {
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animationDurationUpdate: 300,
      grid: { left: 56, right: 18, top: 18, bottom: 30 },
      tooltip: {
        trigger: 'axis',
        formatter: function (items) {
          var p = items[items.length - 1]; // the running series when it has the point
          var w = p.data.window;
          return clock.format(new Date(w.start)) + '–' + clock.format(new Date(w.end)) +
            (w.final ? '' : ' (running)') + '<br>' + p.marker + name + ': <b>' + num(p.value[1]) + '</b>';
        }
      },
      xAxis: {
        type: 'time',
        axisLine: { lineStyle: { color: '#cbd2e0' } },
        axisLabel: { color: '#667085', hideOverlap: true },
        splitLine: { show: false }
      },
      yAxis: {
        type: 'value', min: 0,
        axisLabel: { color: '#667085', formatter: function (v) { return num(v); } },
        splitLine: { lineStyle: { color: '#eef1f6' } }
      },
      series: [{
        name: name, type: 'line', smooth: 0.2, showSymbol: false, symbolSize: 7,
        lineStyle: { width: 2.2, color: color },
        itemStyle: { color: color },
        areaStyle: {
          color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
            { offset: 0, color: color + '4d' }, { offset: 1, color: color + '05' }
          ])
        },
        data: []
      }, {
        // The running minute: a dashed segment from the last closed window
        // to a dot that grows every second.
        name: name + ' (running)', type: 'line', showSymbol: true, symbol: 'circle', symbolSize: 9,
        lineStyle: { width: 2, type: 'dashed', color: color },
        itemStyle: { color: color, borderColor: '#fff', borderWidth: 2 },
        z: 3,
        data: []
      }]
    });
    return chart;
  }

  var pvChart = lineChart($('pv-chart'), 'Page views', '#2563eb');
  var uvChart = lineChart($('uv-chart'), 'Unique visitors', '#0d9488');
  window.addEventListener('resize', function () { pvChart.resize(); uvChart.resize(); });

  // points counts the windows a chart draws: the closed ones and the
  // running one (whose segment starts at the last closed window).
  function points(chart) {
    var series = chart.getOption().series || [];
    var closed = series[0] && series[0].data ? series[0].data.length : 0;
    var running = series[1] && series[1].data ? series[1].data.length : 0;
    return closed + (running > 0 ? 1 : 0);
  }

  function drawCharts() {
    var ws = state.windows;
    var running = ws.length && !ws[ws.length - 1].final ? ws[ws.length - 1] : null;
    var closed = running ? ws.slice(0, -1) : ws;
    function series(field) {
      var line = closed.map(function (w) { return { value: [w.start, w[field]], window: w }; });
      var tail = [];
      if (running) {
        if (line.length) tail.push({ value: line[line.length - 1].value, window: line[line.length - 1].window, symbol: 'none' });
        tail.push({ value: [running.start, running[field]], window: running });
      }
      return [{ data: line }, { data: tail }];
    }
    pvChart.setOption({ series: series('pv') });
    uvChart.setOption({ series: series('uv') });
  }

  // mergeWindow puts the live window into the series: it replaces the
  // window with the same start or comes after the last one.
  function mergeWindow(w) {
    var ws = state.windows;
    for (var i = ws.length - 1; i >= 0; i--) {
      if (ws[i].start === w.start) { ws[i] = w; return; }
      if (ws[i].start < w.start) break;
    }
    ws.splice(i + 1, 0, w);
    var oldest = w.start - SPAN_MS;
    while (ws.length && ws[0].start < oldest) ws.shift();
  }

  // ---- numbers ----

  function drawNumbers() {
    var c = state.counters;
    $('lines').textContent = num(c.lines);
    $('bad-lines').textContent = num(c.bad_lines);
    $('bad-lines').className = c.bad_lines > 0 ? 'bad' : '';
    $('late').textContent = num(c.late);
    $('late').className = c.late > 0 ? 'warn' : '';
    $('day-pv').textContent = num(state.day.pv);
    $('day-uv').textContent = num(state.day.uv);
    $('day-date').textContent = state.day.date ? state.day.date + ' (UTC)' : '\u00a0';
    // The memory of the process that serves the page, when it says
    // (weir demo runs the job in that process).
    var m = state.live && state.live.memory;
    if (m) {
      $('memory-row').hidden = false;
      $('memory').textContent = mib(m.heap_inuse_bytes) + (m.rss_bytes > 0 ? ' · ' + mib(m.rss_bytes) : '');
    }

    var w = state.live && state.live.window;
    if (w) {
      $('running-pv').textContent = num(w.pv);
      $('running-uv').textContent = num(w.uv);
      $('running-window').textContent = clock.format(new Date(w.start)) + '–' + clock.format(new Date(w.end));
      $('running-state').textContent = w.final ? 'window closed' : 'running, updates every second';
    }
  }

  function drawPages(answer) {
    var body = $('pages-body');
    body.replaceChildren();
    var w = answer.window;
    $('pages-window').textContent = w ? clock.format(new Date(w.start)) + '–' + clock.format(new Date(w.end)) +
      (w.final ? '' : ', running') : '';
    if (!answer.pages.length) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = 4;
      td.className = 'empty';
      td.textContent = w ? 'no page views in this window' : 'no window yet';
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    var max = answer.pages[0].pv || 1;
    answer.pages.forEach(function (p, i) {
      var tr = document.createElement('tr');
      var cells = [['rank', String(i + 1)], ['page', p.page], ['num', num(p.pv)]];
      cells.forEach(function (c) {
        var td = document.createElement('td');
        td.className = c[0];
        td.textContent = c[1];
        tr.appendChild(td);
      });
      var barCell = document.createElement('td');
      var bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = Math.max(1, Math.round(100 * p.pv / max)) + '%';
      barCell.appendChild(bar);
      tr.appendChild(barCell);
      body.appendChild(tr);
    });
  }

  function setStatus(kind, text) {
    $('status').dataset.state = kind;
    $('status-text').textContent = text;
  }

  // ---- the API ----

  function getJSON(url) {
    return fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).then(function (r) {
      return r.json().catch(function () { return { error: r.status + ' ' + r.statusText }; }).then(function (body) {
        if (!r.ok) throw new Error(body.error || (r.status + ' ' + r.statusText));
        return body;
      });
    });
  }

  // nameUnit writes the windows' size where the page says "minute": a job
  // may run with other windows.
  function nameUnit(ws) {
    if (!ws || ws.length === 0) return;
    var secs = Math.round((ws[0].end - ws[0].start) / 1000);
    var name = secs === 60 ? 'minute' : secs % 60 === 0 ? (secs / 60) + ' min window' : secs + ' s window';
    var els = document.querySelectorAll('.unit');
    for (var i = 0; i < els.length; i++) els[i].textContent = name;
  }

  // refresh re-reads the minute series and the top pages.
  function refresh() {
    if (state.refreshing) { state.again = true; return; }
    state.refreshing = true;
    Promise.all([getJSON('api/pvuv'), getJSON('api/pages')]).then(function (r) {
      var pvuv = r[0];
      state.windows = pvuv.windows;
      nameUnit(pvuv.windows);
      var w = state.live && state.live.window;
      if (w) mergeWindow(w); // the live record may be newer than the read
      state.counters = pvuv.counters;
      if (!state.live) state.day = pvuv.day;
      state.loaded = true;
      drawCharts();
      drawNumbers();
      drawPages(r[1]);
    }).catch(function (err) {
      setStatus('down', String(err.message || err));
      console.warn('weir dashboard: refresh failed:', err);
    }).finally(function () {
      state.refreshing = false;
      if (state.again) { state.again = false; refresh(); }
    });
  }

  function onLive(ev) {
    var l = JSON.parse(ev.data);
    var prev = state.live && state.live.window;
    state.live = l;
    state.liveEvents++;
    state.counters = l.counters;
    state.day = l.day;
    if (l.window) {
      mergeWindow(l.window);
      drawCharts();
    }
    drawNumbers();
    setStatus('live', 'live · ' + clockSeconds.format(new Date(l.time)));
    // A new window, or one that closed: its neighbours and top pages changed.
    if (l.window && (!prev || prev.start !== l.window.start || prev.final !== l.window.final)) refresh();
  }

  function connect() {
    var es = new EventSource('api/live');
    state.source = es;
    es.onmessage = onLive;
    es.addEventListener('redis-error', function (ev) {
      setStatus('down', JSON.parse(ev.data).error);
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        // The server answered with an error (Redis down at connect time):
        // EventSource gives up, so try again later.
        setStatus('down', 'live feed unavailable, retrying');
        setTimeout(connect, RECONNECT_MS);
      } else {
        setStatus('connecting', 'reconnecting…');
      }
    };
  }

  // The hook that tests and tools read: see the package doc.
  window.weirDashboard = {
    state: function () {
      var w = state.live && state.live.window;
      var out = {
        ready: state.loaded && state.liveEvents > 0,
        points: { pv: points(pvChart), uv: points(uvChart) },
        counters: {
          lines: state.counters.lines,
          bad_lines: state.counters.bad_lines,
          late: state.counters.late,
          running_pv: w ? w.pv : 0,
          running_uv: w ? w.uv : 0,
          day_pv: state.day.pv,
          day_uv: state.day.uv,
          pages: $('pages-body').querySelectorAll('td.page').length,
          live_events: state.liveEvents
        }
      };
      var m = state.live && state.live.memory;
      if (m) {
        out.counters.heap_inuse_bytes = m.heap_inuse_bytes;
        out.counters.rss_bytes = m.rss_bytes;
      }
      return out;
    }
  };

  refresh();
  connect();
  setInterval(refresh, REFRESH_MS);
})();
