// Small DOM helpers: no framework, every element built with h() so text is never parsed as HTML.

/** h('button', {type: 'button', onclick}, 'text', child...) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

let fieldIds = 0;
/** A labelled form control: field('Device id', h('input', {...})) → a label/input pair with matching ids. */
export function field(label, control, hint) {
  const id = control.id || `f${++fieldIds}`;
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/** Replaces the page content, sets the title and moves focus to the heading. */
export function page(title, ...children) {
  const main = document.getElementById('main');
  main.replaceChildren(h('h1', { tabindex: '-1' }, title), ...children);
  document.title = `${title} · twinhub console`;
  main.querySelector('h1').focus();
  return main;
}

let statusTimer = null;
/** A message in the live region (kind: info | ok | error). */
export function say(text, kind = 'info') {
  const el = document.getElementById('status');
  el.className = `status ${kind}`;
  el.textContent = text;
  clearTimeout(statusTimer);
  if (kind !== 'error') statusTimer = setTimeout(() => { el.textContent = ''; el.className = 'status'; }, 6000);
}

/** Empties the status line (a new page starts without the last page's message). */
export function clearStatus() {
  const el = document.getElementById('status');
  el.className = 'status';
  el.textContent = '';
}

export function errorText(e) {
  return e && e.code ? `${e.code}: ${e.message}` : String(e && e.message || e);
}

/** Runs an async action with its button disabled; errors go to the status line. */
export async function busy(button, action) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (e) {
    say(errorText(e), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** A table of rows with columns [{label, value: row => text|Node}]. */
export function table(columns, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'nothing'))
      : rows.map((r) => h('tr', {}, columns.map((c) => h('td', {}, cell(c.value(r)))))))));
}

function cell(v) {
  if (v instanceof Node) return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function pretty(json) {
  return JSON.stringify(json, null, 2);
}

/** A read-only JSON block with a label. */
export function jsonView(label, json) {
  const id = `j${++fieldIds}`;
  return h('section', { class: 'json', 'aria-labelledby': id }, h('h3', { id }, label),
    h('pre', { tabindex: '0' }, pretty(json)));
}

/** A horizontal bar chart (SVG) of [{label, value}]. */
export function barChart(title, bars) {
  const width = 560, row = 26, left = 170, pad = 8;
  const max = Math.max(1, ...bars.map((b) => Number(b.value) || 0));
  const height = bars.length * row + pad * 2;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': title, class: 'chart' },
    s('title', {}, title),
    bars.map((b, i) => {
      const w = Math.max(1, ((Number(b.value) || 0) / max) * (width - left - 60));
      const y = pad + i * row;
      return s('g', {},
        s('text', { x: left - 6, y: y + 17, 'text-anchor': 'end', class: 'chart-label' }, truncate(String(b.label), 24)),
        s('rect', { x: left, y: y + 4, width: w, height: row - 8, class: 'chart-bar' }),
        s('text', { x: left + w + 6, y: y + 17, class: 'chart-value' }, String(b.value)));
    }));
  return svg;
}

/** A line chart (SVG) of series [{label, points: [[t, v], ...]}]. */
export function lineChart(title, series, unit = '') {
  const width = 560, height = 180, left = 48, bottom = 20, top = 10;
  const all = series.flatMap((x) => x.points);
  const t0 = Math.min(...all.map((p) => p[0]), Date.now()), t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const vmax = Math.max(1, ...all.map((p) => p[1]));
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - 10);
  const y = (v) => top + (1 - v / vmax) * (height - top - bottom);
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': title, class: 'chart' },
    s('title', {}, title),
    s('line', { x1: left, y1: y(0), x2: width - 10, y2: y(0), class: 'chart-axis' }),
    s('text', { x: left - 4, y: top + 8, 'text-anchor': 'end', class: 'chart-label' }, `${round(vmax)}${unit}`),
    s('text', { x: left - 4, y: y(0), 'text-anchor': 'end', class: 'chart-label' }, `0`),
    series.map((ser, i) => s('polyline', {
      class: `chart-line c${i % 4}`, fill: 'none',
      points: ser.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' '),
    })),
    series.map((ser, i) => s('text', { x: left + 8 + i * 130, y: height - 4, class: `chart-legend c${i % 4}` }, ser.label)));
}

function round(v) {
  return v >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

function truncate(text, n) {
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

/** Parses JSON from a textarea, saying where it fails. */
export function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
}

/** A confirm dialog that is keyboard friendly (native). */
export function confirmAction(text) {
  return window.confirm(text);
}
