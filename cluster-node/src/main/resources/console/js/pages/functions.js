// Functions: apps, functions, invocations, when the node serves a functions API. The console only
// uses public endpoints; on a node without them it says so instead of pretending.
import * as api from '../api.js';
import { h, page, jsonView, errorText } from '../ui.js';

const PROBES = ['/functions/apps', '/functions'];

export async function render() {
  const out = h('div', { id: 'functions' });
  page('Functions', out);
  for (const path of PROBES) {
    try {
      const r = await api.get(path);
      out.replaceChildren(h('p', {}, `The functions API answers at ${path}.`), jsonView('Apps', r.json ?? r.text));
      return;
    } catch (e) {
      if (e.status !== 404) {
        out.replaceChildren(h('p', { class: 'error' }, `${path}: ${errorText(e)}`));
        return;
      }
    }
  }
  out.replaceChildren(h('p', { id: 'functions-unavailable', class: 'notice' },
    'Not available on this node: the functions API (', h('code', {}, PROBES.join(', ')),
    ') answers 404 here. Apps, functions and invocations appear on this page once the node serves them.'));
}
