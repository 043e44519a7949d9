// Fleet: configurations and IoT Edge deployments (create from JSON, metrics) and jobs with live progress.
import * as api from '../api.js';
import { h, field, page, say, busy, table, pretty, parseJson, errorText, confirmAction } from '../ui.js';

const REFRESH_MS = 2000;

const CONFIG_EXAMPLE = {
  content: { deviceContent: { 'properties.desired.thermostat': { target: 21 } } },
  targetCondition: "tags.site = 'plant-7'",
  priority: 10,
  metrics: { queries: { heating: "SELECT deviceId FROM devices WHERE properties.reported.mode = 'heat'" } },
};

function jobExample() {
  return {
    type: 'scheduleUpdateTwin',
    queryCondition: "tags.site = 'plant-7'",
    startTime: new Date().toISOString(),
    maxExecutionTimeInSeconds: 3600,
    updateTwin: { properties: { desired: { targetTemp: 20 } }, etag: '*' },
  };
}

function progress(job) {
  const s = job.deviceJobStatistics || {};
  const total = s.deviceCount || 0;
  const done = (s.succeededCount || 0) + (s.failedCount || 0);
  return h('span', { class: 'progress-cell' },
    h('progress', { max: Math.max(total, 1), value: total === 0 && job.status === 'completed' ? 1 : done,
      'aria-label': `Progress of job ${job.jobId}` }),
    ` ${done}/${total}` + (s.failedCount ? ` (${s.failedCount} failed)` : ''));
}

export async function render() {
  const configs = h('div', { id: 'configurations' });
  const jobs = h('div', { id: 'jobs' });

  async function loadConfigs() {
    const list = (await api.get('/configurations?top=100')).json || [];
    configs.replaceChildren(table([
      { label: 'Id', value: (c) => c.id },
      { label: 'Kind', value: (c) => (Object.keys(c.content?.modulesContent || {}).length ? 'IoT Edge deployment' : Object.keys(c.content?.moduleContent || {}).length ? 'module configuration' : 'device configuration') },
      { label: 'Priority', value: (c) => c.priority },
      { label: 'Target condition', value: (c) => h('code', {}, c.targetCondition) },
      { label: 'Targeted', value: (c) => c.systemMetrics?.results?.targetedCount ?? 'counting…' },
      { label: 'Applied', value: (c) => c.systemMetrics?.results?.appliedCount ?? 'counting…' },
      { label: 'Reported ok / failed', value: (c) => (c.systemMetrics?.results?.reportedSuccessfulCount !== undefined
        ? `${c.systemMetrics.results.reportedSuccessfulCount} / ${c.systemMetrics.results.reportedFailedCount}` : '') },
      { label: 'Custom metrics', value: (c) => Object.entries(c.metrics?.results || {}).map(([k, v]) => `${k}: ${v}`).join(', ') },
      { label: 'Delete', value: (c) => {
        const b = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete configuration ${c.id}` }, 'Delete');
        b.addEventListener('click', () => busy(b, async () => {
          if (!confirmAction(`Delete configuration ${c.id}? What it wrote to twins stays.`)) return;
          await api.del(`/configurations/${api.enc(c.id)}`, { 'If-Match': '*' });
          say(`Configuration ${c.id} deleted`, 'ok');
          await loadConfigs();
        }));
        return b;
      } },
    ], list, 'Configurations and deployments (metrics are recounted every few seconds)'));
  }

  async function loadJobs() {
    const list = (await api.get('/jobs/v2/query', { 'x-ms-max-item-count': '100' })).json || [];
    const rows = Array.isArray(list) ? list : (list.value || []);
    rows.sort((a, b) => String(b.createdTime).localeCompare(String(a.createdTime)));
    jobs.replaceChildren(table([
      { label: 'Job', value: (j) => j.jobId },
      { label: 'Type', value: (j) => j.type },
      { label: 'Status', value: (j) => h('span', { class: `badge ${j.status}`, dataset: { job: j.jobId } }, j.status) },
      { label: 'Progress', value: progress },
      { label: 'Condition', value: (j) => h('code', {}, j.queryCondition) },
      { label: 'Start', value: (j) => j.startTime },
      { label: 'End', value: (j) => j.endTime || '' },
      { label: 'Cancel', value: (j) => {
        if (!['queued', 'scheduled', 'running'].includes(j.status)) return '';
        const b = h('button', { type: 'button', class: 'small', 'aria-label': `Cancel job ${j.jobId}` }, 'Cancel');
        b.addEventListener('click', () => busy(b, async () => {
          await api.post(`/jobs/v2/${api.enc(j.jobId)}/cancel`);
          await loadJobs();
        }));
        return b;
      } },
    ], rows, 'Jobs, newest first (refreshed every 2 s)'));
  }

  const configId = h('input', { id: 'config-id', required: true, autocomplete: 'off' });
  const configBody = h('textarea', { id: 'config-body', rows: 10, class: 'code', spellcheck: 'false' }, pretty(CONFIG_EXAMPLE));
  const createConfig = h('button', { type: 'submit', id: 'config-create' }, 'Create configuration');
  const configForm = h('form', { class: 'card', 'aria-label': 'Create a configuration or deployment' },
    field('Configuration id', configId),
    field('Body (JSON; modulesContent makes it an IoT Edge deployment)', configBody), createConfig);
  configForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(createConfig, async () => {
      const body = parseJson(configBody.value, 'The configuration');
      await api.put(`/configurations/${api.enc(configId.value.trim())}`, { ...body, id: configId.value.trim() });
      say(`Configuration ${configId.value.trim()} created`, 'ok');
      await loadConfigs();
    });
  });

  const jobId = h('input', { id: 'job-id', required: true, autocomplete: 'off' });
  const jobBody = h('textarea', { id: 'job-body', rows: 10, class: 'code', spellcheck: 'false' }, pretty(jobExample()));
  const schedule = h('button', { type: 'submit', id: 'job-schedule' }, 'Schedule job');
  const jobForm = h('form', { class: 'card', 'aria-label': 'Schedule a job' },
    field('Job id', jobId), field('Body (JSON: scheduleUpdateTwin or scheduleDeviceMethod)', jobBody), schedule);
  jobForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(schedule, async () => {
      const body = parseJson(jobBody.value, 'The job');
      await api.put(`/jobs/v2/${api.enc(jobId.value.trim())}`, { ...body, jobId: jobId.value.trim() });
      say(`Job ${jobId.value.trim()} scheduled`, 'ok');
      await loadJobs();
    });
  });

  page('Fleet', h('h2', {}, 'Jobs'), jobs, jobForm, h('h2', {}, 'Configurations and deployments'), configs, configForm);
  await Promise.all([
    loadJobs().catch((e) => jobs.replaceChildren(h('p', { class: 'error' }, errorText(e)))),
    loadConfigs().catch((e) => configs.replaceChildren(h('p', { class: 'error' }, errorText(e)))),
  ]);
  let ticks = 0;
  const timer = setInterval(() => {
    loadJobs().catch(() => {});
    if (++ticks % 5 === 0) loadConfigs().catch(() => {});
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
