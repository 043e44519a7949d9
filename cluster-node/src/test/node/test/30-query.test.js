'use strict';
// azure-iothub queries: pages of twins (pageSize, continuation), projections, GROUP BY; statistics.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { id, registry, eventually } = require('./support');

describe('query and statistics', () => {
  const reg = registry();
  const batch = id('q');
  const ids = Array.from({ length: 7 }, (_, i) => `${batch}-${i}`);

  test('setup: 7 twins with tags', async () => {
    const added = (await reg.addDevices(ids.map((deviceId) => ({ deviceId })))).responseBody;
    assert.equal(added.isSuccessful, true);
    for (const [i, deviceId] of ids.entries()) {
      await reg.updateTwin(deviceId, { tags: { batch, color: i % 2 === 0 ? 'red' : 'blue', i } }, '*');
    }
  });

  test('nextAsTwin pages with pageSize 3 and the continuation token', async () => {
    const sql = `SELECT * FROM devices WHERE tags.batch = '${batch}'`;
    // The index trails writes by a moment: wait until it holds all 7 tag writes.
    await eventually('indexed', async () => {
      const q = reg.createQuery(`SELECT COUNT() AS n FROM devices WHERE tags.batch = '${batch}' AND IS_DEFINED(tags.i)`);
      const { result } = await q.next();
      return result[0].n === 7;
    });
    const query = reg.createQuery(sql, 3);
    const pages = [];
    const seen = [];
    while (query.hasMoreResults) {
      const { result } = await query.nextAsTwin();
      pages.push(result.length);
      for (const twin of result) {
        assert.equal(typeof twin.update, 'function', 'a Twin object');
        seen.push(twin.deviceId);
      }
    }
    assert.deepEqual(pages, [3, 3, 1]);
    assert.deepEqual(seen.sort(), [...ids].sort());
  });

  test('next(continuationToken) resumes a page where it left off', async () => {
    const first = reg.createQuery(`SELECT deviceId FROM devices WHERE tags.batch = '${batch}'`, 4);
    const page1 = (await first.next()).result;
    assert.equal(page1.length, 4);
    assert.ok(first.continuationToken, 'a continuation token after a full page');
    const second = reg.createQuery(`SELECT deviceId FROM devices WHERE tags.batch = '${batch}'`, 4);
    const page2 = (await second.next(first.continuationToken)).result;
    assert.equal(page2.length, 3);
    assert.deepEqual([...page1, ...page2].map((r) => r.deviceId).sort(), [...ids].sort());
  });

  test('GROUP BY with COUNT()', async () => {
    const query = reg.createQuery(
      `SELECT tags.color AS color, COUNT() AS n FROM devices WHERE tags.batch = '${batch}' GROUP BY tags.color`);
    const { result } = await query.next();
    const counts = Object.fromEntries(result.map((r) => [r.color, r.n]));
    assert.deepEqual(counts, { red: 4, blue: 3 });
  });

  test('module twins: SELECT * FROM devices.modules', async () => {
    const deviceId = ids[0];
    await reg.addModule({ deviceId, moduleId: 'probe' });
    const rows = await eventually('module indexed', async () => {
      const { result } = await reg.createQuery(`SELECT * FROM devices.modules WHERE deviceId = '${deviceId}'`).nextAsTwin();
      return result.length === 1 && result;
    });
    assert.equal(rows[0].moduleId, 'probe');
  });

  test('getRegistryStatistics counts the created devices', async () => {
    const before = (await reg.getRegistryStatistics()).responseBody;
    assert.equal(typeof before.totalDeviceCount, 'number');
    const extra = [id('stat'), id('stat')];
    await reg.addDevices(extra.map((deviceId) => ({ deviceId, status: 'disabled' })));
    const after = await eventually('statistics', async () => {
      const s = (await reg.getRegistryStatistics()).responseBody;
      return s.totalDeviceCount >= before.totalDeviceCount + 2 && s.disabledDeviceCount >= before.disabledDeviceCount + 2 && s;
    });
    assert.equal(after.totalDeviceCount, after.enabledDeviceCount + after.disabledDeviceCount);
  });
});
