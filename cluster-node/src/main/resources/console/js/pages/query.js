// The query editor: results as a table with paging by continuation; GROUP BY results as a bar chart.
import * as api from '../api.js';
import { h, field, page, say, busy, table, barChart, errorText } from '../ui.js';

/** For GROUP BY rows: the label (the non-numeric columns) and the value (the first numeric one). */
export function chartBars(rows) {
  if (rows.length === 0) return [];
  const keys = Object.keys(rows[0]);
  const valueKey = keys.find((k) => rows.every((r) => typeof r[k] === 'number'));
  if (!valueKey) return [];
  return rows.map((r) => ({
    label: keys.filter((k) => k !== valueKey).map((k) => (r[k] === undefined || r[k] === null ? '(none)' : typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k])).join(' / ') || valueKey,
    value: r[valueKey],
  }));
}

export async function render() {
  const sql = h('textarea', { id: 'query-text', rows: 4, spellcheck: 'false', class: 'code' },
    'SELECT deviceId, status, connectionState, tags FROM devices');
  const size = h('input', { id: 'query-page-size', type: 'number', min: 1, max: 1000, value: 20 });
  const run = h('button', { type: 'submit', id: 'query-run' }, 'Run');
  const next = h('button', { type: 'button', id: 'query-next', disabled: true }, 'Next page');
  const prev = h('button', { type: 'button', id: 'query-prev', disabled: true }, 'Previous page');
  const out = h('div', { id: 'query-result', 'aria-live': 'polite' });
  const chart = h('div', { id: 'query-chart' });
  const examples = h('p', { class: 'hint' }, 'Examples: ',
    ["SELECT properties.reported.fw AS fw, COUNT() AS devices FROM devices GROUP BY properties.reported.fw",
      "SELECT status, COUNT() AS n FROM devices GROUP BY status",
      "SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent'"].map((q) => {
      const b = h('button', { type: 'button', class: 'link' }, q);
      b.addEventListener('click', () => { sql.value = q; sql.focus(); });
      return b;
    }));

  // tokens[i] is the continuation that fetches page i (tokens[0] = null: the first page).
  let tokens = [null];
  let index = 0;
  let text = '';

  async function fetchPage(i) {
    const r = await api.query(text, Number(size.value) || 20, tokens[i]);
    index = i;
    tokens = tokens.slice(0, i + 1);
    if (r.continuation) tokens.push(r.continuation);
    next.disabled = !r.continuation;
    prev.disabled = i === 0;
    const columns = [...new Set(r.items.flatMap((row) => (row && typeof row === 'object' ? Object.keys(row) : ['value'])))]
      .map((k) => ({ label: k, value: (row) => (row && typeof row === 'object' ? row[k] : row) }));
    out.replaceChildren(h('p', { class: 'muted', id: 'query-summary' },
      `Page ${i + 1}: ${r.items.length} row(s), ${r.continuation ? 'more follow' : 'last page'}`),
      table(columns, r.items, 'Query results'));
    const grouped = /\bGROUP\s+BY\b/i.test(text);
    const bars = grouped ? chartBars(r.items) : [];
    chart.replaceChildren(...(bars.length ? [h('h2', {}, 'Chart'), barChart('GROUP BY result', bars)] : []));
  }

  const form = h('form', { class: 'card', 'aria-label': 'Query' }, field('Query (IoT Hub query language)', sql), examples,
    h('div', { class: 'row' }, field('Page size', size), run, prev, next));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    text = sql.value;
    tokens = [null];
    busy(run, () => fetchPage(0));
  });
  // Ctrl/Cmd+Enter runs the query from the editor.
  sql.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });
  // Not busy(): it would re-enable the button that fetchPage just disabled on the last page.
  async function turn(i) {
    next.disabled = true;
    prev.disabled = true;
    try {
      await fetchPage(i);
    } catch (e) {
      say(errorText(e), 'error');
      next.disabled = tokens.length <= index + 1;
      prev.disabled = index === 0;
    }
  }
  next.addEventListener('click', () => turn(index + 1));
  prev.addEventListener('click', () => turn(index - 1));
  page('Query', form, chart, out);
}
