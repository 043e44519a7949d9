'use strict';
// azure-iot-device + azure-iot-device-mqtt: device and module clients over MQTT (TLS, port 8883),
// and azure-iothub's Client for direct methods to them.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { Message } = require('azure-iot-device');
const { NoRetry } = require('azure-iot-common');
const { id, key, registry, serviceClient, createDevice, createModule, openDevice, openModule, report, desiredPatches,
  eventually, rejectsWith, restGet, host } = require('./support');

/** Telemetry the node journaled for `deviceId`, from its change stream (NDJSON). */
async function telemetryOf(deviceId) {
  const body = await restGet(`/streams/deviceMessages?from=earliest&to=now&deviceId=${encodeURIComponent(deviceId)}`);
  return body.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

describe('device client over MQTT', () => {
  const reg = registry();
  const service = serviceClient();
  const clients = [];
  after(async () => { for (const c of clients) await c.close().catch(() => {}); });

  test('twin get, reported patch, desired-change callback with $version', async () => {
    const deviceId = id('mqtt-dev');
    const client = await openDevice(await createDevice(reg, deviceId));
    clients.push(client);

    const twin = await client.getTwin();
    assert.equal(twin.properties.desired.$version, 1);
    assert.equal(twin.properties.reported.$version, 1);

    await report(twin, { temperature: 21.5, firmware: { version: '1.0.3' } });
    const seen = await eventually('reported seen by the service', async () => {
      const t = (await reg.getTwin(deviceId)).responseBody;
      return t.properties.reported.temperature === 21.5 && t;
    });
    assert.equal(seen.properties.reported.$version, 2);
    assert.equal(seen.properties.reported.firmware.version, '1.0.3');
    assert.equal(seen.connectionState, 'Connected');

    const deltas = await desiredPatches(twin);
    await reg.updateTwin(deviceId, { properties: { desired: { interval: 30, mode: { eco: true } } } }, '*');
    const delta = await eventually('desired patch delivered', () => deltas.find((d) => d.interval === 30));
    assert.equal(delta.$version, 2);
    assert.equal(delta.mode.eco, true);
    await reg.updateTwin(deviceId, { properties: { desired: { interval: null } } }, '*');
    const removal = await eventually('null delivered', () => deltas.find((d) => d.$version === 3));
    assert.deepEqual(removal, { interval: null, $version: 3 });
    // The SDK merges patches into its copy of the twin.
    assert.equal(twin.properties.desired.interval, undefined);
    assert.equal(twin.properties.desired.$version, 3);
  });

  test('direct method: handler answers, the service gets status and payload', async () => {
    const deviceId = id('mqtt-meth');
    const client = await openDevice(await createDevice(reg, deviceId));
    clients.push(client);
    client.onDeviceMethod('reboot', (request, response) => {
      response.send(200, { method: request.methodName, got: request.payload }, () => {});
    });
    const { result } = await eventually('method subscribed', () =>
      service.invokeDeviceMethod(deviceId, { methodName: 'reboot', payload: { delay: 5 }, responseTimeoutInSeconds: 10 }));
    assert.equal(result.status, 200);
    assert.deepEqual(result.payload, { method: 'reboot', got: { delay: 5 } });

    // The SDK never answers a method it has no handler for, so the hub answers 504 after the timeout.
    await rejectsWith(service.invokeDeviceMethod(deviceId,
      { methodName: 'unknown', payload: null, responseTimeoutInSeconds: 5 }), 'GatewayTimeoutError');
  });

  test('more direct methods waiting for one device than the hub allows: 429 ThrottlingError', async () => {
    // NodeSdkIT sets twinhub.mqtt.max-pending-methods = 2: a third call while two wait is refused.
    const deviceId = id('mqtt-throttle');
    const client = await openDevice(await createDevice(reg, deviceId));
    clients.push(client);
    const held = [];
    client.onDeviceMethod('slow', (request, response) => held.push({ request, response }));
    client.onDeviceMethod('ping', (request, response) => response.send(200, null, () => {}));
    await eventually('methods subscribed', () =>
      service.invokeDeviceMethod(deviceId, { methodName: 'ping', payload: null, responseTimeoutInSeconds: 10 }));

    // The Client's default retry policy retries a ThrottlingError (for up to 4 minutes, backing off);
    // an application that wants to see it sets NoRetry.
    const noRetry = serviceClient();
    noRetry.setRetryPolicy(new NoRetry());
    const call = (n) => noRetry.invokeDeviceMethod(deviceId, { methodName: 'slow', payload: { n }, responseTimeoutInSeconds: 120 });
    const waiting = [call(1), call(2)];
    await eventually('two calls reached the device', () => held.length === 2);
    await assert.rejects(call(3), (err) => {
      assert.equal(err.constructor.name, 'ThrottlingError', `expected ThrottlingError, got ${err.constructor.name}: ${err.message}`);
      assert.equal(err.response.statusCode, 429);
      assert.match(err.responseBody, /ThrottlingException/);
      return true;
    });

    // With the default policy the SDK backs off and gets through once a call has been answered.
    const retried = service.invokeDeviceMethod(deviceId, { methodName: 'slow', payload: { n: 4 }, responseTimeoutInSeconds: 120 });
    for (const h of held.splice(0, 2)) h.response.send(200, { n: h.request.payload.n }, () => {});
    const answers = await Promise.all(waiting);
    assert.deepEqual(answers.map((a) => a.result.payload.n).sort(), [1, 2]);
    await eventually('the retried call reached the device', () => held.length === 1);
    held[0].response.send(200, { n: held[0].request.payload.n }, () => {});
    assert.equal((await retried).result.payload.n, 4);
  });

  test('telemetry with application and system properties', async () => {
    const deviceId = id('mqtt-tel');
    const client = await openDevice(await createDevice(reg, deviceId));
    clients.push(client);
    const m = new Message(JSON.stringify({ t: 22.1 }));
    m.messageId = 'msg-1';
    m.contentType = 'application/json';
    m.contentEncoding = 'utf-8';
    m.properties.add('alert', 'high temp');
    await client.sendEvent(m);
    const [event] = await eventually('telemetry journaled', async () => {
      const all = await telemetryOf(deviceId);
      return all.length === 1 && all;
    });
    assert.deepEqual(event.body, { t: 22.1 });
    assert.equal(event.properties.alert, 'high temp');
    assert.equal(event.systemProperties['$message-id'], 'msg-1');
    assert.equal(event.systemProperties['$content-type'], 'application/json');
    assert.equal(event.systemProperties['$iothub-connection-device-id'], deviceId);
  });

  test('UnauthorizedError when the device key is wrong', async () => {
    const deviceId = id('mqtt-bad');
    await createDevice(reg, deviceId);
    const wrong = `HostName=${host};DeviceId=${deviceId};SharedAccessKey=${key()}`;
    await rejectsWith(openDevice(wrong), 'UnauthorizedError');
  });

  test('a reported patch the hub refuses fails the update with the hub\'s message', async () => {
    const deviceId = id('mqtt-refused');
    const client = await openDevice(await createDevice(reg, deviceId));
    clients.push(client);
    const twin = await client.getTwin();
    // The Node device SDK turns every twin error status into a plain Error carrying the body's message.
    await assert.rejects(report(twin, { 'bad.key': 1 }), (err) => {
      assert.match(err.message, /bad\.key|key/i);
      return true;
    });
  });
});

describe('module client over MQTT', () => {
  const reg = registry();
  const service = serviceClient();
  const clients = [];
  after(async () => { for (const c of clients) await c.close().catch(() => {}); });

  test('module twin, desired change, method, telemetry', async () => {
    const deviceId = id('mqtt-mod');
    await reg.create({ deviceId });
    const client = await openModule(await createModule(reg, deviceId, 'filter'));
    clients.push(client);

    const twin = await client.getTwin();
    await report(twin, { state: 'running' });
    await eventually('module reported seen', async () =>
      (await reg.getModuleTwin(deviceId, 'filter')).responseBody.properties.reported.state === 'running');

    const deltas = await desiredPatches(twin);
    await reg.updateModuleTwin(deviceId, 'filter', { properties: { desired: { threshold: 7 } } }, '*');
    const delta = await eventually('module desired delivered', () => deltas.find((d) => d.threshold === 7));
    assert.equal(delta.$version, 2);

    client.onMethod('calibrate', (request, response) => response.send(201, { ok: request.payload.level }, () => {}));
    const { result } = await eventually('module method subscribed', () =>
      service.invokeDeviceMethod(deviceId, 'filter', { methodName: 'calibrate', payload: { level: 3 }, responseTimeoutInSeconds: 10 }));
    assert.equal(result.status, 201);
    assert.deepEqual(result.payload, { ok: 3 });

    const m = new Message('plain text');
    m.properties.add('kind', 'note');
    await client.sendEvent(m);
    const [event] = await eventually('module telemetry journaled', async () => {
      const all = await telemetryOf(deviceId);
      return all.length === 1 && all;
    });
    assert.equal(event.properties.kind, 'note');
    assert.equal(event.systemProperties['$iothub-connection-module-id'], 'filter');
  });
});

describe('direct method errors the service SDK maps', () => {
  const reg = registry();
  const service = serviceClient();

  test('a device that is not connected: 404 DeviceNotOnline (the SDK names only DeviceNotFound)', async () => {
    const deviceId = id('offline');
    await reg.create({ deviceId });
    await assert.rejects(service.invokeDeviceMethod(deviceId, { methodName: 'x', payload: null }), (err) => {
      assert.equal(err.response.statusCode, 404);
      assert.match(err.responseBody, /DeviceNotOnline/);
      return true;
    });
    await rejectsWith(service.invokeDeviceMethod(id('nobody'), { methodName: 'x', payload: null }), 'DeviceNotFoundError');
  });
});
