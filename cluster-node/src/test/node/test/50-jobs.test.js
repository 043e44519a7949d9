'use strict';
// azure-iothub's JobClient: twin-update and device-method jobs over a query condition, their
// statistics, cancel, getJob, the jobs query (/jobs/v2/query, paged) and the devices.jobs records.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { JobClient } = require('azure-iothub');
const { id, registry, serviceConnectionString, createDevice, openDevice, eventually, rejectsWith } = require('./support');

/**
 * Every page of a query (JobClient's or Registry's), concatenated. The SDK's promise form of
 * `next()` without an argument starts over from the first page: the token has to be passed.
 */
async function allPages(query) {
  const rows = [];
  do {
    const { result } = await query.next(query.continuationToken);
    rows.push(...result);
  } while (query.hasMoreResults);
  return rows;
}

async function finished(jobs, jobId) {
  return eventually(`job ${jobId} finished`, async () => {
    const { jobStatus } = await jobs.getJob(jobId);
    return ['completed', 'failed', 'cancelled'].includes(jobStatus.status) && jobStatus;
  }, 60000);
}

describe('jobs v2 through JobClient', () => {
  const reg = registry();
  const jobs = JobClient.fromConnectionString(serviceConnectionString);
  const clients = [];
  after(async () => { for (const c of clients) await c.close().catch(() => {}); });

  test('twin-update job over a query condition runs to completion with statistics', { timeout: 70000 }, async () => {
    const fleet = id('fleet');
    const targets = [id('job-a'), id('job-b')];
    const bystander = id('job-c');
    for (const d of [...targets, bystander]) await reg.create({ deviceId: d });
    for (const d of targets) await reg.updateTwin(d, { tags: { fleet } }, '*');
    // The query index trails registry writes: wait until the condition sees both.
    await eventually('targets queryable', async () =>
      (await allPages(reg.createQuery(`SELECT * FROM devices WHERE tags.fleet = '${fleet}'`))).length === 2);

    const jobId = id('twin-job');
    const { jobStatus: scheduled } = await jobs.scheduleTwinUpdate(jobId, `tags.fleet = '${fleet}'`,
      { etag: '*', tags: { wave: 1 }, properties: { desired: { firmware: '2.0' } } }, new Date(), 600);
    assert.equal(scheduled.jobId, jobId);
    assert.equal(scheduled.type, 'scheduleUpdateTwin');
    assert.equal(scheduled.queryCondition, `tags.fleet = '${fleet}'`);

    const done = await finished(jobs, jobId);
    assert.equal(done.status, 'completed');
    assert.equal(done.deviceJobStatistics.deviceCount, 2);
    assert.equal(done.deviceJobStatistics.succeededCount, 2);
    assert.equal(done.deviceJobStatistics.failedCount, 0);
    assert.ok(done.endTime, 'a finished job has an end time');

    for (const d of targets) {
      const t = (await reg.getTwin(d)).responseBody;
      assert.equal(t.properties.desired.firmware, '2.0');
      assert.equal(t.tags.wave, 1);
      assert.equal(t.tags.fleet, fleet, 'the tags patch merges');
    }
    const untouched = (await reg.getTwin(bystander)).responseBody;
    assert.equal(untouched.properties.desired.firmware, undefined);

    // Each device's record, through the registry's query of devices.jobs.
    const records = await allPages(reg.createQuery(`SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '${jobId}'`, 1));
    assert.deepEqual(records.map((r) => r.deviceId).sort(), [...targets].sort());
    for (const r of records) assert.equal(r.status, 'completed');
  });

  test('device-method job: the connected device answers, the offline one fails DeviceNotOnline', { timeout: 70000 }, async () => {
    const fleet = id('mfleet');
    const online = id('meth-on');
    const offline = id('meth-off');
    const client = await openDevice(await createDevice(reg, online));
    clients.push(client);
    client.onDeviceMethod('reboot', (request, response) => {
      response.send(200, { rebooted: true, delay: request.payload.delay }, () => {});
    });
    await reg.create({ deviceId: offline });
    for (const d of [online, offline]) await reg.updateTwin(d, { tags: { fleet } }, '*');
    await eventually('targets queryable and the device connected', async () => {
      const rows = await allPages(reg.createQuery(`SELECT * FROM devices WHERE tags.fleet = '${fleet}'`));
      return rows.length === 2 && rows.find((r) => r.deviceId === online).connectionState === 'Connected';
    });

    const jobId = id('method-job');
    const { jobStatus: scheduled } = await jobs.scheduleDeviceMethod(jobId, `tags.fleet = '${fleet}'`,
      { methodName: 'reboot', payload: { delay: 3 }, responseTimeoutInSeconds: 15 }, new Date(), 600);
    assert.equal(scheduled.type, 'scheduleDeviceMethod');
    assert.equal(scheduled.cloudToDeviceMethod.methodName, 'reboot');

    const done = await finished(jobs, jobId);
    assert.equal(done.deviceJobStatistics.deviceCount, 2);
    assert.equal(done.deviceJobStatistics.succeededCount, 1);
    assert.equal(done.deviceJobStatistics.failedCount, 1);

    const records = await allPages(reg.createQuery(`SELECT * FROM devices.jobs WHERE devices.jobs.jobId = '${jobId}'`));
    const ok = records.find((r) => r.deviceId === online);
    assert.equal(ok.status, 'completed');
    assert.equal(ok.outcome.deviceMethodResponse.status, 200);
    assert.deepEqual(ok.outcome.deviceMethodResponse.payload, { rebooted: true, delay: 3 });
    const failed = records.find((r) => r.deviceId === offline);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'DeviceNotOnline');
  });

  test('cancel a scheduled job; the jobs query filters by type and status', { timeout: 70000 }, async () => {
    const jobId = id('later-job');
    const inAnHour = new Date(Date.now() + 3600 * 1000);
    const { jobStatus: scheduled } = await jobs.scheduleTwinUpdate(jobId, "tags.nobody = 'x'",
      { etag: '*', properties: { desired: { never: true } } }, inAnHour, 600);
    assert.ok(['queued', 'scheduled'].includes(scheduled.status), scheduled.status);

    const { jobStatus: cancelled } = await jobs.cancelJob(jobId);
    assert.equal(cancelled.jobId, jobId);
    assert.equal((await finished(jobs, jobId)).status, 'cancelled');

    // Paged two at a time through x-ms-max-item-count / x-ms-continuation.
    const cancelledTwinJobs = await allPages(jobs.createQuery('scheduleUpdateTwin', 'cancelled', 2));
    assert.ok(cancelledTwinJobs.some((j) => j.jobId === jobId), 'the cancelled job is listed');
    for (const j of cancelledTwinJobs) {
      assert.equal(j.status, 'cancelled');
      assert.equal(j.type, 'scheduleUpdateTwin');
    }
    const methodJobs = await allPages(jobs.createQuery('scheduleDeviceMethod'));
    assert.ok(!methodJobs.some((j) => j.jobId === jobId));
    const everything = await allPages(jobs.createQuery(undefined, undefined, 1));
    assert.ok(everything.some((j) => j.jobId === jobId));
  });

  test('errors: unknown job, duplicate job id, bad condition', { timeout: 70000 }, async () => {
    await assert.rejects(jobs.getJob(id('no-such-job')), (err) => {
      assert.equal(err.response.statusCode, 404);
      return true;
    });
    const jobId = id('dup-job');
    await jobs.scheduleTwinUpdate(jobId, "tags.nobody = 'y'", { etag: '*', tags: { y: 1 } }, new Date(), 600);
    await rejectsWith(jobs.scheduleTwinUpdate(jobId, "tags.nobody = 'y'", { etag: '*', tags: { y: 2 } }, new Date(), 600),
      'DeviceAlreadyExistsError');
    await rejectsWith(jobs.scheduleTwinUpdate(id('bad-job'), 'tags.x = = 1', { etag: '*', tags: { y: 1 } }, new Date(), 600),
      'ArgumentError');
  });
});
