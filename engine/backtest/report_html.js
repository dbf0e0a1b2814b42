// Renders the reports of trading-engine from the JSON block #te-data: backtest,
// comparison, optimisation, walk-forward and Monte Carlo pages. No network, no
// libraries: SVG built by hand. When done it fills #te-status with what it drew
// (section and chart counts, errors), which the headless-browser test reads.
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message || e)); });
  var NS = 'http://www.w3.org/2000/svg';
  var W = 1100;  // SVG user units; the CSS scales the drawing to the page width
  var charts = 0;
  var main = document.querySelector('main');

  // ---------------------------------------------------------------- helpers
  function h(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function s(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function svgRoot(parent, height) {
    charts++;
    return s('svg', { viewBox: '0 0 ' + W + ' ' + height, preserveAspectRatio: 'none', height: height }, parent);
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function num(v, d) { return isNum(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a'; }
  function pct(v, d) { return isNum(v) ? (v * 100).toFixed(d === undefined ? 2 : d) + ' %' : 'n/a'; }
  function pad(x) { return x < 10 ? '0' + x : '' + x; }
  function date(ms, dateOnly) {
    if (!isNum(ms)) return '';
    var d = new Date(ms);
    var t = d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    if (!dateOnly) t += ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    return t;
  }
  function section(id, title, note) {
    var sec = h('section', { id: id }, main);
    h('h2', null, sec, title);
    if (note) h('p', { 'class': 'note' }, sec, note);
    return sec;
  }
  var tip = h('div', { 'class': 'tip' }, document.body);
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = 'block';
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + 260 > window.innerWidth) x = ev.clientX - 270;
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }
  function svgX(svg, ev) {
    var r = svg.getBoundingClientRect();
    return (ev.clientX - r.left) * W / (r.width || W);
  }
  function niceTicks(lo, hi, count) {
    if (!isNum(lo) || !isNum(hi)) return [];
    if (hi === lo) return [lo];
    var step = Math.pow(10, Math.floor(Math.log(Math.abs(hi - lo) / count) / Math.LN10));
    var err = (hi - lo) / count / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  function tickText(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    if (a >= 100) return v.toFixed(0);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(3);
  }
  function lowerBound(arr, x) {  // first index with arr[i] > x, minus one (last <= x)
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo - 1;
  }
  function heatColor(v, maxAbs) {
    if (!isNum(v)) return '#f2f4f7';
    var a = maxAbs > 0 ? Math.min(1, Math.abs(v) / maxAbs) : 0;
    var c = v >= 0 ? [18, 161, 80] : [217, 45, 32];
    return 'rgba(' + c[0] + ',' + c[1] + ',' + c[2] + ',' + (0.08 + 0.72 * a).toFixed(3) + ')';
  }
  function seqColor(v, lo, hi) {  // low = light, high = deep blue; NaN = grey
    if (!isNum(v)) return '#eceff3';
    var f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    var r = Math.round(247 - f * (247 - 30)), g = Math.round(251 - f * (251 - 64)), b = Math.round(255 - f * (255 - 175));
    return 'rgb(' + r + ',' + g + ',' + b + ')';
  }
  var palette = ['#2563eb', '#d92d20', '#12a150', '#f79009', '#7a5af8', '#0e9384', '#c11574', '#475467'];

  function kvGrid(parent, pairs) {
    var wide = pairs.some(function (p) { return String(p[1]).length > 22; });
    var g = h('div', { 'class': wide ? 'grid wide' : 'grid' }, parent);
    pairs.forEach(function (p) {
      var row = h('div', { 'class': 'kv', title: p[2] || '' }, g);
      h('span', null, row, p[0]);
      h('span', null, row, p[1]);
    });
    return g;
  }

  // A sortable, paged table. cols: [{name, fmt(v,row), cls(v)}]; rows: arrays.
  function table(parent, cols, rows, pageSize) {
    var wrap = h('div', null, parent);
    var pager = h('div', { 'class': 'pager' }, wrap);
    var scroll = h('div', { 'class': 'scroll' }, wrap);
    var tbl = h('table', null, scroll);
    var thead = h('thead', null, tbl), tbody = h('tbody', null, tbl);
    var order = rows.map(function (_, i) { return i; });
    var page = 0, sortCol = -1, sortDir = 1;
    pageSize = pageSize || 50;
    var pages = Math.max(1, Math.ceil(rows.length / pageSize));
    var tr = h('tr', null, thead);
    cols.forEach(function (c, ci) {
      var th = h('th', { title: 'sort' }, tr, c.name);
      th.addEventListener('click', function () {
        sortDir = sortCol === ci ? -sortDir : 1;
        sortCol = ci;
        order.sort(function (a, b) {
          var x = rows[a][ci], y = rows[b][ci];
          if (x === y) return a - b;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * sortDir;
        });
        page = 0;
        draw();
      });
    });
    var prev = h('button', null, pager, '\u25c0'), label = h('span', null, pager), next = h('button', null, pager, '\u25b6');
    prev.addEventListener('click', function () { if (page > 0) { page--; draw(); } });
    next.addEventListener('click', function () { if (page < pages - 1) { page++; draw(); } });
    function draw() {
      tbody.textContent = '';
      var end = Math.min(rows.length, (page + 1) * pageSize);
      for (var k = page * pageSize; k < end; k++) {
        var row = rows[order[k]], r = h('tr', null, tbody);
        cols.forEach(function (c, ci) {
          var v = row[ci];
          var td = h('td', null, r, c.fmt ? c.fmt(v, row) : (v === null || v === undefined ? '' : String(v)));
          if (c.cls) { var cl = c.cls(v, row); if (cl) td.className = cl; }
        });
      }
      label.textContent = rows.length ? 'rows ' + (page * pageSize + 1) + '\u2013' + end + ' of ' + rows.length : 'no rows';
    }
    draw();
    return tbl;
  }
  function cellText(v, f) {
    if (v === null || v === undefined) return f === 'text' ? '' : 'n/a';
    if (!isNum(v)) return String(v);
    if (f === 'int') return String(Math.round(v));
    if (f === 'pct') return pct(v);
    return Math.abs(v) >= 100 ? v.toFixed(2) : v.toPrecision(4);
  }
  function signCls(v) { return isNum(v) ? (v > 0 ? 'pos' : v < 0 ? 'neg' : '') : ''; }

  // Multi-series line chart over time. series: [{name, t:[ms], v:[...], color}]
  function lineChart(parent, series, opts) {
    opts = opts || {};
    var H = opts.height || 300, L = 64, R = 12, T = 10, B = 24;
    if (opts.legend !== false) {
      var lg = h('div', { 'class': 'legend' }, parent);
      series.forEach(function (se, i) {
        var item = h('span', null, lg);
        var sw = h('i', null, item);
        sw.style.background = se.color || palette[i % palette.length];
        item.appendChild(document.createTextNode(se.name));
      });
    }
    var svg = svgRoot(parent, H);
    var t0 = Infinity, t1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    series.forEach(function (se) {
      for (var i = 0; i < se.t.length; i++) {
        if (se.t[i] < t0) t0 = se.t[i];
        if (se.t[i] > t1) t1 = se.t[i];
        var lo = se.lo ? se.lo[i] : se.v[i], hi = se.hi ? se.hi[i] : se.v[i];
        if (isNum(lo) && lo < y0) y0 = lo;
        if (isNum(hi) && hi > y1) y1 = hi;
      }
    });
    if (opts.baseline !== undefined) { y0 = Math.min(y0, opts.baseline); y1 = Math.max(y1, opts.baseline); }
    if (!isFinite(t0) || !isFinite(y0)) { s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg, 'no data'); return svg; }
    if (t1 === t0) t1 = t0 + 1;
    if (y1 === y0) { y1 += 1; y0 -= 1; }
    var padY = (y1 - y0) * 0.04; y0 -= padY; y1 += padY;
    function X(t) { return L + (t - t0) / (t1 - t0) * (W - L - R); }
    function Y(v) { return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B); }
    var ax = s('g', { 'class': 'axis' }, svg);
    niceTicks(y0, y1, 5).forEach(function (v) {
      s('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, ax);
      s('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' }, ax, opts.yfmt ? opts.yfmt(v) : tickText(v));
    });
    var xticks = opts.xticks || [0, 1, 2, 3, 4, 5, 6].map(function (k) { return t0 + (t1 - t0) * k / 6; });
    var xevery = Math.max(1, Math.ceil(xticks.length / 12));
    xticks.forEach(function (tt, k) {
      if (k % xevery) return;
      var anchor = tt <= t0 ? 'start' : tt >= t1 ? 'end' : 'middle';
      s('text', { x: X(tt), y: H - 6, 'text-anchor': anchor }, ax, opts.xfmt ? opts.xfmt(tt) : date(tt, true));
    });
    if (opts.baseline !== undefined)
      s('line', { x1: L, x2: W - R, y1: Y(opts.baseline), y2: Y(opts.baseline), stroke: '#98a2b3', 'stroke-dasharray': '4 3' }, svg);
    (opts.marks || []).forEach(function (m) {
      s('line', { x1: X(m), x2: X(m), y1: T, y2: H - B, stroke: '#d0d5dd', 'stroke-dasharray': '2 3' }, svg);
    });
    series.forEach(function (se, si) {
      var color = se.color || palette[si % palette.length];
      if (se.lo && se.hi) {
        var up = [], dn = [];
        for (var i = 0; i < se.t.length; i++) {
          if (!isNum(se.lo[i]) || !isNum(se.hi[i])) continue;
          up.push(X(se.t[i]).toFixed(1) + ',' + Y(se.hi[i]).toFixed(1));
          dn.push(X(se.t[i]).toFixed(1) + ',' + Y(se.lo[i]).toFixed(1));
        }
        s('polygon', { points: up.concat(dn.reverse()).join(' '), fill: color, 'fill-opacity': se.fillOpacity || 0.15, stroke: 'none' }, svg);
      }
      if (se.v) {
        var pts = [];
        for (var j = 0; j < se.t.length; j++) if (isNum(se.v[j])) pts.push(X(se.t[j]).toFixed(1) + ',' + Y(se.v[j]).toFixed(1));
        s('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': se.width || 1.5, 'stroke-dasharray': se.dash || '' }, svg);
      }
    });
    var cross = s('line', { y1: T, y2: H - B, stroke: '#98a2b3', visibility: 'hidden' }, svg);
    svg.addEventListener('mousemove', function (ev) {
      var x = svgX(svg, ev);
      if (x < L || x > W - R) { hideTip(); cross.setAttribute('visibility', 'hidden'); return; }
      var t = t0 + (x - L) / (W - L - R) * (t1 - t0);
      cross.setAttribute('x1', x); cross.setAttribute('x2', x); cross.setAttribute('visibility', 'visible');
      var lines = [opts.xfmt ? opts.xfmt(t) : date(t, opts.dateOnly)];
      series.forEach(function (se) {
        var i = Math.max(0, lowerBound(se.t, t));
        if (se.v && se.v.length) lines.push(se.name + ': ' + (opts.yfmt ? opts.yfmt(se.v[i]) : num(se.v[i], 4)));
      });
      showTip(ev, lines.join('\n'));
    });
    svg.addEventListener('mouseleave', function () { hideTip(); cross.setAttribute('visibility', 'hidden'); });
    return svg;
  }

  // Vertical bars over numeric bins. values: numbers; returns the svg.
  function histogram(parent, values, opts) {
    opts = opts || {};
    var H = opts.height || 220, L = 56, R = 12, T = 10, B = 28;
    var svg = svgRoot(parent, H);
    var v = values.filter(isNum);
    if (!v.length) { s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg, 'no data'); return svg; }
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    var bins = opts.bins || Math.min(50, Math.max(5, Math.ceil(Math.sqrt(v.length))));
    if (hi === lo) { hi = lo + 1; lo -= 1; }
    // Nice bin width, edges on multiples of it (0 is always an edge).
    var width = niceTicks(0, (hi - lo) / bins * 4, 4)[1] || (hi - lo) / bins;
    lo = Math.floor(lo / width) * width;
    bins = Math.max(1, Math.ceil((hi - lo) / width - 1e-9));
    if (lo + bins * width <= hi) bins++;
    hi = lo + bins * width;
    var counts = new Array(bins).fill(0);
    v.forEach(function (x) { counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++; });
    var cmax = Math.max.apply(null, counts);
    function X(x) { return L + (x - lo) / (hi - lo) * (W - L - R); }
    function Y(c) { return T + (1 - c / cmax) * (H - T - B); }
    var ax = s('g', { 'class': 'axis' }, svg);
    niceTicks(0, cmax, 4).forEach(function (c) {
      s('line', { x1: L, x2: W - R, y1: Y(c), y2: Y(c) }, ax);
      s('text', { x: L - 6, y: Y(c) + 4, 'text-anchor': 'end' }, ax, String(Math.round(c)));
    });
    niceTicks(lo, hi, 8).forEach(function (x) {
      s('text', { x: X(x), y: H - 8, 'text-anchor': 'middle' }, ax, opts.xfmt ? opts.xfmt(x) : tickText(x));
    });
    counts.forEach(function (c, i) {
      var a = lo + i * width, mid = a + width / 2;
      var color = opts.color ? opts.color(mid) : (mid >= 0 ? '#12a150' : '#d92d20');
      var r = s('rect', { x: X(a) + 0.5, y: Y(c), width: Math.max(1, X(a + width) - X(a) - 1), height: Y(0) - Y(c), fill: color, 'fill-opacity': 0.75 }, svg);
      s('title', null, r, (opts.xfmt ? opts.xfmt(a) + ' \u2026 ' + opts.xfmt(a + width) : tickText(a) + ' \u2026 ' + tickText(a + width)) + ': ' + c);
    });
    (opts.marks || []).forEach(function (m) {
      if (!isNum(m.x)) return;
      s('line', { x1: X(m.x), x2: X(m.x), y1: T, y2: H - B, stroke: m.color || '#111827', 'stroke-dasharray': '4 3' }, svg);
      s('text', { x: X(m.x) + 4, y: T + 10, fill: m.color || '#111827' }, svg, m.label);
    });
    return svg;
  }

  // Grid of coloured cells. xs, ys: labels; z[yi][xi]: value or null.
  function heatmap(parent, xs, ys, z, opts) {
    opts = opts || {};
    var lo = Infinity, hi = -Infinity;
    z.forEach(function (row) { row.forEach(function (v) { if (isNum(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }); });
    var cw = Math.max(14, Math.min(64, (W - 90) / Math.max(1, xs.length))), ch = Math.max(14, Math.min(28, 420 / Math.max(1, ys.length)));
    var L = 80, T = 8, B = 40;
    var H = T + ch * ys.length + B;
    var svg = svgRoot(parent, H);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    ys.forEach(function (yv, yi) {
      s('text', { x: L - 6, y: T + ch * (ys.length - 1 - yi) + ch / 2 + 4, 'text-anchor': 'end' }, svg, String(yv));
      xs.forEach(function (xv, xi) {
        var v = z[yi][xi];
        var r = s('rect', { x: L + xi * cw, y: T + ch * (ys.length - 1 - yi), width: cw - 1, height: ch - 1, fill: seqColor(v, lo, hi) }, svg);
        s('title', null, r, (opts.xname || 'x') + '=' + xv + ', ' + (opts.yname || 'y') + '=' + yv + ': ' + (isNum(v) ? v.toPrecision(5) : 'n/a'));
        if (opts.best && opts.best[0] === xi && opts.best[1] === yi)
          s('rect', { x: L + xi * cw + 1, y: T + ch * (ys.length - 1 - yi) + 1, width: cw - 3, height: ch - 3, fill: 'none', stroke: '#f79009', 'stroke-width': 2 }, svg);
      });
    });
    var every = Math.max(1, Math.ceil(xs.length * 40 / (W - L)));
    xs.forEach(function (xv, xi) {
      if (xi % every === 0) s('text', { x: L + xi * cw + cw / 2, y: T + ch * ys.length + 14, 'text-anchor': 'middle' }, svg, String(xv));
    });
    s('text', { x: L + cw * xs.length / 2, y: H - 6, 'text-anchor': 'middle' }, svg, (opts.xname || '') + (opts.yname ? '  (rows: ' + opts.yname + ')' : ''));
    h('p', { 'class': 'note' }, parent, 'colour: ' + (opts.what || 'value') + ' from ' + (isNum(lo) ? lo.toPrecision(4) : 'n/a') +
      ' (light) to ' + (isNum(hi) ? hi.toPrecision(4) : 'n/a') + ' (dark); grey: no valid combination');
    return svg;
  }

  // ------------------------------------------------------- backtest: charts
  // Price (candles or a high/low envelope), equity (min/max envelope and last
  // value per bucket) and drawdown over one shared, zoomable bar axis.
  function timeChart(parent, S, trades, dateOnly, initialCash) {
    var n = S.t.length;
    var view = { a: 0, b: n };
    var bar = h('div', { 'class': 'toolbar' }, parent);
    var bAll = h('button', null, bar, 'All'), bIn = h('button', null, bar, 'Zoom in'), bOut = h('button', null, bar, 'Zoom out');
    var bPrev = h('button', null, bar, '\u25c0 Page'), bNext = h('button', null, bar, 'Page \u25b6');
    var info = h('span', { 'class': 'note' }, bar);
    var nav = svgRoot(parent, 54);
    nav.setAttribute('id', 'navigator');
    var svg = svgRoot(parent, 640);
    svg.setAttribute('id', 'timechart');
    var L = 70, R = 12;
    var panes = [{ name: 'Price', top: 8, h: 300 }, { name: 'Equity', top: 330, h: 180 }, { name: 'Drawdown', top: 530, h: 90 }];
    var groups = [], g = 1;
    function aggregate(a, b, maxPts) {
      g = Math.max(1, Math.ceil((b - a) / maxPts));
      var out = [];
      for (var i = a; i < b; i += g) {
        var e = Math.min(b, i + g), q = { i0: i, i1: e, t: S.t[i], o: S.o[i], c: S.c[e - 1], h: -Infinity, l: Infinity, eh: -Infinity, el: Infinity, ec: S.ec[e - 1], dd: 0 };
        for (var j = i; j < e; j++) {
          if (S.h[j] > q.h) q.h = S.h[j];
          if (S.l[j] < q.l) q.l = S.l[j];
          if (S.eh[j] > q.eh) q.eh = S.eh[j];
          if (S.el[j] < q.el) q.el = S.el[j];
          if (S.dd[j] > q.dd) q.dd = S.dd[j];
        }
        out.push(q);
      }
      return out;
    }
    function range(key1, key2) {
      var lo = Infinity, hi = -Infinity;
      groups.forEach(function (q) { if (q[key1] < lo) lo = q[key1]; if (q[key2] > hi) hi = q[key2]; });
      if (hi === lo) { hi += 1; lo -= 1; }
      var p = (hi - lo) * 0.05;
      return [lo - p, hi + p];
    }
    function drawNav() {
      nav.textContent = '';
      var ov = aggregate(0, n, 400), st = (W - L - R) / ov.length;
      var lo = Infinity, hi = -Infinity;
      ov.forEach(function (q) { if (q.el < lo) lo = q.el; if (q.eh > hi) hi = q.eh; });
      if (hi === lo) hi = lo + 1;
      var pts = ov.map(function (q, k) { return (L + (k + 0.5) * st).toFixed(1) + ',' + (4 + (1 - (q.ec - lo) / (hi - lo)) * 44).toFixed(1); });
      s('rect', { x: L, y: 2, width: W - L - R, height: 48, fill: '#f8fafc', stroke: '#e4e7ec' }, nav);
      s('polyline', { points: pts.join(' '), fill: 'none', stroke: '#2563eb', 'stroke-width': 1 }, nav);
      s('text', { x: L - 6, y: 30, 'text-anchor': 'end' }, nav, 'overview');
      var x0 = L + view.a / n * (W - L - R), x1 = L + view.b / n * (W - L - R);
      s('rect', { x: x0, y: 2, width: Math.max(2, x1 - x0), height: 48, fill: '#2563eb', 'fill-opacity': 0.12, stroke: '#2563eb' }, nav);
      aggregate(view.a, view.b, (W - L - R) / 2);  // restores g for the main chart below
    }
    function draw() {
      svg.textContent = '';
      var plotW = W - L - R;
      groups = aggregate(view.a, view.b, Math.floor(plotW / 2));
      var step = plotW / groups.length;
      function X(k) { return L + (k + 0.5) * step; }
      var pr = range('l', 'h'), er = range('el', 'eh');
      if (isNum(initialCash)) { er[0] = Math.min(er[0], initialCash); er[1] = Math.max(er[1], initialCash); }
      var ddMax = 0; groups.forEach(function (q) { if (q.dd > ddMax) ddMax = q.dd; });
      if (ddMax === 0) ddMax = 0.01;
      function Yp(v) { return panes[0].top + (1 - (v - pr[0]) / (pr[1] - pr[0])) * panes[0].h; }
      function Ye(v) { return panes[1].top + (1 - (v - er[0]) / (er[1] - er[0])) * panes[1].h; }
      function Yd(v) { return panes[2].top + v / ddMax * panes[2].h; }
      var ax = s('g', { 'class': 'axis' }, svg);
      [[pr, Yp, panes[0]], [er, Ye, panes[1]]].forEach(function (p) {
        niceTicks(p[0][0], p[0][1], 5).forEach(function (v) {
          s('line', { x1: L, x2: W - R, y1: p[1](v), y2: p[1](v) }, ax);
          s('text', { x: L - 6, y: p[1](v) + 4, 'text-anchor': 'end' }, ax, tickText(v));
        });
        s('text', { x: L + 4, y: p[2].top + 12, fill: '#344054' }, ax, p[2].name);
      });
      niceTicks(0, ddMax, 3).forEach(function (v) {
        s('line', { x1: L, x2: W - R, y1: Yd(v), y2: Yd(v) }, ax);
        s('text', { x: L - 6, y: Yd(v) + 4, 'text-anchor': 'end' }, ax, v === 0 ? '0%' : '-' + (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%');
      });
      s('text', { x: L + 4, y: panes[2].top + panes[2].h - 4, fill: '#344054' }, ax, 'Drawdown');
      var xt = Math.min(8, groups.length);
      for (var k = 0; k < xt; k++) {
        var gi = Math.floor((k + 0.5) * groups.length / xt);
        s('text', { x: X(gi), y: 636, 'text-anchor': 'middle' }, ax, date(groups[gi].t, dateOnly));
      }
      // price
      if (groups.length <= 240) {
        groups.forEach(function (q, k) {
          var up = q.c >= q.o, color = up ? '#12a150' : '#d92d20', bw = Math.max(1, step * 0.7);
          s('line', { x1: X(k), x2: X(k), y1: Yp(q.h), y2: Yp(q.l), stroke: color }, svg);
          s('rect', { x: X(k) - bw / 2, y: Yp(Math.max(q.o, q.c)), width: bw, height: Math.max(1, Math.abs(Yp(q.o) - Yp(q.c))), fill: color }, svg);
        });
      } else {
        var up = [], dn = [], cl = [];
        groups.forEach(function (q, k) {
          up.push(X(k).toFixed(1) + ',' + Yp(q.h).toFixed(1));
          dn.push(X(k).toFixed(1) + ',' + Yp(q.l).toFixed(1));
          cl.push(X(k).toFixed(1) + ',' + Yp(q.c).toFixed(1));
        });
        s('polygon', { points: up.concat(dn.reverse()).join(' '), fill: '#2563eb', 'fill-opacity': 0.15 }, svg);
        s('polyline', { points: cl.join(' '), fill: 'none', stroke: '#2563eb', 'stroke-width': 1 }, svg);
      }
      // equity
      var eu = [], ed = [], ec = [], dd = [];
      groups.forEach(function (q, k) {
        eu.push(X(k).toFixed(1) + ',' + Ye(q.eh).toFixed(1));
        ed.push(X(k).toFixed(1) + ',' + Ye(q.el).toFixed(1));
        ec.push(X(k).toFixed(1) + ',' + Ye(q.ec).toFixed(1));
        dd.push(X(k).toFixed(1) + ',' + Yd(q.dd).toFixed(1));
      });
      if (isNum(initialCash)) s('line', { x1: L, x2: W - R, y1: Ye(initialCash), y2: Ye(initialCash), stroke: '#98a2b3', 'stroke-dasharray': '4 3' }, svg);
      s('polygon', { points: eu.concat(ed.slice().reverse()).join(' '), fill: '#7a5af8', 'fill-opacity': 0.18 }, svg);
      s('polyline', { points: ec.join(' '), fill: 'none', stroke: '#7a5af8', 'stroke-width': 1.5 }, svg);
      s('polygon', { points: (X(0).toFixed(1) + ',' + Yd(0)) + ' ' + dd.join(' ') + ' ' + (X(groups.length - 1).toFixed(1) + ',' + Yd(0)), fill: '#d92d20', 'fill-opacity': 0.35, stroke: '#d92d20', 'stroke-width': 0.8 }, svg);
      // trade markers
      var tEnd = view.b < n ? S.t[view.b] : Infinity, tBeg = S.t[view.a];
      var vis = trades.filter(function (t) { return t[2] >= tBeg && t[2] < tEnd; });
      var marks = s('g', { id: 'trade-markers' }, svg);
      if (vis.length <= 400) {
        vis.forEach(function (t) {
          var kE = Math.floor((Math.max(view.a, lowerBound(S.t, t[2])) - view.a) / g);
          var xE = X(kE), yE = Yp(t[3]), long = t[1] > 0;
          var title = '#' + t[0] + ' ' + (long ? 'long' : 'short') + '  qty ' + t[6] + '\nentry ' + date(t[2], dateOnly) + ' @ ' + t[3];
          if (isNum(t[4])) {
            var kX = Math.floor((Math.min(view.b - 1, Math.max(view.a, lowerBound(S.t, t[4]))) - view.a) / g);
            var xX = X(kX), yX = Yp(t[5]);
            title += '\nexit  ' + date(t[4], dateOnly) + ' @ ' + t[5] + '  (' + t[10] + ')\npnl ' + num(t[7], 2) + '  (' + pct(t[8]) + ')';
            s('line', { x1: xE, y1: yE, x2: xX, y2: yX, stroke: t[7] >= 0 ? '#12a150' : '#d92d20', 'stroke-dasharray': '3 2', 'stroke-width': 1 }, marks);
            var ex = s('circle', { cx: xX, cy: yX, r: 3.5, fill: '#fff', stroke: '#111827', 'stroke-width': 1.2, 'class': 'exit' }, marks);
            s('title', null, ex, title);
          } else {
            title += '\nstill open at the end';
          }
          var p = long ? 'M' + xE + ',' + (yE + 2) + ' l-5,8 l10,0 z' : 'M' + xE + ',' + (yE - 2) + ' l-5,-8 l10,0 z';
          var m = s('path', { d: p, fill: long ? '#12a150' : '#d92d20', 'class': 'entry' }, marks);
          s('title', null, m, title);
        });
      }
      info.textContent = date(S.t[view.a], dateOnly) + ' \u2026 ' + date(S.t[view.b - 1], dateOnly) + '   ' +
        (g * D.bucket > 1 ? '(' + g * D.bucket + ' bars per point; high/low envelopes) ' : '(one bar per point) ') +
        vis.length + ' trades in view' + (vis.length > 400 ? ': zoom in to see their markers' : '');
      drawNav();
    }
    function setView(a, b) {
      var span = Math.max(Math.min(n, 20), b - a);
      a = Math.round(a); b = Math.round(a + span);
      if (a < 0) { b -= a; a = 0; }
      if (b > n) { a -= b - n; b = n; }
      view.a = Math.max(0, a); view.b = Math.min(n, b);
      draw();
    }
    function zoom(f, center) {
      var c = center === undefined ? (view.a + view.b) / 2 : center, span = (view.b - view.a) * f;
      setView(c - (c - view.a) * f, c - (c - view.a) * f + span);
    }
    bAll.addEventListener('click', function () { setView(0, n); });
    bIn.addEventListener('click', function () { zoom(0.5); });
    bOut.addEventListener('click', function () { zoom(2); });
    bPrev.addEventListener('click', function () { var sp = view.b - view.a; setView(view.a - sp, view.a); });
    bNext.addEventListener('click', function () { var sp = view.b - view.a; setView(view.b, view.b + sp); });
    function bucketAt(x) {
      var k = Math.floor((x - L) / ((W - L - R) / groups.length));
      return Math.max(0, Math.min(groups.length - 1, k));
    }
    svg.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      var q = groups[bucketAt(svgX(svg, ev))];
      zoom(ev.deltaY < 0 ? 0.8 : 1.25, q ? q.i0 : undefined);
    }, { passive: false });
    var drag = null;
    svg.addEventListener('mousedown', function (ev) { drag = { x: svgX(svg, ev), a: view.a, b: view.b }; });
    window.addEventListener('mouseup', function () { drag = null; });
    svg.addEventListener('mousemove', function (ev) {
      var x = svgX(svg, ev);
      if (drag) {
        var shift = (drag.x - x) / (W - L - R) * (drag.b - drag.a);
        setView(drag.a + shift, drag.b + shift);
        return;
      }
      if (x < L || x > W - R || !groups.length) { hideTip(); return; }
      var q = groups[bucketAt(x)];
      var lines = [date(q.t, dateOnly) + (q.i1 - q.i0 > 1 || D.bucket > 1 ? ' \u2026 ' + date(S.t[q.i1 - 1], dateOnly) : '')];
      lines.push('open ' + q.o + '  high ' + q.h + '  low ' + q.l + '  close ' + q.c);
      lines.push('equity ' + num(q.ec, 2) + (q.el !== q.eh ? '  (min ' + num(q.el, 2) + ', max ' + num(q.eh, 2) + ')' : ''));
      lines.push('drawdown ' + pct(-q.dd));
      showTip(ev, lines.join('\n'));
    });
    svg.addEventListener('mouseleave', hideTip);
    var navDrag = null;
    function navIndex(ev) { return Math.max(0, Math.min(n, (svgX(nav, ev) - L) / (W - L - R) * n)); }
    nav.addEventListener('mousedown', function (ev) { navDrag = navIndex(ev); });
    nav.addEventListener('mouseup', function (ev) {
      if (navDrag === null) return;
      var b = navIndex(ev), a = navDrag;
      navDrag = null;
      if (Math.abs(b - a) < n / 400) { var sp = view.b - view.a; setView(a - sp / 2, a + sp / 2); }
      else setView(Math.min(a, b), Math.max(a, b));
    });
    svg.addEventListener('dblclick', function () { setView(0, n); });
    draw();
  }

  function monthlyTable(parent, monthly) {
    var years = {}, list = [];
    monthly.forEach(function (m) { if (!years[m[0]]) { years[m[0]] = new Array(12).fill(null); list.push(m[0]); } years[m[0]][m[1] - 1] = m[2]; });
    var maxAbs = 0;
    monthly.forEach(function (m) { if (isNum(m[2])) maxAbs = Math.max(maxAbs, Math.abs(m[2])); });
    var tbl = h('table', { 'class': 'heat', id: 'monthly-table' }, parent);
    var hr = h('tr', null, h('thead', null, tbl));
    ['Year', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec', 'Year'].forEach(function (x) { h('th', null, hr, x); });
    var body = h('tbody', null, tbl);
    list.forEach(function (y) {
      var r = h('tr', null, body), total = 1, any = false;
      h('td', null, r, String(y));
      years[y].forEach(function (v) {
        var td = h('td', null, r, isNum(v) ? (Math.abs(v) < 0.0005 ? '0.0' : (v * 100).toFixed(1)) : '');
        td.style.background = heatColor(v, maxAbs);
        if (isNum(v)) { total *= 1 + v; any = true; }
      });
      var tt = h('td', null, r, any ? ((total - 1) * 100).toFixed(1) : '');
      tt.style.fontWeight = '600';
      tt.style.background = heatColor(any ? total - 1 : null, maxAbs * 3);
    });
    h('p', { 'class': 'note' }, parent, 'Returns in % of equity per calendar month (UTC); the last column compounds the year.');
  }

  function tradeColumns(dateOnly) {
    return [
      { name: '#' }, { name: 'side', fmt: function (v) { return v > 0 ? 'long' : 'short'; } },
      { name: 'entry', fmt: function (v) { return date(v, dateOnly); } }, { name: 'entry price' },
      { name: 'exit', fmt: function (v) { return v === null ? 'open' : date(v, dateOnly); } }, { name: 'exit price', fmt: function (v) { return v === null ? '' : String(v); } },
      { name: 'qty' }, { name: 'pnl net', fmt: function (v) { return num(v, 2); }, cls: signCls },
      { name: 'return', fmt: function (v) { return pct(v); }, cls: signCls }, { name: 'bars' }, { name: 'exit reason' }];
  }

  // "Orders, risk and faults": every order with its lifecycle, rejections
  // with their reasons, risk decisions, StormGuard and kill-switch events, and
  // the strategy's callback errors (report.json "activity" has the same rows).
  function activitySection(A) {
    var sec = section('activity', 'Orders, risk and faults',
      'Every order the strategy sent and what became of it; every refusal with its reason and source ' +
      '(exchange: the simulated venue; risk: a pre-trade check; runner: an intent that never became an order).');
    if (!A) { h('p', { 'class': 'note' }, sec, 'Not recorded for this run.'); return; }
    var byStatus = {};
    A.orders.forEach(function (o) { byStatus[o.status] = (byStatus[o.status] || 0) + 1; });
    var bySource = { exchange: 0, risk: 0, runner: 0 };
    A.rejections.forEach(function (r) { bySource[r.source] = (bySource[r.source] || 0) + 1; });
    var kinds = { denied: 0, scaled: 0, stormguard: 0, kill_switch: 0 };
    A.risk_events.forEach(function (e) { kinds[e.kind] = (kinds[e.kind] || 0) + 1; });
    var fatal = A.strategy_errors.filter(function (e) { return e.fatal; }).length;
    var pairs = [
      ['Orders', String(A.orders_total)],
      ['Filled', String(byStatus.filled || 0)],
      ['Cancelled', String(byStatus.cancelled || 0)],
      ['Expired', String(byStatus.expired || 0)],
      ['Rejected', String(byStatus.rejected || 0)],
      ['Working at the end', String((byStatus.accepted || 0) + (byStatus.partially_filled || 0) + (byStatus.submitted || 0))],
      ['Rejections (exchange / risk / runner)', bySource.exchange + ' / ' + bySource.risk + ' / ' + bySource.runner],
      ['Risk checks passed', String(A.risk_approved)],
      ['Risk denials / scaled', kinds.denied + ' / ' + kinds.scaled],
      ['StormGuard changes', String(kinds.stormguard)],
      ['Kill switch events', String(kinds.kill_switch)],
      ['Strategy errors (fatal)', A.strategy_errors.length + ' (' + fatal + ')']];
    var g = kvGrid(sec, pairs);
    g.id = 'activity-summary';
    var dropped = A.orders_dropped + A.rejections_dropped + A.risk_events_dropped + A.strategy_errors_dropped;
    if (dropped) h('p', { 'class': 'bad' }, sec, dropped + ' rows beyond the report\'s limit are counted but not listed.');
    function sub(title, id, cols, rows, empty) {
      var d = h('div', { id: id }, sec);
      h('h3', null, d, title + ' (' + rows.length + ')');
      if (!rows.length) { h('p', { 'class': 'note' }, d, empty); return; }
      table(d, cols, rows, 25);
    }
    function text(v) { return v === null || v === undefined ? '' : String(v); }
    function lifecycle(steps) {
      return steps.map(function (st) {
        var x = st[1];
        if (st[1] === 'filled' || st[1] === 'partially_filled') x += ' ' + st[2] + ' @ ' + st[3];
        else if (st[1] === 'amended' && st[3] !== null) x += ' to ' + st[3];
        if (st[4]) x += ' (' + st[4] + ')';
        return x;
      }).join(' \u2192 ');
    }
    sub('Orders', 'orders-table', [{ name: '#' }, { name: 'submitted' }, { name: 'side' }, { name: 'type' }, { name: 'purpose' },
      { name: 'qty' }, { name: 'limit', fmt: text }, { name: 'stop', fmt: text }, { name: 'status' }, { name: 'filled' },
      { name: 'avg price', fmt: text }, { name: 'commission', fmt: function (v) { return num(v, 2); } }, { name: 'closed', fmt: text },
      { name: 'reason' }, { name: 'tag' }, { name: 'lifecycle', cls: function () { return 'left'; } }],
      A.orders.map(function (o) {
        return [o.id, o.submitted, o.side, o.type, o.purpose, o.qty, o.limit_price, o.stop_price, o.status, o.filled_qty,
          o.avg_fill_price, o.commission, o.closed, o.reason, o.tag, lifecycle(o.steps)];
      }), 'The strategy sent no order.');
    sub('Rejections', 'rejections-table', [{ name: 'time' }, { name: 'source' }, { name: 'code' }, { name: 'order', fmt: text },
      { name: 'side', fmt: text }, { name: 'purpose', fmt: text }, { name: 'qty', fmt: text }, { name: 'message', cls: function () { return 'left'; } }],
      A.rejections.map(function (r) { return [r.time, r.source, r.code, r.order, r.side, r.purpose, r.qty, r.message]; }),
      'Nothing was refused.');
    sub('Risk decisions, StormGuard and kill switch', 'risk-table', [{ name: 'time' }, { name: 'kind' }, { name: 'code' },
      { name: 'state' }, { name: 'requested', fmt: text }, { name: 'approved', fmt: text }, { name: 'message', cls: function () { return 'left'; } }],
      A.risk_events.map(function (e) { return [e.time, e.kind, e.code, e.state, e.requested_qty, e.approved_qty, e.message]; }),
      A.risk_approved ? 'Every risk check passed unchanged.' : 'No risk engine ran (no [risk] section or kill switch flag).');
    sub('Strategy errors', 'errors-table', [{ name: 'time', fmt: text }, { name: 'callback' }, { name: 'in a row' },
      { name: 'fatal', fmt: function (v) { return v ? 'yes' : 'no'; }, cls: function (v) { return v ? 'neg' : ''; } },
      { name: 'message', cls: function () { return 'left'; } }],
      A.strategy_errors.map(function (e) { return [e.time, e.callback, e.consecutive, e.fatal, e.message]; }),
      'No callback raised an error.');
  }

  // ------------------------------------------------------------------ pages
  function renderBacktest() {
    var m = section('metrics', 'Summary');
    kvGrid(m, D.metrics);
    if (D.fault) h('p', { 'class': 'bad' }, m, 'The strategy faulted: ' + D.fault);
    if (D.symbols && D.symbols.length > 1) {
      var sy = section('symbols', 'By symbol');
      table(sy, [{ name: 'symbol' }, { name: 'trades' }, { name: 'open' }, { name: 'net pnl', fmt: function (v) { return num(v, 2); }, cls: signCls },
        { name: 'win rate', fmt: function (v) { return pct(v); } }, { name: 'profit factor', fmt: function (v) { return num(v, 3); } }, { name: 'avg trade', fmt: function (v) { return num(v, 2); } },
        { name: 'commission', fmt: function (v) { return num(v, 2); } }], D.symbols, 50);
    }
    var c = section('charts', 'Price, equity and drawdown',
      'Wheel or buttons to zoom, drag to pan, drag on the overview to pick a range, double-click to reset. ' +
      'Triangles mark entries (green long, red short), circles exits; hover for exact prices.');
    timeChart(c, D.series, D.trades, D.date_only, D.initial_cash);
    var mo = section('monthly', 'Monthly returns');
    monthlyTable(mo, D.monthly);
    var di = section('distribution', 'Distribution of trade returns');
    var rets = D.trades.filter(function (t) { return t[4] !== null; }).map(function (t) { return t[8]; });
    var mean = rets.length ? rets.reduce(function (a, b) { return a + b; }, 0) / rets.length : NaN;
    histogram(di, rets, { xfmt: function (x) { return (x * 100).toFixed(1) + '%'; }, marks: [{ x: 0, label: '0' }, { x: mean, label: 'mean ' + pct(mean), color: '#2563eb' }] });
    h('p', { 'class': 'note' }, di, rets.length + ' closed trades; return = net pnl / entry value.');
    var tr = section('trades', 'Trades');
    table(tr, tradeColumns(D.date_only), D.trades, 50);    activitySection(D.activity);
  }

  function renderCompare() {
    var m = section('metrics', 'Key metrics');
    var cols = [{ name: 'metric' }].concat(D.runs.map(function (r) { return { name: r.name }; }));
    var rows = D.keys.map(function (k, i) { return [k].concat(D.runs.map(function (r) { return r.text[i]; })); });
    table(m, cols, rows, 100);
    var e = section('equity', 'Equity curves (growth of 1)', 'Each curve is equity divided by its initial cash.');
    lineChart(e, D.runs.map(function (r) { return { name: r.name, t: r.t, v: r.v }; }), { height: 360, baseline: 1, dateOnly: D.date_only });
    var d = section('drawdown', 'Drawdowns');
    lineChart(d, D.runs.map(function (r) { return { name: r.name, t: r.t, v: r.dd.map(function (x) { return -x; }) }; }),
      { height: 200, baseline: 0, yfmt: function (v) { return (v * 100).toFixed(1) + '%'; }, dateOnly: D.date_only });
  }

  function renderOptimize() {
    var s1 = section('summary', 'Search');
    kvGrid(s1, D.summary);
    var g = section('guards', 'Overfitting guards', D.guard_note);
    kvGrid(g, D.guards);
    if (D.pbo_logits && D.pbo_logits.length) {
      h('p', { 'class': 'note' }, g, 'Relative rank (logit) of the in-sample winner out of sample, over ' + D.pbo_logits.length +
        ' splits: mass left of 0 is the probability of backtest overfitting.');
      histogram(g, D.pbo_logits, { height: 180, marks: [{ x: 0, label: '0' }] });
    }
    var hm = section('stability', 'Parameter stability', 'Objective over pairs of parameters (best over the other parameters); the orange box is the chosen combination. A robust optimum sits on a plateau, not a lone peak.');
    if (!D.heatmaps.length) h('p', { 'class': 'note' }, hm, 'Needs at least two parameters with several values.');
    D.heatmaps.forEach(function (m) {
      h('h3', null, hm, m.y + ' \u00d7 ' + m.x);
      heatmap(hm, m.xs, m.ys, m.z, { xname: m.x, yname: m.y, what: D.objective, best: m.best });
    });
    var mg = section('marginals', 'Objective by parameter value', 'Best and mean objective over the valid combinations with that value.');
    D.marginals.forEach(function (m) {
      h('h3', null, mg, m.name);
      var t = m.values.map(function (_, i) { return i; });
      lineChart(mg, [{ name: 'best', t: t, v: m.best }, { name: 'mean', t: t, v: m.mean }],
        { height: 160, xticks: t, xfmt: function (i) { var k = Math.round(i); return k >= 0 && k < m.values.length ? String(m.values[k]) : ''; } });
    });
    if (D.best_equity) {
      var be = section('best-equity', 'Equity of the chosen combination');
      lineChart(be, [{ name: 'equity', t: D.best_equity.t, v: D.best_equity.v, lo: D.best_equity.lo, hi: D.best_equity.hi }], { height: 260, baseline: D.initial_cash, dateOnly: D.date_only });
    }
    var top = section('top', 'Best combinations');
    table(top, D.top_columns.map(function (c, i) {
      var f = D.top_formats[i];
      return { name: c, fmt: function (v) { return cellText(v, f); }, cls: f === 'pct' && /return/.test(c) ? signCls : undefined };
    }), D.top, 25);
  }

  function renderWalkForward() {
    var s1 = section('summary', 'Walk-forward');
    kvGrid(s1, D.summary);
    var e = section('oos-equity', 'Stitched out-of-sample equity', 'Each test window starts from the previous window\'s final equity; dotted lines mark window starts.');
    lineChart(e, [{ name: 'out of sample', t: D.oos.t, v: D.oos.v, lo: D.oos.lo, hi: D.oos.hi }], { height: 300, baseline: D.initial_cash, marks: D.window_starts, dateOnly: D.date_only });
    var w = section('windows', 'Windows');
    table(w, D.window_columns.map(function (c, i) { var f = D.window_formats[i]; return { name: c, fmt: function (v) { return cellText(v, f); } }; }), D.windows, 50);
    var c = section('is-oos', 'In-sample vs out-of-sample objective by window');
    var t = D.windows.map(function (_, i) { return i; });
    lineChart(c, [{ name: 'in sample', t: t, v: D.is_objective }, { name: 'out of sample', t: t, v: D.oos_objective }],
      { height: 200, baseline: 0, xticks: t, xfmt: function (i) { return 'window ' + (Math.round(i) + 1); } });
  }

  function renderMonteCarlo() {
    var s1 = section('summary', 'Monte Carlo');
    kvGrid(s1, D.summary);
    D.methods.forEach(function (m) {
      var sec = section('mc-' + m.id, m.title, m.note);
      table(sec, [{ name: 'percentile' }, { name: 'final equity', fmt: function (v) { return num(v, 2); } }, { name: 'total return', fmt: function (v) { return pct(v); } },
        { name: 'max drawdown', fmt: function (v) { return pct(v); } }], m.percentiles, 20);
      if (m.fan) lineChart(sec, m.fan, { height: 260, baseline: D.initial_cash, xfmt: function (x) { return m.xlabel + ' ' + Math.round(x); } });
      h('h3', null, sec, 'Final equity');
      var fe = m.final_equity;
      if (fe.length && fe[fe.length - 1] - fe[0] <= Math.abs(fe[0]) * 1e-9) h('p', { 'class': 'note' }, sec, 'Every simulation ends at ' + num(fe[0], 2) + '.');
      else histogram(sec, m.final_equity, { color: function (x) { return x >= D.initial_cash ? '#12a150' : '#d92d20'; }, marks: [{ x: D.observed_final, label: 'observed', color: '#2563eb' }] });
      h('h3', null, sec, 'Maximum drawdown');
      histogram(sec, m.max_drawdown, { color: function () { return '#d92d20'; }, xfmt: function (x) { return (x * 100).toFixed(1) + '%'; }, marks: [{ x: D.observed_max_drawdown, label: 'observed', color: '#2563eb' }] });
    });
  }

  var D = JSON.parse(document.getElementById('te-data').textContent);
  var renderers = { backtest: renderBacktest, compare: renderCompare, optimize: renderOptimize, walk_forward: renderWalkForward, monte_carlo: renderMonteCarlo };
  try {
    renderers[D.kind]();
  } catch (e) {
    errors.push(String((e && e.stack) || e));
  }
  var status = document.getElementById('te-status');
  status.setAttribute('data-errors', String(errors.length));
  status.setAttribute('data-sections', String(document.querySelectorAll('main > section').length));
  status.setAttribute('data-charts', String(charts));
  status.setAttribute('data-section-ids', Array.prototype.map.call(document.querySelectorAll('main > section'), function (x) { return x.id; }).join(' '));
  status.textContent = errors.join('\n');
  document.body.setAttribute('data-render', errors.length ? 'failed' : 'ok');
})();
