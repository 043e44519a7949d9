// The twin editor: desired and tags as JSON with etag conflict handling, reported and $metadata
// views, the twin's history and a diff between two of its versions.
import * as api from '../api.js';
import { diff, isBookkeeping } from '../diff.js';
import { h, field, page, say, busy, table, jsonView, pretty, parseJson, errorText } from '../ui.js';

function strip(obj) {
  if (!obj || typeof obj !== 'object') return obj ?? {};
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (!k.startsWith('$')) out[k] = v;
  return out;
}

export async function render([deviceId, moduleId]) {
  if (!deviceId) return pickTwin();
  const base = `/twins/${api.enc(deviceId)}` + (moduleId ? `/modules/${api.enc(moduleId)}` : '');
  const title = moduleId ? `Twin ${deviceId}/${moduleId}` : `Twin ${deviceId}`;

  const editor = h('textarea', { id: 'twin-editor', rows: 16, spellcheck: 'false', class: 'code' });
  const etagLine = h('p', { class: 'muted', id: 'twin-etag' });
  const conflict = h('div', { id: 'twin-conflict', class: 'conflict', role: 'alert', tabindex: '-1', hidden: true });
  const save = h('button', { type: 'submit', id: 'twin-save' }, 'Save (replace tags and desired)');
  const reload = h('button', { type: 'button', id: 'twin-reload' }, 'Reload');
  const views = h('div', { class: 'columns', id: 'twin-views' });
  const history = h('section', { id: 'twin-history', 'aria-labelledby': 'history-h' });
  let current = null;

  function show(twin) {
    current = twin;
    editor.value = pretty({ tags: twin.tags || {}, properties: { desired: strip(twin.properties?.desired) } });
    etagLine.textContent = `etag ${twin.etag} · $version ${twin.version} · desired $version ${twin.properties?.desired?.$version}`;
    conflict.hidden = true;
    views.replaceChildren(
      jsonView('Reported properties', strip(twin.properties?.reported)),
      jsonView('$metadata (desired)', twin.properties?.desired?.$metadata || {}),
      jsonView('$metadata (reported)', twin.properties?.reported?.$metadata || {}));
  }

  async function load() {
    show((await api.get(base)).json);
  }

  const form = h('form', { class: 'card', 'aria-label': 'Desired properties and tags' },
    field('Tags and desired properties (JSON: {"tags": {...}, "properties": {"desired": {...}}})', editor),
    etagLine, conflict, h('div', { class: 'actions' }, save, reload));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(save, async () => {
      const body = parseJson(editor.value, 'The twin');
      try {
        const r = await api.put(base, body, { 'If-Match': `"${current.etag}"` });
        show(r.json);
        say(`Saved: $version ${r.json.version}`, 'ok');
        loadHistory();
      } catch (e) {
        if (e.status !== 412) throw e;
        conflict.replaceChildren(
          h('strong', {}, 'Conflict: the twin changed since you loaded it. '),
          `Your save was refused (412 PreconditionFailed, etag ${current.etag} is stale). `,
          'Reload to see the current twin, then apply your change again; your text stays in the editor until you reload.');
        conflict.hidden = false;
        conflict.focus?.();
        say('Conflict: the twin changed since you loaded it', 'error');
      }
    });
  });
  reload.addEventListener('click', () => busy(reload, async () => {
    await load();
    await loadHistory();
  }));

  async function loadHistory() {
    const r = await api.get(`${base}/history?top=100`);
    const changes = r.json.changes || [];
    const versions = changes.map((c) => c.$version);
    const from = h('select', { id: 'diff-from' }, versions.map((v) => h('option', { value: v }, `$version ${v}`)));
    const to = h('select', { id: 'diff-to' }, versions.map((v) => h('option', { value: v }, `$version ${v}`)));
    if (versions.length > 1) from.value = String(versions[versions.length - 2]);
    if (versions.length > 0) to.value = String(versions[versions.length - 1]);
    const out = h('div', { id: 'diff-result', 'aria-live': 'polite' });
    const compare = h('button', { type: 'submit', id: 'diff-go' }, 'Compare');
    const diffForm = h('form', { class: 'row', 'aria-label': 'Compare two versions' },
      field('From', from), field('To', to), compare);
    diffForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(compare, async () => {
        const [a, b] = await Promise.all([from.value, to.value].map((v) => api.get(`${base}?asOfVersion=${v}`)));
        const changes = diff(a.json, b.json, isBookkeeping);
        out.replaceChildren(table([
          { label: 'Path', value: (c) => h('code', {}, c.path) },
          { label: 'Change', value: (c) => h('span', { class: `badge ${c.kind}` }, c.kind) },
          { label: `$version ${from.value}`, value: (c) => (c.kind === 'added' ? '' : JSON.stringify(c.before)) },
          { label: `$version ${to.value}`, value: (c) => (c.kind === 'removed' ? '' : JSON.stringify(c.after)) },
        ], changes, `Differences between $version ${from.value} and ${to.value}`));
      });
    });
    history.replaceChildren(h('h2', { id: 'history-h' }, 'History'),
      table([
        { label: '$version', value: (c) => c.$version },
        { label: 'Time', value: (c) => c.time },
        { label: 'Operation', value: (c) => c.opType },
        { label: 'Source', value: (c) => c.source + (c.by ? ` (${c.by})` : '') + (c.jobId ? ` job ${c.jobId}` : '') },
        { label: 'Patch', value: (c) => h('code', { class: 'clip' }, JSON.stringify(strip(c.patch?.properties?.desired ?? c.patch))) },
      ], changes.slice().reverse(), r.json.next ? 'First 100 changes' : 'Changes, newest first'),
      h('h3', {}, 'Diff between versions'), diffForm, out);
  }

  page(title, h('p', {}, h('a', { href: `#/device/${encodeURIComponent(deviceId)}` }, `Identity of ${deviceId}`)),
    form, views, history);
  try {
    await load();
  } catch (e) {
    form.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    return;
  }
  loadHistory().catch((e) => history.replaceChildren(h('p', { class: 'error' }, `History: ${errorText(e)}`)));
}

function pickTwin() {
  const id = h('input', { id: 'twin-device-id', required: true, autocomplete: 'off' });
  const mid = h('input', { id: 'twin-module-id', autocomplete: 'off' });
  const go = h('button', { type: 'submit' }, 'Open twin');
  const form = h('form', { class: 'row card', 'aria-label': 'Open a twin' }, field('Device id', id), field('Module id (optional)', mid), go);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/twin/${encodeURIComponent(id.value.trim())}` + (mid.value.trim() ? `/${encodeURIComponent(mid.value.trim())}` : '');
  });
  page('Twin', form);
}
