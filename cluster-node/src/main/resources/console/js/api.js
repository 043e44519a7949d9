// The public REST API, nothing else: every call carries api-version and a SAS token from the
// in-memory session; errors come back as ApiError with IoT Hub's code and message.
import { signer } from './sas.js';

export const API_VERSION = '2021-04-12';
const TOKEN_SECONDS = 3600;

let session = null; // { hostName, policy, sign, token, expiry }

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export async function signIn(credentials) {
  const sign = await signer(credentials);
  const s = { hostName: credentials.hostName, policy: credentials.policy, sign, token: null, expiry: 0 };
  session = s;
  try {
    // Any cheap call that needs a valid token: proves the key before the console opens.
    await request('GET', '/statistics/service');
  } catch (e) {
    session = null;
    throw e;
  }
  return { hostName: s.hostName, policy: s.policy };
}

export function signOut() {
  session = null;
}

export function signedIn() {
  return session ? { hostName: session.hostName, policy: session.policy } : null;
}

/** The current token, renewed five minutes before it expires. */
export async function token() {
  if (!session) throw new ApiError(401, 'NotSignedIn', 'not signed in');
  const now = Math.floor(Date.now() / 1000);
  if (!session.token || session.expiry - now < 300) {
    session.expiry = now + TOKEN_SECONDS;
    session.token = await session.sign(session.expiry);
  }
  return session.token;
}

function withVersion(path) {
  return path + (path.includes('?') ? '&' : '?') + 'api-version=' + API_VERSION;
}

/** Parses IoT Hub's error body ({"Message":"ErrorCode:X;text..."}) into code and text. */
export function parseError(status, text) {
  let code = `HTTP ${status}`;
  let message = text || `HTTP ${status}`;
  try {
    const body = JSON.parse(text);
    const m = String(body.Message ?? body.message ?? '');
    const match = /^ErrorCode:([^;]+);(.*)$/s.exec(m);
    if (match) {
      code = match[1];
      message = match[2];
      // The text may end with a JSON object holding the real message.
      const brace = message.indexOf('{');
      if (brace >= 0) {
        try {
          const inner = JSON.parse(message.slice(brace));
          if (inner.message) message = inner.message;
        } catch { message = message.slice(0, brace).replace(/;$/, ''); }
      }
    } else if (m) {
      message = m;
    }
  } catch { /* not JSON: keep the text */ }
  return new ApiError(status, code, message, text);
}

/**
 * One call: method, path (without api-version), optional JSON body, extra headers.
 * Resolves to { status, headers, json, text }; rejects with ApiError for any status >= 400.
 */
export async function request(method, path, body, headers = {}, { raw = false } = {}) {
  const h = { Authorization: await token(), ...headers };
  const init = { method, headers: h };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(raw ? path : withVersion(path), init);
  const text = await response.text();
  if (response.status >= 400) throw parseError(response.status, text);
  let json = null;
  const type = response.headers.get('Content-Type') || '';
  if (text && type.includes('json')) json = JSON.parse(text);
  return { status: response.status, headers: response.headers, json, text };
}

/** A non-JSON body (a function app's JAR): PUT with its own content type. */
export async function putBytes(path, blob, contentType) {
  const response = await fetch(withVersion(path), {
    method: 'PUT', body: blob, headers: { Authorization: await token(), 'Content-Type': contentType },
  });
  const text = await response.text();
  if (response.status >= 400) throw parseError(response.status, text);
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

export const get = (path, headers) => request('GET', path, undefined, headers);
export const put = (path, body, headers) => request('PUT', path, body, headers);
export const patch = (path, body, headers) => request('PATCH', path, body, headers);
export const post = (path, body, headers) => request('POST', path, body, headers);
export const del = (path, headers) => request('DELETE', path, undefined, headers);

export const enc = encodeURIComponent;

/** One page of a query: { items, continuation }. */
export async function query(sql, pageSize, continuation) {
  const headers = {};
  if (pageSize) headers['x-ms-max-item-count'] = String(pageSize);
  if (continuation) headers['x-ms-continuation'] = continuation;
  const r = await post('/devices/query', { query: sql }, headers);
  return { items: r.json || [], continuation: r.headers.get('x-ms-continuation') };
}

/**
 * A Server-Sent Events stream read with fetch(): EventSource cannot send the Authorization header
 * the stream needs. Calls onEvent({id, data}) per event; reconnects with Last-Event-ID (the
 * stream's offset) after a drop, so nothing is lost or repeated. Returns { stop(), lastId() }.
 */
export function sse(path, { lastEventId = null, onEvent, onState = () => {} }) {
  let stopped = false;
  let controller = null;
  let last = lastEventId;
  async function run() {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { Authorization: await token(), Accept: 'text/event-stream' };
        if (last) headers['Last-Event-ID'] = last;
        const response = await fetch(path, { headers, signal: controller.signal });
        if (response.status >= 400) {
          const err = parseError(response.status, await response.text());
          onState('error', err);
          if (response.status < 500) return; // a 4xx will not heal by retrying
        } else {
          onState('open');
          delay = 1000;
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
              const event = parseSseBlock(block);
              if (event) {
                if (event.id) last = event.id;
                onEvent(event);
              }
            }
          }
          if (!stopped) onState('reconnecting');
        }
      } catch (e) {
        if (stopped) return;
        onState('reconnecting', e);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return {
    stop() { stopped = true; controller?.abort(); onState('stopped'); },
    lastId: () => last,
  };
}

/** One SSE block (lines up to a blank line) → {id, event, data}; null for comments only. */
export function parseSseBlock(block) {
  const event = { id: null, event: 'message', data: '' };
  let has = false;
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'data') { event.data += (has ? '\n' : '') + value; has = true; }
    else if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
  }
  return has ? event : null;
}
