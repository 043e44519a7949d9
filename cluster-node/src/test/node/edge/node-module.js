'use strict';
// An IoT Edge module written with the official Node device SDK, unmodified: it connects with
// ModuleClient.fromEnvironment (the environment edgeAgent gives it), sends a JSON message every
// 500 ms on output 'out1' and answers the direct method 'echo'. Run by EdgeGatewayIT as a
// process module; its modules resolve from ../node_modules (installed by npm ci).
const { ModuleClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');

const me = process.env.IOTEDGE_MODULEID;
// How the SDK got its credentials: a connection string, or IoT Edge's workload API (no key here).
const auth = process.env.EdgeHubConnectionString ? 'connection string' : 'workload API';

ModuleClient.fromEnvironment(Mqtt, (err, client) => {
  if (err) {
    console.error('fromEnvironment failed:', err.message);
    process.exit(1);
  }
  client.on('error', (e) => console.error('client error:', e.message));
  client.onMethod('echo', (request, response) => {
    response.send(200, { module: me, auth, got: request.payload }, (e) => {
      if (e) console.error('method answer failed:', e.message);
    });
  });
  client.open((e) => {
    if (e) {
      console.error('open failed:', e.message);
      process.exit(1);
    }
    console.log('node module connected as', me);
    let n = 0;
    setInterval(() => {
      const m = new Message(JSON.stringify({ n, lang: 'node', auth }));
      m.contentType = 'application/json';
      m.contentEncoding = 'utf-8';
      m.properties.add('n', String(n));
      m.properties.add('lang', 'node');
      n++;
      client.sendOutputEvent('out1', m, (sendErr) => {
        if (sendErr) console.error('send failed:', sendErr.message);
      });
    }, 500);
  });
});
