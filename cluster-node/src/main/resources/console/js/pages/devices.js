// Devices and modules: search by the query language, create, enable/disable, delete, keys.
import * as api from '../api.js';
import { h, field, page, say, busy, table, errorText, confirmAction } from '../ui.js';

const PAGE_SIZE = 50;

export async function render() {
  const condition = h('input', { id: 'device-search', type: 'search', size: 60, autocomplete: 'off',
    placeholder: "tags.site = 'plant-7' AND status = 'enabled'" });
  const results = h('div', { id: 'device-results' });
  const more = h('button', { type: 'button', id: 'device-more', hidden: true }, 'Next page');
  let continuation = null;
  let sql = '';

  async function search(next) {
    const text = condition.value.trim();
    if (!next) {
      sql = 'SELECT * FROM devices' + (text ? ` WHERE ${text}` : '');
      continuation = null;
    }
    const r = await api.query(sql, PAGE_SIZE, next ? continuation : null);
    continuation = r.continuation;
    more.hidden = !continuation;
    results.replaceChildren(deviceTable(r.items), h('p', { class: 'muted' },
      `${r.items.length} device(s)${continuation ? ', more on the next page' : ''} · ${sql}`));
  }

  const searchButton = h('button', { type: 'submit', id: 'device-search-go' }, 'Search');
  const searchForm = h('form', { class: 'row', role: 'search', 'aria-label': 'Search devices' },
    field('Condition (WHERE of the query language, empty for all)', condition), searchButton);
  searchForm.addEventListener('submit', (ev) => { ev.preventDefault(); busy(searchButton, () => search(false)); });
  more.addEventListener('click', () => busy(more, () => search(true)));

  const newId = h('input', { id: 'new-device-id', required: true, autocomplete: 'off', pattern: "[A-Za-z0-9\\-.%_*?!(),:=@$']{1,128}" });
  const edge = h('input', { id: 'new-device-edge', type: 'checkbox' });
  const createButton = h('button', { type: 'submit', id: 'create-device' }, 'Create device');
  const createForm = h('form', { class: 'row card', 'aria-label': 'Create a device' },
    field('New device id', newId), h('div', { class: 'field check' }, edge, h('label', { for: edge.id = 'new-device-edge' }, 'IoT Edge device')),
    createButton);
  createForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(createButton, async () => {
      const id = newId.value.trim();
      await api.put(`/devices/${api.enc(id)}`, { deviceId: id, status: 'enabled', capabilities: { iotEdge: edge.checked } });
      say(`Device ${id} created`, 'ok');
      newId.value = '';
      location.hash = `#/device/${encodeURIComponent(id)}`;
    });
  });

  const stats = h('p', { id: 'device-stats', class: 'muted' });
  page('Devices', stats, createForm, searchForm, results, more);
  api.get('/statistics/devices').then((r) => {
    stats.textContent = `${r.json.totalDeviceCount} devices, ${r.json.enabledDeviceCount} enabled, ${r.json.disabledDeviceCount} disabled`;
  }).catch((e) => { stats.textContent = errorText(e); });
  api.get('/statistics/service').then((r) => {
    stats.textContent += ` · ${r.json.connectedDeviceCount} connected`;
  }).catch(() => {});
  await busy(searchButton, () => search(false));
}

function deviceTable(twins) {
  return table([
    { label: 'Device', value: (t) => h('a', { href: `#/device/${encodeURIComponent(t.deviceId)}` }, t.deviceId) },
    { label: 'Status', value: (t) => h('span', { class: `badge ${t.status}` }, t.status) },
    { label: 'Connection', value: (t) => h('span', { class: `badge ${t.connectionState}` }, t.connectionState) },
    { label: 'Last activity', value: (t) => t.lastActivityTime },
    { label: 'Edge', value: (t) => (t.capabilities && t.capabilities.iotEdge ? 'yes' : '') },
    { label: 'Tags', value: (t) => (t.tags ? JSON.stringify(t.tags) : '') },
    { label: 'Twin', value: (t) => h('a', { href: `#/twin/${encodeURIComponent(t.deviceId)}` }, 'edit twin') },
  ], twins, 'Devices matching the search');
}

/** #/device/{id}: the identity, its keys, its modules. */
export async function renderDevice([deviceId]) {
  const path = `/devices/${api.enc(deviceId)}`;
  const info = h('div', { id: 'device-info' });
  const modules = h('div', { id: 'device-modules' });
  page(`Device ${deviceId}`, info, h('h2', {}, 'Modules'), modules);

  async function load() {
    const identity = (await api.get(path)).json;
    info.replaceChildren(identityCard(identity, path, load, () => { location.hash = '#/devices'; }));
    const list = (await api.get(`${path}/modules`)).json;
    modules.replaceChildren(moduleTable(deviceId, list, load), createModuleForm(deviceId, load));
  }
  try {
    await load();
  } catch (e) {
    info.replaceChildren(h('p', { class: 'error' }, errorText(e)));
  }
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}

