// Functions: apps (publish a JAR, delete), their functions with triggers (enable/disable), recent
// invocations and logs. A node without the functions API says so instead of showing an empty list.
import * as api from '../api.js';
import { h, field, page, say, busy, table, errorText, confirmAction } from '../ui.js';

const TOP = 20;

export async function render() {
  const out = h('div', { id: 'functions' });
  const detail = h('div', { id: 'function-app' });
  const file = h('input', { id: 'app-jar', type: 'file', accept: '.jar,application/java-archive' });
  const name = h('input', { id: 'app-name', autocomplete: 'off', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}' });
  const publish = h('button', { type: 'submit', id: 'app-publish' }, 'Publish');
  const form = h('form', { class: 'row card', 'aria-label': 'Publish a function app' },
    field('App name', name), field('Function app JAR (Azure Functions Java library)', file), publish);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(publish, async () => {
      if (!file.files[0]) throw new Error('choose a JAR first');
      const r = await api.putBytes(`/functions/apps/${api.enc(name.value.trim())}`, file.files[0], 'application/java-archive');
      say(`Published ${r.json.app} version ${r.json.version} (${r.json.functions.length} functions)`, 'ok');
      await load();
      await showApp(r.json.app);
    });
  });

  async function load() {
    const apps = (await api.get('/functions/apps')).json || [];
    out.replaceChildren(table([
      { label: 'App', value: (a) => {
        const b = h('button', { type: 'button', class: 'link', 'aria-label': `Show app ${a.app}` }, a.app);
        b.addEventListener('click', () => busy(b, () => showApp(a.app)));
        return b;
      } },
      { label: 'Version', value: (a) => a.version },
      { label: 'Published', value: (a) => a.published },
      { label: 'Functions', value: (a) => a.functions.map((f) => `${f.name} (${f.trigger})`).join(', ') },
    ], apps, 'Function apps'));
  }

  async function showApp(app) {
    const base = `/functions/apps/${api.enc(app)}`;
    const [info, invocations, logs] = await Promise.all([api.get(base), api.get(`${base}/invocations?top=${TOP}`), api.get(`${base}/logs?top=${TOP}`)]);
    const remove = h('button', { type: 'button', class: 'danger', id: 'app-delete' }, `Delete app ${app}`);
    remove.addEventListener('click', () => busy(remove, async () => {
      if (!confirmAction(`Delete function app ${app}? Its triggers stop.`)) return;
      await api.del(base);
      say(`App ${app} deleted`, 'ok');
      detail.replaceChildren();
      await load();
    }));
    const refresh = h('button', { type: 'button', id: 'app-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => busy(refresh, () => showApp(app)));
    detail.replaceChildren(
      h('h2', {}, `App ${app}, version ${info.json.version}`),
      h('div', { class: 'actions' }, refresh, remove),
      table([
        { label: 'Function', value: (f) => f.name },
        { label: 'Trigger', value: (f) => f.trigger + (f.route ? ` ${f.methods?.join('/') || ''} /${f.route} (${f.authLevel})` : '')
          + (f.eventHubName ? ` ${f.eventHubName} (${f.cardinality})` : '') + (f.schedule ? ` ${f.schedule}` : '') },
        { label: 'Entry point', value: (f) => h('code', {}, f.entryPoint) },
        { label: 'State', value: (f) => h('span', { class: `badge ${f.enabled ? 'enabled' : 'disabled'}`, dataset: { fn: f.name } }, f.enabled ? 'enabled' : 'disabled') },
        { label: 'Switch', value: (f) => {
          const b = h('button', { type: 'button', class: 'small', 'aria-label': `${f.enabled ? 'Disable' : 'Enable'} ${f.name}` }, f.enabled ? 'Disable' : 'Enable');
          b.addEventListener('click', () => busy(b, async () => {
            await api.post(`${base}/functions/${api.enc(f.name)}/${f.enabled ? 'disable' : 'enable'}`);
            await showApp(app);
          }));
          return b;
        } },
      ], info.json.functions || [], `Functions of ${app}`),
      h('h3', {}, 'Recent invocations'),
      table([
        { label: 'Started', value: (i) => i.startedAt },
        { label: 'Function', value: (i) => i.function },
        { label: 'Trigger', value: (i) => i.trigger },
        { label: 'Status', value: (i) => h('span', { class: `badge ${i.status}` }, i.status) },
        { label: 'Duration (ms)', value: (i) => i.durationMs },
        { label: 'Error', value: (i) => i.error || '' },
      ], invocations.json || [], `Last ${TOP} invocations`),
      h('h3', {}, 'Logs'),
      h('pre', { class: 'json', id: 'app-logs', tabindex: '0' },
        (logs.json || []).map((l) => `${l.function} ${l.status} ${l.invocationId}: ${l.line}`).join('\n') || '(no log lines)'));
  }

  page('Functions', form, out, detail);
  try {
    await load();
  } catch (e) {
    if (e.status !== 404) { out.replaceChildren(h('p', { class: 'error' }, errorText(e))); return; }
    form.hidden = true;
    out.replaceChildren(h('p', { id: 'functions-unavailable', class: 'notice' },
      'Not available on this node: the functions API (', h('code', {}, 'GET /functions/apps'),
      ') answers 404 here. Apps, functions and invocations appear on this page once the node serves them.'));
  }
}
