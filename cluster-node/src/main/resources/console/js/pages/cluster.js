// Cluster: members and roles, shards and entities on this node, index lag, request rates from the
// node's metrics (sampled every few seconds) as charts.
import * as api from '../api.js';
import { h, page, table, lineChart, barChart, errorText } from '../ui.js';
import { parsePrometheus, sumBy } from '../metrics.js';

const SAMPLE_MS = 3000;
const KEEP = 60;

// "device 37, module 12"; a member whose shard regions did not answer shows a dash.
function perType(counts) {
  return counts ? Object.entries(counts).map(([type, n]) => `${type} ${n}`).join(', ') : '–';
}

export async function render() {
  const members = h('div', { id: 'cluster-members' });
  const index = h('div', { id: 'cluster-index' });
  const rates = h('div', { id: 'cluster-rates' });
  const shards = h('div', { id: 'cluster-shards' });
  page('Cluster', h('h2', {}, 'Members'), members, h('div', { class: 'columns' },
    h('section', { 'aria-labelledby': 'idx-h' }, h('h2', { id: 'idx-h' }, 'Query index'), index),
    h('section', { 'aria-labelledby': 'sh-h' }, h('h2', { id: 'sh-h' }, 'Shards on this node'), shards)),
  h('h2', {}, 'Request rate (requests/s, this node)'), rates);

  const history = []; // [{t, counts: {status: n}}]
  const lagHistory = [];

  async function loadMembers() {
    const r = (await api.get('/cluster/members')).json;
    members.replaceChildren(table([
      { label: 'Address', value: (m) => m.address + (m.address === r.self ? ' (this node)' : '') + (m.address === r.leader ? ' (leader)' : '') },
      { label: 'Status', value: (m) => h('span', { class: `badge ${m.status}` }, m.status) },
      { label: 'Reachable', value: (m) => (m.reachable ? 'yes' : 'no') },
      { label: 'Roles', value: (m) => m.roles.join(', ') },
      { label: 'Data center', value: (m) => m.dataCenter },
      { label: 'Shards', value: (m) => perType(m.shards) },
      { label: 'Active entities', value: (m) => perType(m.entities) },
    ], r.members, 'Cluster members as this node sees them'));
  }

  async function loadIndex() {
    try {
      const s = (await api.get('/query-index/status')).json;
      lagHistory.push([Date.now(), s.lagMillis || 0]);
      if (lagHistory.length > KEEP) lagHistory.shift();
      index.replaceChildren(h('dl', { class: 'facts' },
        h('dt', {}, 'State'), h('dd', { id: 'index-state' }, s.state),
        h('dt', {}, 'Twins'), h('dd', {}, String(s.twins)),
        h('dt', {}, 'Lag'), h('dd', { id: 'index-lag' }, `${s.lagMillis} ms, ${s.eventsBehind} events behind`),
        h('dt', {}, 'Visible lag p50 / p99'), h('dd', {}, `${s.visibleLagP50Millis} / ${s.visibleLagP99Millis} ms`)),
      lineChart('Index lag (ms)', [{ label: 'lag ms', points: lagHistory }], ' ms'));
    } catch (e) {
      index.replaceChildren(h('p', { class: 'muted' }, e.status === 404 ? 'This node has no query index (no query role).' : errorText(e)));
    }
  }

  async function sample() {
    const r = await api.request('GET', '/cluster/metrics');
    const samples = parsePrometheus(r.text);
    const counts = sumBy(samples, 'twinhub_http_requests_seconds_count', 'status');
    history.push({ t: Date.now(), counts });
    if (history.length > KEEP) history.shift();
    const statuses = [...new Set(history.flatMap((x) => Object.keys(x.counts)))].sort();
    const series = statuses.map((st) => ({
      label: st,
      points: history.slice(1).map((x, i) => [x.t, Math.max(0, ((x.counts[st] || 0) - (history[i].counts[st] || 0)) / ((x.t - history[i].t) / 1000))]),
    }));
    rates.replaceChildren(history.length < 2
      ? h('p', { class: 'muted' }, 'Sampling…')
      : lineChart('Requests per second by status class', series, '/s'));
    const entities = sumBy(samples, 'twinhub_sharding_entities', 'type');
    const shardCounts = sumBy(samples, 'twinhub_sharding_shards', 'type');
    shards.replaceChildren(barChart('Shards and active entities on this node', [
      ...Object.entries(shardCounts).map(([k, v]) => ({ label: `shards ${k}`, value: v })),
      ...Object.entries(entities).map(([k, v]) => ({ label: `entities ${k}`, value: v })),
    ]));
  }

  await Promise.all([
    loadMembers().catch((e) => members.replaceChildren(h('p', { class: 'error' }, errorText(e)))),
    loadIndex(),
    sample().catch((e) => rates.replaceChildren(h('p', { class: 'error' }, errorText(e)))),
  ]);
  const timer = setInterval(() => {
    sample().catch(() => {});
    loadIndex();
  }, SAMPLE_MS);
  const memberTimer = setInterval(() => loadMembers().catch(() => {}), SAMPLE_MS * 5);
  return () => { clearInterval(timer); clearInterval(memberTimer); };
}
