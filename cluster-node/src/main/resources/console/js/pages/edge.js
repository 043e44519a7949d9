// Edge: IoT Edge devices and their modules' runtime status, as each $edgeAgent reports it.
import * as api from '../api.js';
import { h, page, busy, table, errorText } from '../ui.js';

/** The rows of one $edgeAgent twin: [{deviceId, module, kind, runtimeStatus, ...}]. */
export function moduleRows(agentTwin) {
  const reported = agentTwin.properties?.reported || {};
  const desired = agentTwin.properties?.desired || {};
  const rows = [];
  const add = (kind, name, r, d) => rows.push({
    deviceId: agentTwin.deviceId, kind, module: name,
    desiredStatus: d?.status || (kind === 'system' ? 'running' : ''),
    runtimeStatus: r?.runtimeStatus || 'unknown', exitCode: r?.exitCode, lastStartTimeUtc: r?.lastStartTimeUtc,
    statusDescription: r?.statusDescription,
  });
  for (const [name, d] of Object.entries(desired.systemModules || {})) add('system', name, reported.systemModules?.[name], d);
  for (const [name, d] of Object.entries(desired.modules || {})) add('custom', name, reported.modules?.[name], d);
  for (const [name, r] of Object.entries(reported.modules || {})) if (!desired.modules?.[name]) add('custom', name, r, null);
  if (rows.length === 0) rows.push({ deviceId: agentTwin.deviceId, kind: '', module: '(no deployment yet)', runtimeStatus: '' });
  return rows;
}

export async function render() {
  const out = h('div', { id: 'edge-modules' });
  const refresh = h('button', { type: 'button', id: 'edge-refresh' }, 'Refresh');
  async function load() {
    const agents = [];
    let continuation = null;
    do {
      const r = await api.query("SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent'", 100, continuation);
      agents.push(...r.items);
      continuation = r.continuation;
    } while (continuation && agents.length < 1000);
    const rows = agents.flatMap(moduleRows);
    out.replaceChildren(
      h('p', { class: 'muted' }, `${agents.length} IoT Edge device(s)`),
      table([
        { label: 'Device', value: (r) => h('a', { href: `#/device/${encodeURIComponent(r.deviceId)}` }, r.deviceId) },
        { label: 'Module', value: (r) => r.module },
        { label: 'Kind', value: (r) => r.kind },
        { label: 'Desired', value: (r) => r.desiredStatus },
        { label: 'Runtime status', value: (r) => h('span', { class: `badge ${r.runtimeStatus}` }, r.runtimeStatus) },
        { label: 'Exit code', value: (r) => r.exitCode ?? '' },
        { label: 'Last start', value: (r) => r.lastStartTimeUtc || '' },
        { label: 'Detail', value: (r) => r.statusDescription || '' },
      ], rows, 'Modules of IoT Edge devices, as their edgeAgent reports them'));
  }
  refresh.addEventListener('click', () => busy(refresh, load));
  page('Edge', h('div', { class: 'actions' }, refresh), out);
  await load().catch((e) => out.replaceChildren(h('p', { class: 'error' }, errorText(e))));
}