function identityCard(identity, path, reload, gone) {
  const isModule = !!identity.moduleId;
  const keys = identity.authentication?.symmetricKey || {};
  const keyBox = h('div', { id: 'device-keys', hidden: true });
  const host = api.signedIn().hostName;
  const connectionString = (key) => `HostName=${host};DeviceId=${identity.deviceId}` +
    (isModule ? `;ModuleId=${identity.moduleId}` : '') + `;SharedAccessKey=${key}`;
  keyBox.append(
    h('dl', {}, h('dt', {}, 'Primary key'), h('dd', {}, h('code', { id: 'primary-key' }, keys.primaryKey || '')),
      h('dt', {}, 'Secondary key'), h('dd', {}, h('code', {}, keys.secondaryKey || '')),
      h('dt', {}, 'Connection string (primary)'), h('dd', {}, h('code', {}, connectionString(keys.primaryKey || '')))));

  const showKeys = h('button', { type: 'button', id: 'show-keys', 'aria-expanded': 'false', 'aria-controls': 'device-keys' }, 'Show keys');
  showKeys.addEventListener('click', () => {
    keyBox.hidden = !keyBox.hidden;
    showKeys.setAttribute('aria-expanded', String(!keyBox.hidden));
    showKeys.textContent = keyBox.hidden ? 'Show keys' : 'Hide keys';
  });

  async function update(change, message) {
    const body = { ...identity, ...change };
    await api.put(path, body, { 'If-Match': `"${identity.etag}"` });
    say(message, 'ok');
    await reload();
  }

  const regenerate = h('button', { type: 'button', id: 'regenerate-keys' }, 'Regenerate keys');
  regenerate.addEventListener('click', () => busy(regenerate, () => {
    if (!confirmAction('Regenerate both keys? Devices using the old keys are refused from now on.')) return;
    return update({ authentication: { type: 'sas', symmetricKey: { primaryKey: randomKey(), secondaryKey: randomKey() } } }, 'Keys regenerated');
  }));
  const toggle = isModule ? null : h('button', { type: 'button', id: 'toggle-status' },
    identity.status === 'enabled' ? 'Disable' : 'Enable');
  toggle?.addEventListener('click', () => busy(toggle, () =>
    update({ status: identity.status === 'enabled' ? 'disabled' : 'enabled' },
      identity.status === 'enabled' ? 'Device disabled' : 'Device enabled')));
  const remove = h('button', { type: 'button', id: 'delete-identity', class: 'danger' }, isModule ? 'Delete module' : 'Delete device');
  remove.addEventListener('click', () => busy(remove, async () => {
    if (!confirmAction(`Delete ${isModule ? 'module ' + identity.moduleId : 'device ' + identity.deviceId}? Its twin is deleted with it.`)) return;
    await api.del(path, { 'If-Match': `"${identity.etag}"` });
    say('Deleted', 'ok');
    gone();
  }));

  const twinHref = `#/twin/${encodeURIComponent(identity.deviceId)}` + (isModule ? `/${encodeURIComponent(identity.moduleId)}` : '');
  return h('section', { class: 'card', 'aria-label': 'Identity' },
    h('dl', { class: 'facts' },
      isModule ? null : [h('dt', {}, 'Status'), h('dd', { id: 'device-status' }, h('span', { class: `badge ${identity.status}` }, identity.status),
        identity.statusReason ? ` (${identity.statusReason})` : '')],
      h('dt', {}, 'Connection'), h('dd', { id: 'device-connection' }, h('span', { class: `badge ${identity.connectionState}` }, identity.connectionState),
        ` since ${identity.connectionStateUpdatedTime}`),
      h('dt', {}, 'Last activity'), h('dd', {}, identity.lastActivityTime),
      h('dt', {}, 'Queued cloud-to-device messages'), h('dd', {}, String(identity.cloudToDeviceMessageCount)),
      isModule ? null : [h('dt', {}, 'IoT Edge'), h('dd', {}, identity.capabilities?.iotEdge ? 'yes' : 'no')],
      h('dt', {}, 'Authentication'), h('dd', {}, identity.authentication?.type),
      h('dt', {}, 'ETag'), h('dd', {}, h('code', {}, identity.etag))),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: twinHref, id: 'open-twin' }, 'Edit twin'),
      toggle, showKeys, regenerate, remove),
    keyBox);
}

function moduleTable(deviceId, list, reload) {
  return table([
    { label: 'Module', value: (m) => m.moduleId },
    { label: 'Connection', value: (m) => h('span', { class: `badge ${m.connectionState}` }, m.connectionState) },
    { label: 'Last activity', value: (m) => m.lastActivityTime },
    { label: 'Twin', value: (m) => h('a', { href: `#/twin/${encodeURIComponent(deviceId)}/${encodeURIComponent(m.moduleId)}` }, 'edit twin') },
    { label: 'Keys', value: (m) => {
      const b = h('button', { type: 'button', class: 'small' }, 'Copy connection string');
      b.addEventListener('click', () => {
        const cs = `HostName=${api.signedIn().hostName};DeviceId=${deviceId};ModuleId=${m.moduleId};SharedAccessKey=${m.authentication?.symmetricKey?.primaryKey}`;
        navigator.clipboard?.writeText(cs).then(() => say('Copied', 'ok'), () => say(cs));
      });
      return b;
    } },
    { label: 'Delete', value: (m) => {
      if (m.moduleId.startsWith('$')) return '';
      const b = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete module ${m.moduleId}` }, 'Delete');
      b.addEventListener('click', () => busy(b, async () => {
        if (!confirmAction(`Delete module ${m.moduleId}?`)) return;
        await api.del(`/devices/${api.enc(deviceId)}/modules/${api.enc(m.moduleId)}`, { 'If-Match': '*' });
        say(`Module ${m.moduleId} deleted`, 'ok');
        await reload();
      }));
      return b;
    } },
  ], list, `Modules of ${deviceId}`);
}

function createModuleForm(deviceId, reload) {
  const id = h('input', { id: 'new-module-id', required: true, autocomplete: 'off' });
  const button = h('button', { type: 'submit', id: 'create-module' }, 'Create module');
  const form = h('form', { class: 'row', 'aria-label': 'Create a module' }, field('New module id', id), button);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(button, async () => {
      const mid = id.value.trim();
      await api.put(`/devices/${api.enc(deviceId)}/modules/${api.enc(mid)}`, { deviceId, moduleId: mid });
      say(`Module ${mid} created`, 'ok');
      await reload();
    });
  });
  return form;
}
