'use strict';
// azure-iothub's JobClient: a device-method job over a query condition, its statistics (getJob)
// and devices.jobs records; the errors the SDK maps.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { JobClient } = require('azure-iothub');
const { id, registry, serviceConnectionString, createDevice, openDevice, eventually, rejectsWith } = require('./support');

/** Every page of a query (JobClient's or Registry's), concatenated. */
async function allPages(query) {
  const rows = [];
  do {
    const { result } = await query.next();
    rows.push(...result);
  } while (query.hasMoreResults);
  return rows;
}

describe('jobs v2 through JobClient', () => {
  const reg = registry();
  const jobs = JobClient.fromConnectionString(serviceConnectionString);
  const clients = [];
  after(async () => { for (const c of clients) await c.close().catch(() => {}); });

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

    const done = await eventually(`job ${jobId} finished`, async () => {
      const { jobStatus } = await jobs.getJob(jobId);
      return ['completed', 'failed', 'cancelled'].includes(jobStatus.status) && jobStatus;
    });
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
