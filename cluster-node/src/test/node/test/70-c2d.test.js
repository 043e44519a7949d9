'use strict';
// Cloud-to-device messages: azure-iothub's Client (AMQPS, port 5671: SASL, $cbs put-token, the
// /messages/devicebound sender and /messages/serviceBound/feedback receiver) to a device client of
// azure-iot-device-mqtt (devices/{id}/messages/devicebound/#).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Message } = require('azure-iot-common');
const { id, registry, serviceClient, createDevice, openDevice, eventually, rejectsWith } = require('./support');

/** Messages the device client receives (it subscribes on the first 'message' listener), completed as they come. */
function receiveOn(client) {
  const received = [];
  client.on('message', (msg) => {
    received.push(msg);
    client.complete(msg, () => {});
  });
  return received;
}

describe('cloud-to-device messages (service Client over AMQP, device over MQTT)', () => {
  const reg = registry();
  const service = serviceClient();
  const devices = [];
  let feedback;
  const batches = [];

  before(async () => {
    await service.open();
    const { result } = await service.getFeedbackReceiver();
    feedback = result;
    feedback.on('message', (msg) => {
      batches.push(JSON.parse(msg.data.toString()));
      feedback.complete(msg, () => {});
    });
  });

  after(async () => {
    for (const c of devices) await c.close().catch(() => {});
    await service.close().catch(() => {});
  });

  /** The feedback record of `messageId`, once a batch carried it. */
  function feedbackFor(messageId) {
    return eventually(`feedback for ${messageId}`, () => batches.flat().find((r) => r.originalMessageId === messageId));
  }

  test('send with id, correlation id and properties; the device receives and completes; full feedback', async () => {
    const deviceId = id('c2d-dev');
    const client = await openDevice(await createDevice(reg, deviceId));
    devices.push(client);
    const received = receiveOn(client);

    const m = new Message(JSON.stringify({ command: 'open-valve', valve: 3 }));
    m.messageId = id('msg');
    m.correlationId = id('corr');
    m.ack = 'full';
    m.properties.add('priority', 'high');
    m.properties.add('zone', 'north');
    m.contentType = 'application/json';
    m.contentEncoding = 'utf-8';
    const sent = await service.send(deviceId, m);
    assert.equal(sent.result.constructor.name, 'MessageEnqueued');

    const msg = await eventually('message delivered', () => received.find((r) => r.messageId === m.messageId));
    assert.deepEqual(JSON.parse(msg.data.toString()), { command: 'open-valve', valve: 3 });
    assert.equal(msg.correlationId, m.correlationId);
    assert.equal(msg.properties.getValue('priority'), 'high');
    assert.equal(msg.properties.getValue('zone'), 'north');
    assert.equal(msg.contentType, 'application/json');
    assert.equal(msg.contentEncoding, 'utf-8');

    const record = await feedbackFor(m.messageId);
    assert.equal(record.deviceId, deviceId);
    assert.equal(record.statusCode, 'Success');
    assert.ok(!Number.isNaN(Date.parse(record.enqueuedTimeUtc)), record.enqueuedTimeUtc);
    // Completed: nothing left in the device's queue.
    await eventually('queue drained', async () =>
      (await reg.get(deviceId)).responseBody.cloudToDeviceMessageCount === 0);
  });

  test('a message queued while the device is offline is delivered when it connects', async () => {
    const deviceId = id('c2d-off');
    const cs = await createDevice(reg, deviceId);
    const m = new Message('queued while offline');
    // UUIDs go out as AMQP uuid values (the SDK's encodeUuid), not strings.
    m.messageId = crypto.randomUUID();
    m.correlationId = crypto.randomUUID();
    m.ack = 'positive';
    await service.send(deviceId, m);
    assert.equal((await reg.get(deviceId)).responseBody.cloudToDeviceMessageCount, 1);

    const client = await openDevice(cs);
    devices.push(client);
    const received = receiveOn(client);
    const msg = await eventually('queued message delivered on connect', () => received.find((r) => r.messageId === m.messageId));
    assert.equal(msg.data.toString(), 'queued while offline');
    assert.equal(msg.correlationId, m.correlationId);
    assert.equal((await feedbackFor(m.messageId)).statusCode, 'Success');
  });

  test('an expired message is not delivered; its feedback says Expired', async () => {
    const deviceId = id('c2d-exp');
    const cs = await createDevice(reg, deviceId);
    const expiring = new Message('too late');
    expiring.messageId = id('exp');
    expiring.ack = 'negative';
    expiring.expiryTimeUtc = Date.now() + 2000;
    await service.send(deviceId, expiring);
    const later = new Message('in time');
    later.messageId = id('ok');
    await service.send(deviceId, later);
    await eventually('the first message expired', () => Date.now() > expiring.expiryTimeUtc + 1000);

    const client = await openDevice(cs);
    devices.push(client);
    const received = receiveOn(client);
    await eventually('the message sent after it delivered', () => received.find((r) => r.messageId === later.messageId));
    assert.deepEqual(received.map((r) => r.messageId), [later.messageId]);
    assert.equal((await feedbackFor(expiring.messageId)).statusCode, 'Expired');
  });

  test('DeviceNotFoundError for a device that does not exist', async () => {
    await rejectsWith(service.send(id('nobody'), new Message('x')), 'DeviceNotFoundError');
  });

  test('DeviceMaximumQueueDepthExceededError once 50 messages wait', async () => {
    const deviceId = id('c2d-full');
    await createDevice(reg, deviceId);
    for (let i = 0; i < 50; i++) await service.send(deviceId, new Message(`m${i}`));
    await rejectsWith(service.send(deviceId, new Message('one too many')), 'DeviceMaximumQueueDepthExceededError');
    // Purged (DELETE /devices/{id}/commands, which the Node SDK has no call for) is left to the Java ITs.
  });
});
