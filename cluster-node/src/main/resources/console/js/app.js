// The console's shell: sign-in, navigation by location hash, one page module at a time.
import * as api from './api.js';
import { parseConnectionString } from './sas.js';
import { h, field, page, say, clearStatus, errorText } from './ui.js';

const PAGES = {
  devices: () => import('./pages/devices.js'),
  device: () => import('./pages/devices.js'),
  twin: () => import('./pages/twin.js'),
  query: () => import('./pages/query.js'),
  live: () => import('./pages/live.js'),
  fleet: () => import('./pages/fleet.js'),
  edge: () => import('./pages/edge.js'),
  functions: () => import('./pages/functions.js'),
  cluster: () => import('./pages/cluster.js'),
};

let cleanup = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { name: parts[0] || 'devices', args: parts.slice(1).filter((p) => p !== '') };
}

async function show() {
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  clearStatus();
  if (!api.signedIn()) { signInPage(); return; }
  const { name, args } = route();
  for (const a of document.querySelectorAll('#nav a')) {
    const current = a.getAttribute('href') === `#/${name}` || (name === 'device' && a.getAttribute('href') === '#/devices');
    if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const load = PAGES[name];
  if (!load) { page('Not found', h('p', {}, `No page "${name}".`)); return; }
  try {
    const module = await load();
    const render = name === 'device' ? module.renderDevice : module.render;
    cleanup = (await render(args)) || null;
  } catch (e) {
    page('Error', h('p', { class: 'error' }, errorText(e)));
  }
}

function signInPage() {
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('who').textContent = '';
  const mode = h('fieldset', { class: 'mode' }, h('legend', {}, 'Sign in with'),
    h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'cs', checked: true }), ' a connection string'),
    h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'policy' }), ' a shared access policy'));
  const cs = h('textarea', { id: 'connection-string', rows: 3, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'HostName=…;SharedAccessKeyName=iothubowner;SharedAccessKey=…' });
  const host = h('input', { id: 'host-name', value: location.hostname, autocomplete: 'off' });
  const policy = h('input', { id: 'policy-name', value: 'iothubowner', autocomplete: 'off' });
  const key = h('input', { id: 'policy-key', type: 'password', autocomplete: 'off' });
  const csFields = h('div', {}, field('Connection string', cs, 'Printed by ./twinhub run ("owner"); kept in memory only.'));
  const policyFields = h('div', { hidden: true }, field('Host name', host, 'The hub host name tokens are scoped to'),
    field('Policy name', policy), field('Primary or secondary key', key));
  mode.addEventListener('change', () => {
    const policyMode = mode.querySelector('input:checked').value === 'policy';
    csFields.hidden = policyMode;
    policyFields.hidden = !policyMode;
  });
  const submit = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in');
  const form = h('form', { class: 'card narrow', 'aria-label': 'Sign in' }, mode, csFields, policyFields, submit,
    h('p', { class: 'hint' }, 'The console signs SAS tokens in this tab with WebCrypto and calls the hub\'s public REST API; ' +
      'nothing is stored, reloading the page signs you out.'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const credentials = mode.querySelector('input:checked').value === 'cs'
        ? parseConnectionString(cs.value)
        : { hostName: host.value.trim(), policy: policy.value.trim(), key: key.value.trim() };
      const who = await api.signIn(credentials);
      cs.value = '';
      key.value = '';
      document.getElementById('nav').hidden = false;
      document.getElementById('signout').hidden = false;
      document.getElementById('who').textContent = `${who.policy}@${who.hostName}`;
      say(`Signed in as ${who.policy}`, 'ok');
      if (!location.hash || location.hash === '#/') location.hash = '#/devices'; else show();
    } catch (e) {
      say(`Sign-in failed: ${errorText(e)}`, 'error');
    } finally {
      submit.disabled = false;
    }
  });
  page('Sign in', form);
}

document.getElementById('signout').addEventListener('click', () => {
  api.signOut();
  say('Signed out', 'ok');
  show();
});
window.addEventListener('hashchange', show);
show();
