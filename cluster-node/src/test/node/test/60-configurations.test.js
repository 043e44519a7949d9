'use strict';
// azure-iothub's Registry configuration calls: automatic device configurations and IoT Edge
// deployments (/configurations), and applyConfigurationContentOnDevice for an edge device.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { id, registry, eventually, rejectsWith } = require('./support');

/** A base IoT Edge deployment: $edgeAgent's runtime and modules, $edgeHub's routes. */
function edgeManifest(sensorImage) {
  return {
    $edgeAgent: {
      'properties.desired': {
        schemaVersion: '1.1',
        runtime: { type: 'docker', settings: { minDockerVersion: 'v1.25', loggingOptions: '', registryCredentials: {} } },
        systemModules: {
          edgeAgent: { type: 'docker', settings: { image: 'mcr.microsoft.com/azureiotedge-agent:1.5', createOptions: '{}' } },
          edgeHub: {
            type: 'docker', status: 'running', restartPolicy: 'always',
            settings: { image: 'mcr.microsoft.com/azureiotedge-hub:1.5', createOptions: '{}' },
          },
        },
        modules: {
          tempSensor: {
            version: '1.0', type: 'docker', status: 'running', restartPolicy: 'always',
            settings: { image: sensorImage, createOptions: '{}' },
          },
        },
      },
    },
    $edgeHub: {
      'properties.desired': {
        schemaVersion: '1.1',
        routes: { upstream: 'FROM /messages/* INTO $upstream' },
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
  };
}

async function desiredOf(reg, deviceId, moduleId) {
  const twin = moduleId ? (await reg.getModuleTwin(deviceId, moduleId)).responseBody : (await reg.getTwin(deviceId)).responseBody;
  return twin.properties.desired;
}

describe('configurations through Registry', () => {
  const reg = registry();

  test('create, get, list, update with etag, remove; a device joining the target set gets the content', async () => {
    const site = id('site');
    const early = id('cfg-a');
    const late = id('cfg-b');
    await reg.create({ deviceId: early });
    await reg.create({ deviceId: late });
    await reg.updateTwin(early, { tags: { site } }, '*');

    const configId = id('thermostats');
    const { responseBody: created } = await reg.addConfiguration({
      id: configId,
      content: { deviceContent: { 'properties.desired.thermostat': { target: 21, mode: 'heat' } } },
      targetCondition: `tags.site = '${site}'`,
      priority: 10,
      labels: { team: 'hvac' },
      metrics: { queries: { onSite: `SELECT deviceId FROM devices WHERE tags.site = '${site}'` } },
    });
    assert.equal(created.id, configId);
    assert.equal(created.priority, 10);
    assert.equal(created.schemaVersion, '1.0');
    assert.deepEqual(created.labels, { team: 'hvac' });
    assert.ok(created.etag, 'a created configuration has an etag');

    await eventually('content on the targeted device', async () =>
      (await desiredOf(reg, early, null)).thermostat?.target === 21);
    assert.equal((await desiredOf(reg, late, null)).thermostat, undefined, 'not targeted yet');
    await reg.updateTwin(late, { tags: { site } }, '*'); // joins the target set: nobody asks for the content
    const joined = await eventually('content on the device that joined', async () => {
      const d = await desiredOf(reg, late, null);
      return d.thermostat?.target === 21 && d;
    });
    assert.equal(joined.thermostat.mode, 'heat');

    const { responseBody: got } = await reg.getConfiguration(configId);
    assert.equal(got.etag, created.etag);
    assert.equal(got.targetCondition, `tags.site = '${site}'`);
    assert.deepEqual(got.content.deviceContent, { 'properties.desired.thermostat': { target: 21, mode: 'heat' } });
    const { responseBody: all } = await reg.getConfigurations();
    assert.ok(Array.isArray(all));
    assert.ok(all.some((c) => c.id === configId));

    // updateConfiguration sends the configuration's etag as If-Match (quoted by the SDK).
    got.priority = 11;
    const { responseBody: updated } = await reg.updateConfiguration(got);
    assert.equal(updated.priority, 11);
    assert.notEqual(updated.etag, got.etag);
    // The etag it read is stale now: 412, which the SDK maps to InvalidEtagError.
    got.priority = 12;
    await rejectsWith(reg.updateConfiguration(got), 'InvalidEtagError');
    // forceUpdate sends If-Match *.
    const { responseBody: forced } = await reg.updateConfiguration({ ...got, etag: undefined, priority: 13 }, true);
    assert.equal(forced.priority, 13);

    // An id that exists: 409, DeviceAlreadyExistsError in the Node SDK's mapping.
    await rejectsWith(reg.addConfiguration({ id: configId, content: { deviceContent: { 'properties.desired.x': 1 } },
      targetCondition: '' }), 'DeviceAlreadyExistsError');

    await reg.removeConfiguration(configId);
    // 404 ConfigurationNotFound: the SDK maps only DeviceNotFound and IotHubNotFound to classes,
    // any other 404 is a plain Error('Not found').
    await assert.rejects(reg.getConfiguration(configId), (err) => {
      assert.equal(err.response.statusCode, 404);
      assert.equal(err.message, 'Not found');
      return true;
    });
    assert.ok(!(await reg.getConfigurations()).responseBody.some((c) => c.id === configId));
  });

  test('bad configurations are ArgumentError and store nothing', async () => {
    const bad = id('bad-cfg');
    await rejectsWith(reg.addConfiguration({ id: bad, content: { deviceContent: { 'properties.desired.x': 1 } },
      targetCondition: 'tags.x = = 1' }), 'ArgumentError');
    await assert.rejects(reg.getConfiguration(bad), (err) => err.response.statusCode === 404);
  });

  test('IoT Edge deployment and applyConfigurationContentOnDevice on $edgeAgent and $edgeHub', async () => {
    const fleet = id('edge-fleet');
    const device = id('edge');
    await reg.create({ deviceId: device, capabilities: { iotEdge: true } });
    const { responseBody: modules } = await reg.getModulesOnDevice(device);
    assert.deepEqual(modules.map((m) => m.moduleId).sort(), ['$edgeAgent', '$edgeHub']);

    // Directly, without a deployment.
    await reg.applyConfigurationContentOnDevice(device,
      { modulesContent: edgeManifest('mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5') });
    const agent = await desiredOf(reg, device, '$edgeAgent');
    assert.equal(agent.schemaVersion, '1.1');
    assert.equal(agent.modules.tempSensor.settings.image, 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5');
    const hub = await desiredOf(reg, device, '$edgeHub');
    assert.equal(hub.routes.upstream, 'FROM /messages/* INTO $upstream');
    assert.equal(hub.storeAndForwardConfiguration.timeToLiveSecs, 7200);

    // Through a deployment targeting the device's tags.
    await reg.updateTwin(device, { tags: { fleet } }, '*');
    const deploymentId = id('deployment');
    await reg.addConfiguration({
      id: deploymentId,
      content: { modulesContent: edgeManifest('example/sensor:2.0') },
      targetCondition: `tags.fleet = '${fleet}'`,
      priority: 5,
    });
    await eventually('the deployment on $edgeAgent', async () =>
      (await desiredOf(reg, device, '$edgeAgent')).modules?.tempSensor?.settings?.image === 'example/sensor:2.0');
    await reg.removeConfiguration(deploymentId);

    // Only an IoT Edge device takes modules content.
    const leaf = id('leaf');
    await reg.create({ deviceId: leaf });
    await rejectsWith(reg.applyConfigurationContentOnDevice(leaf, { modulesContent: edgeManifest('x/y:1') }), 'ArgumentError');
    await rejectsWith(reg.applyConfigurationContentOnDevice(id('absent'), { modulesContent: edgeManifest('x/y:1') }),
      'DeviceNotFoundError');
  });
});
