'use strict';
// azure-iothub Registry: device and module identities, one at a time and in bulk.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { id, key, registry, rejectsWith, eventually } = require('./support');

describe('registry: device identities', () => {
  const reg = registry();

  test('create, get, update with etag "*", delete', async () => {
    const deviceId = id('reg');
    const created = (await reg.create({ deviceId })).responseBody;
    assert.equal(created.deviceId, deviceId);
    assert.equal(created.status, 'enabled');
    assert.ok(created.authentication.symmetricKey.primaryKey, 'keys are generated');
    assert.ok(created.etag);

    const got = (await reg.get(deviceId)).responseBody;
    assert.equal(got.authentication.symmetricKey.primaryKey, created.authentication.symmetricKey.primaryKey);

    // Registry.update sends If-Match: "*" (quoted).
    const updated = (await reg.update({ ...got, status: 'disabled', statusReason: 'maintenance' })).responseBody;
    assert.equal(updated.status, 'disabled');
    assert.notEqual(updated.etag, created.etag);
    assert.equal((await reg.get(deviceId)).responseBody.status, 'disabled');

    await reg.delete(deviceId); // If-Match: "*"
    await rejectsWith(reg.get(deviceId), 'DeviceNotFoundError');
  });

  test('list (GET /devices/ with a trailing slash)', async () => {
    const deviceId = id('list');
    await reg.create({ deviceId });
    // The listing comes from the node's index, which trails writes by a moment.
    const devices = await eventually('listed', async () => {
      const list = (await reg.list()).responseBody;
      return list.some((d) => d.deviceId === deviceId) && list;
    });
    assert.ok(devices.every((d) => typeof d.deviceId === 'string' && d.etag));
  });

  test('bulk: addDevices, updateDevices, removeDevices', async () => {
    const ids = [id('bulk'), id('bulk'), id('bulk')];
    const added = (await reg.addDevices(ids.map((deviceId) => ({ deviceId })))).responseBody;
    assert.equal(added.isSuccessful, true, JSON.stringify(added));
    for (const deviceId of ids) {
      assert.equal((await reg.get(deviceId)).responseBody.status, 'enabled');
    }

    const current = await Promise.all(ids.map(async (deviceId) => (await reg.get(deviceId)).responseBody));
    const updated = (await reg.updateDevices(current.map((d) => ({ deviceId: d.deviceId, status: 'disabled', etag: d.etag,
      authentication: d.authentication })), false)).responseBody;
    assert.equal(updated.isSuccessful, true, JSON.stringify(updated));
    for (const deviceId of ids) {
      assert.equal((await reg.get(deviceId)).responseBody.status, 'disabled');
    }

    // forceUpdate = true: updateIfMatchETag without etag is not needed, "update" ignores it.
    const forced = (await reg.updateDevices(ids.map((deviceId) => ({ deviceId, status: 'enabled' })), true)).responseBody;
    assert.equal(forced.isSuccessful, true, JSON.stringify(forced));

    const removed = (await reg.removeDevices(ids.map((deviceId) => ({ deviceId })), true)).responseBody;
    assert.equal(removed.isSuccessful, true, JSON.stringify(removed));
    for (const deviceId of ids) {
      await rejectsWith(reg.get(deviceId), 'DeviceNotFoundError');
    }
  });

  test('bulk: a failed entry is reported per device, the others applied', async () => {
    const existing = id('bulk-dup');
    await reg.create({ deviceId: existing });
    const fresh = id('bulk-new');
    await assert.rejects(reg.addDevices([{ deviceId: existing }, { deviceId: fresh }]), (err) => {
      // IoT Hub answers 400 with the per-device errors in the body; the SDK maps 400 to ArgumentError.
      assert.equal(err.constructor.name, 'ArgumentError', err.message);
      const body = JSON.parse(err.responseBody);
      assert.equal(body.isSuccessful, false);
      assert.equal(body.errors.length, 1, err.responseBody);
      assert.equal(body.errors[0].deviceId, existing);
      assert.equal(body.errors[0].errorCode, 'DeviceAlreadyExists');
      return true;
    });
    assert.equal((await reg.get(fresh)).responseBody.deviceId, fresh);
  });
});

