'use strict';
// What IoT Hub offers and twinhub does not serve, as the SDKs show it (README's "Not served"
// table): each call fails at once with the error recorded here, never hangs or half-works.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client: DeviceClient, SharedAccessSignature } = require('azure-iot-device');
const { Mqtt, MqttWs } = require('azure-iot-device-mqtt');
const { Amqp: DeviceAmqp } = require('azure-iot-device-amqp');
const { id, ca, host, registry, createDevice, whatStillRunsAfter } = require('./support');

/** Asserts that `promise` rejects with an error of class `name` whose message matches `message`. */
async function failsWith(promise, name, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.constructor.name, name, `expected ${name}, got ${err.constructor.name}: ${err.message}`);
    if (message) assert.match(err.message, message);
    console.log(`# ${err.constructor.name}: ${err.message}`);
    return true;
  });
}

describe('not served: the errors the SDKs show', () => {
  const reg = registry();
  const clients = [];
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    // A client left running here is a bug of this file: say what, and fail (exit code 1).
    whatStillRunsAfter(10000, 1);
  });

  test('import/export jobs: ArgumentError; listJobs: Error Not found', async () => {
    const blob = 'https://account.blob.core.windows.net/container?sv=2020-08-04&sig=x';
    await failsWith(reg.importDevicesFromBlob(blob, blob), 'ArgumentError');
    await failsWith(reg.exportDevicesToBlob(blob, true), 'ArgumentError');
    await failsWith(reg.listJobs(), 'Error', /Not found/);
  });

  test('file upload: getBlobSharedAccessSignature fails', async () => {
    const deviceId = id('upload');
    // File upload goes over HTTPS (POST /devices/{id}/files) whatever the transport. With a key
    // connection string the SDK's first getDeviceCredentials starts a 45-minute token renewal
    // timer that only a transport disconnect stops; a client that never connects keeps it (and the
    // process) alive after close(). So this client gets a SAS token, which nothing renews.
    const key = /SharedAccessKey=([^;]+)/.exec(await createDevice(reg, deviceId))[1];
    const sas = SharedAccessSignature.create(host, deviceId, key, Math.floor(Date.now() / 1000) + 3600).toString();
    const client = DeviceClient.fromSharedAccessSignature(sas, Mqtt);
    clients.push(client);
    await failsWith(client.getBlobSharedAccessSignature('a.txt'), 'Error', /Bad Request/);
  });

  test('MQTT over WebSockets: UnauthorizedError on open', async () => {
    const client = DeviceClient.fromConnectionString(await createDevice(reg, id('mqttws')), MqttWs);
    clients.push(client);
    await client.setOptions({ ca });
    await failsWith(client.open(), 'UnauthorizedError');
  });

  test('device client over AMQP: UnauthorizedError on open', async () => {
    const client = DeviceClient.fromConnectionString(await createDevice(reg, id('amqpdev')), DeviceAmqp);
    clients.push(client);
    await client.setOptions({ ca });
    await failsWith(client.open(), 'UnauthorizedError');
  });
});
