'use strict';
// azure-iothub twins: get, patch with the twin's etag and with '*', null deletion, module twins.
// (The Node service SDK has no twin replace; the Java SDK's replace is ServiceSdkIT's.)

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { id, registry, rejectsWith } = require('./support');

describe('twins', () => {
  const reg = registry();

  test('getTwin, updateTwin with the etag, a stale etag is InvalidEtagError, "*" always applies', async () => {
    const deviceId = id('twin');
    await reg.create({ deviceId });
    const twin = (await reg.getTwin(deviceId)).responseBody;
    assert.equal(twin.deviceId, deviceId);
    assert.equal(twin.properties.desired.$version, 1);
    assert.ok(twin.etag);

    const patched = (await reg.updateTwin(deviceId,
      { tags: { site: 'plant-7', floor: { n: 2 } }, properties: { desired: { targetTemp: 21.5 } } }, twin.etag)).responseBody;
    assert.equal(patched.tags.site, 'plant-7');
    assert.equal(patched.properties.desired.targetTemp, 21.5);
    assert.equal(patched.properties.desired.$version, 2);
    assert.notEqual(patched.etag, twin.etag);

    // The first etag is stale now.
    await rejectsWith(reg.updateTwin(deviceId, { tags: { site: 'lost' } }, twin.etag), 'InvalidEtagError');

    // '*' (sent as "*") is unconditional; null removes a key, keys not named stay.
    const forced = (await reg.updateTwin(deviceId,
      { tags: { floor: null }, properties: { desired: { targetTemp: null, mode: 'eco' } } }, '*')).responseBody;
    assert.equal(forced.tags.site, 'plant-7');
    assert.equal(forced.tags.floor, undefined);
    assert.equal(forced.properties.desired.targetTemp, undefined);
    assert.equal(forced.properties.desired.mode, 'eco');
    assert.equal(forced.properties.desired.$version, 3);
    assert.ok(forced.properties.desired.$metadata.mode.$lastUpdated);
  });

  test('Twin object: get() then update() (the etag it holds)', async () => {
    const deviceId = id('twin-obj');
    await reg.create({ deviceId });
    const twin = (await reg.getTwin(deviceId)).responseBody;
    // Twin.update sends the etag the Twin holds, quoted, and takes the answer's etag.
    const updated = (await twin.update({ tags: { owner: 'ops' } })).result;
    assert.equal(updated.tags.owner, 'ops');
    assert.equal(updated.etag, twin.etag);
    // Someone else changes the twin: the held etag is stale now.
    await reg.updateTwin(deviceId, { tags: { owner: 'other' } }, '*');
    await rejectsWith(twin.update({ tags: { owner: 'lost' } }), 'InvalidEtagError');
    const again = (await twin.get()).result;
    assert.equal(again.tags.owner, 'other');
    assert.equal((await twin.update({ tags: { owner: 'ops2' } })).result.tags.owner, 'ops2');
  });

  test('module twins: getModuleTwin, updateModuleTwin with the etag and "*"', async () => {
    const deviceId = id('mtwin');
    await reg.create({ deviceId });
    await reg.addModule({ deviceId, moduleId: 'sensor' });
    const twin = (await reg.getModuleTwin(deviceId, 'sensor')).responseBody;
    assert.equal(twin.moduleId, 'sensor');

    const patched = (await reg.updateModuleTwin(deviceId, 'sensor',
      { properties: { desired: { rate: 5 } } }, twin.etag)).responseBody;
    assert.equal(patched.properties.desired.rate, 5);
    await rejectsWith(reg.updateModuleTwin(deviceId, 'sensor', { properties: { desired: { rate: 6 } } }, twin.etag),
      'InvalidEtagError');
    const forced = (await reg.updateModuleTwin(deviceId, 'sensor', { properties: { desired: { rate: null } } }, '*')).responseBody;
    assert.equal(forced.properties.desired.rate, undefined);
    assert.equal(forced.properties.desired.$version, 3);
  });

  test('ArgumentError on a twin patch the hub refuses', async () => {
    const deviceId = id('twin-bad');
    await reg.create({ deviceId });
    await rejectsWith(reg.updateTwin(deviceId, { tags: { 'bad key.with dot': 1 } }, '*'), 'ArgumentError');
    await rejectsWith(reg.updateTwin(deviceId, { properties: { desired: { $metadata: {} } } }, '*'), 'ArgumentError');
  });
});