describe('registry: module identities', () => {
  const reg = registry();

  test('addModule, getModule, getModulesOnDevice, updateModule with etag and forced, removeModule', async () => {
    const deviceId = id('mod-dev');
    await reg.create({ deviceId });
    await reg.addModule({ deviceId, moduleId: 'sensor' });
    await reg.addModule({ deviceId, moduleId: 'actuator', authentication: { symmetricKey: { primaryKey: key(), secondaryKey: key() } } });

    const sensor = (await reg.getModule(deviceId, 'sensor')).responseBody;
    assert.equal(sensor.moduleId, 'sensor');
    assert.equal(sensor.deviceId, deviceId);
    assert.ok(sensor.authentication.symmetricKey.primaryKey);

    const modules = (await reg.getModulesOnDevice(deviceId)).responseBody;
    assert.deepEqual(modules.map((m) => m.moduleId).sort(), ['actuator', 'sensor']);

    // updateModule(module) sends the module's etag quoted; forceUpdate sends "*". (twinhub does not
    // keep a module's managedBy yet, so the update here is what applications do most: rotate keys.)
    const rotated = { symmetricKey: { primaryKey: key(), secondaryKey: key() } };
    const updated = (await reg.updateModule({ ...sensor, authentication: rotated })).responseBody;
    assert.equal(updated.authentication.symmetricKey.primaryKey, rotated.symmetricKey.primaryKey);
    assert.notEqual(updated.etag, sensor.etag);
    await rejectsWith(reg.updateModule({ ...sensor, authentication: { symmetricKey: { primaryKey: key(), secondaryKey: key() } } }),
      'InvalidEtagError');
    const again = { symmetricKey: { primaryKey: key(), secondaryKey: key() } };
    const forced = (await reg.updateModule({ ...sensor, authentication: again }, true)).responseBody;
    assert.equal(forced.authentication.symmetricKey.primaryKey, again.symmetricKey.primaryKey);
    assert.equal((await reg.getModule(deviceId, 'sensor')).responseBody.authentication.symmetricKey.primaryKey,
      again.symmetricKey.primaryKey);

    await reg.removeModule(deviceId, 'actuator');
    // By module object (its etag, quoted). The SDK's promise form of removeModule(module) throws
    // "Argument 'done' cannot be falsy" (azure-iothub 1.16.6), so the callback form.
    await new Promise((resolve, reject) => reg.removeModule(forced, (err) => (err ? reject(err) : resolve())));
    assert.deepEqual((await reg.getModulesOnDevice(deviceId)).responseBody, []);
  });
});

describe('registry: errors the SDK maps', () => {
  const reg = registry();

  test('DeviceNotFoundError on a missing device', async () => {
    await rejectsWith(reg.get(id('missing')), 'DeviceNotFoundError');
    await rejectsWith(reg.delete(id('missing')), 'DeviceNotFoundError');
    await rejectsWith(reg.getTwin(id('missing')), 'DeviceNotFoundError');
  });

  test('DeviceAlreadyExistsError on a second create', async () => {
    const deviceId = id('twice');
    await reg.create({ deviceId });
    await rejectsWith(reg.create({ deviceId }), 'DeviceAlreadyExistsError');
  });

  test('UnauthorizedError: a policy without RegistryWrite, a wrong key', async () => {
    const { registryReadConnectionString, serviceConnectionString } = require('./support');
    await rejectsWith(registry(registryReadConnectionString).create({ deviceId: id('ro') }), 'UnauthorizedError');
    const wrongKey = serviceConnectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${key()}`);
    await rejectsWith(registry(wrongKey).get(id('any')), 'UnauthorizedError');
  });

  test('ArgumentError on an invalid device id and an invalid body', async () => {
    await rejectsWith(reg.create({ deviceId: 'bad id with spaces' }), 'ArgumentError');
    const deviceId = id('bad-status');
    await rejectsWith(reg.create({ deviceId, status: 'sleeping' }), 'ArgumentError');
  });
});
