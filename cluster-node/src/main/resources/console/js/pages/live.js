// Live: a device's or a route's change stream (Server-Sent Events) scrolling in real time. Read with
// fetch() because EventSource cannot send the Authorization header; resumable by the stream's
// offset (Last-Event-ID), on a dropped connection and on "Resume".
import * as api from '../api.js';
import { h, field, page, say, errorText } from '../ui.js';

const MAX_ROWS = 500;
const SOURCES = ['all', 'twinChangeEvents', 'deviceLifecycleEvents', 'deviceConnectionStateEvents', 'deviceMessages'];

export async function render(args) {
  const source = h('select', { id: 'live-source' }, SOURCES.map((s) => h('option', { value: `stream:${s}` }, `stream: ${s}`)));
  const deviceId = h('input', { id: 'live-device', autocomplete: 'off', value: args[0] || '' });
  const condition = h('input', { id: 'live-condition', autocomplete: 'off', size: 40, placeholder: "opType = 'updateTwin'" });
  const from = h('select', { id: 'live-from' }, h('option', { value: 'latest' }, 'new changes only'),
    h('option', { value: 'earliest' }, 'from the beginning'));
  const start = h('button', { type: 'submit', id: 'live-start' }, 'Start');
  const stop = h('button', { type: 'button', id: 'live-stop', disabled: true }, 'Stop');
  const resume = h('button', { type: 'button', id: 'live-resume', disabled: true }, 'Resume');
  const clear = h('button', { type: 'button', id: 'live-clear' }, 'Clear');
  const follow = h('input', { type: 'checkbox', id: 'live-follow', checked: true });
  const state = h('span', { id: 'live-state', class: 'badge' }, 'stopped');
  const offset = h('code', { id: 'live-offset' });
  const log = h('ol', { id: 'live-log', class: 'log', tabindex: '0', 'aria-label': 'Stream messages', 'aria-live': 'off' });
  let stream = null;
  let lastId = null;
  let count = 0;

  api.get('/routes').then((r) => {
    for (const route of r.json || []) {
      source.append(h('option', { value: `route:${route.name}` }, `route: ${route.name} (${route.source}: ${route.condition})`));
    }
  }).catch(() => {});

  function url(resumeFrom) {
    const [kind, name] = source.value.split(':');
    const params = new URLSearchParams();
    if (!resumeFrom) params.set('from', from.value);
    if (kind === 'stream') {
      if (deviceId.value.trim()) params.set('deviceId', deviceId.value.trim());
      if (condition.value.trim()) params.set('condition', condition.value.trim());
      return `/streams/${name}?${params}`;
    }
    return `/routes/${encodeURIComponent(name)}/stream?${params}`;
  }

  function onEvent(e) {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    lastId = e.id || m.offset;
    offset.textContent = lastId;
    count++;
    const p = m.properties || {};
    const li = h('li', { class: m.lagging ? 'lagging' : '' },
      h('span', { class: 'time' }, p.operationTimestamp || m.systemProperties?.['$iothub-enqueuedtime'] || ''),
      h('span', { class: 'badge' }, m.source),
      h('strong', {}, p.deviceId || m.twinId), p.moduleId ? `/${p.moduleId}` : '',
      ' ', p.opType || '', m.version !== undefined ? ` v${m.version}` : '',
      h('code', { class: 'clip' }, JSON.stringify(m.body)));
    log.append(li);
    while (log.children.length > MAX_ROWS) log.firstElementChild.remove();
    if (follow.checked) li.scrollIntoView({ block: 'nearest' });
    counter.textContent = `${count} message(s)`;
  }

  function onState(s, err) {
    state.textContent = s;
    state.className = `badge ${s}`;
    if (err) say(`Stream: ${errorText(err)}`, s === 'error' ? 'error' : 'info');
    if (s === 'error') setRunning(false);
  }

  function setRunning(running) {
    start.disabled = running;
    stop.disabled = !running;
    resume.disabled = running || !lastId;
    source.disabled = running;
  }

  function begin(resumeFrom) {
    stream = api.sse(url(resumeFrom), { lastEventId: resumeFrom, onEvent, onState });
    setRunning(true);
  }

  const counter = h('span', { id: 'live-count', class: 'muted' }, '0 message(s)');
  const form = h('form', { class: 'card', 'aria-label': 'Stream' },
    h('div', { class: 'row' }, field('Source', source), field('Device id (empty: all devices)', deviceId),
      field('Condition (optional)', condition), field('Start', from)),
    h('div', { class: 'actions' }, start, stop, resume, clear,
      h('span', { class: 'field check' }, follow, h('label', { for: 'live-follow' }, 'Follow new messages')),
      'State: ', state, ' ', counter),
    h('p', { class: 'muted' }, 'Last offset: ', offset));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    lastId = null;
    begin(null);
  });
  stop.addEventListener('click', () => { stream?.stop(); stream = null; setRunning(false); });
  resume.addEventListener('click', () => begin(lastId));
  clear.addEventListener('click', () => { log.replaceChildren(); count = 0; counter.textContent = '0 message(s)'; });
  page('Live', form, log);
  if (args[0]) begin(null);
  return () => stream?.stop();
}
