'use strict';
// What every acceptance test file shares: the node's coordinates (from NodeSdkIT's environment),
// SDK clients built the way an application builds them, unique ids, and waiting for conditions.
// Nothing here talks to twinhub in a way an application could not.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const { Registry, Client: ServiceClient } = require('azure-iothub');
const { Client: DeviceClient, ModuleClient } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: these tests run under NodeSdkIT (mvn verify), which starts the node`);
  return v;
}

const host = env('TWINHUB_HOST');
const serviceConnectionString = env('TWINHUB_SERVICE_CS');
const registryReadConnectionString = env('TWINHUB_REGISTRY_READ_CS');
const ca = fs.readFileSync(env('TWINHUB_CA'), 'utf8');

/** A fresh id with a readable prefix, so test files never share identities. */
function id(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

/** A base64 key as IoT Hub generates them (32 random bytes). */
function key() {
  return crypto.randomBytes(32).toString('base64');
}

function registry(connectionString = serviceConnectionString) {
  return Registry.fromConnectionString(connectionString);
}

function serviceClient() {
  return ServiceClient.fromConnectionString(serviceConnectionString);
}

/** Creates a device with known SAS keys and returns its connection string. */
async function createDevice(reg, deviceId) {
  const primaryKey = key();
  await reg.create({ deviceId, authentication: { symmetricKey: { primaryKey, secondaryKey: key() } } });
  return `HostName=${host};DeviceId=${deviceId};SharedAccessKey=${primaryKey}`;
}

/** Creates a module with known SAS keys and returns its connection string. */
async function createModule(reg, deviceId, moduleId) {
  const primaryKey = key();
  await reg.addModule({ deviceId, moduleId, authentication: { symmetricKey: { primaryKey, secondaryKey: key() } } });
  return `HostName=${host};DeviceId=${deviceId};ModuleId=${moduleId};SharedAccessKey=${primaryKey}`;
}

/** An opened device client over MQTT that trusts the node's CA through the SDK's `ca` option. */
async function openDevice(connectionString) {
  const client = DeviceClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca });
  await client.open();
  return client;
}

async function openModule(connectionString) {
  const client = ModuleClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca });
  await client.open();
  return client;
}

/** The device SDK's reported-properties update of `twin` as a promise (the SDK takes a callback only). */
function report(twin, patch) {
  return new Promise((resolve, reject) => twin.properties.reported.update(patch, (err) => (err ? reject(err) : resolve())));
}

/**
 * Collects the desired patches the device SDK hands over (copied as they arrive), once the hub has
 * acknowledged the subscription (SUBACK): a change made before that is not pushed, by IoT Hub
 * either. On subscription the SDK also emits its live desired object, which later patches mutate:
 * that one is not a patch and is left out.
 */
async function desiredPatches(twin) {
  const patches = [];
  twin.on('properties.desired', (d) => {
    if (d !== twin.properties.desired) patches.push(JSON.parse(JSON.stringify(d)));
  });
  await new Promise((resolve, reject) => twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve())));
  return patches;
}

/** Waits until `probe` returns a truthy value (or stops throwing) and returns it. */
async function eventually(what, probe, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = new Error(`not yet: ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not true within ${timeoutMs} ms; last: ${last && last.stack}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Asserts that `promise` rejects with the SDK error class named `name` (by class name: the SDK bundles copies). */
async function rejectsWith(promise, name) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.constructor.name, name, `expected ${name}, got ${err.constructor.name}: ${err.message}`);
    return true;
  });
}

/**
 * GET on the node's REST API with an iothubowner token, for what the Node service SDK cannot read
 * (device telemetry: twinhub's change streams). Resolves with the body as text.
 */
function restGet(path) {
  const { SharedAccessSignature } = require('azure-iothub');
  const cs = Object.fromEntries(serviceConnectionString.split(';').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const sas = SharedAccessSignature.create(host, cs.SharedAccessKeyName, cs.SharedAccessKey,
    Math.floor(Date.now() / 1000) + 3600).toString();
  return new Promise((resolve, reject) => {
    https.get({ host, port: 443, path, headers: { Authorization: sas } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`))));
    }).on('error', reject);
  });
}

// Where every socket and timer of this process was created (async hooks), for whatStillRunsAfter.
const origins = new Map();
require('node:async_hooks').createHook({
  init(asyncId, type, _trigger, resource) {
    if (type !== 'Timeout' && type !== 'TCPWRAP') return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    const stack = new Error().stack.split('\n').slice(2).filter((l) => !l.includes('node:internal')).join('\n');
    Error.stackTraceLimit = limit;
    origins.set(asyncId, { type, resource, stack });
  },
  destroy(asyncId) { origins.delete(asyncId); },
}).enable();

/**
 * Call from a file's last `after` hook: if the process is still running `ms` later (an SDK client
 * left a socket or a timer behind), prints what holds it and where each was created, then exits
 * with `exitCode`. Without this the runner would wait for the file forever.
 */
function whatStillRunsAfter(ms, exitCode) {
  setTimeout(() => {
    // Only what keeps the event loop alive: an unref'd timer or socket (e.g. an idle keep-alive
    // socket of https.globalAgent) does not.
    const refed = (o) => { try { return typeof o.resource.hasRef !== 'function' || o.resource.hasRef(); } catch { return true; } };
    const held = [...origins.values()].filter(refed);
    console.log(`# still running ${ms} ms after the last result: ${process.getActiveResourcesInfo().join(', ')}`);
    for (const s of process._getActiveHandles().filter((h) => h.remoteAddress)) {
      console.log(`# socket ${s.localAddress}:${s.localPort} -> ${s.remoteAddress}:${s.remotePort}`);
    }
    for (const o of held) console.log(`# ${o.type} created at\n${o.stack.replace(/^/gm, '#   ')}`);
    process.exit(exitCode);
  }, ms).unref();
}

/** POST to NodeSdkIT's control endpoint, e.g. `restart`; resolves when the node is back. */
async function control(action) {
  const res = await fetch(`${env('TWINHUB_CONTROL_URL')}/${action}`, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action}: ${res.status} ${text}`);
  return text;
}

module.exports = {
  host, ca, serviceConnectionString, registryReadConnectionString,
  id, key, registry, serviceClient, createDevice, createModule, openDevice, openModule, report, desiredPatches,
  eventually, rejectsWith, restGet, control, whatStillRunsAfter,
};
