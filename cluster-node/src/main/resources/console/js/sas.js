// SAS tokens signed in the browser (WebCrypto HMAC-SHA256), exactly as the service SDKs sign them:
// sr = encodeURIComponent(host.toLowerCase()), sig = base64(HMAC(base64decode(key), sr + "\n" + se)).
// The key stays in this module's closure; nothing is written to storage.

/** Parses "HostName=..;SharedAccessKeyName=..;SharedAccessKey=.." into its fields (throws on missing ones). */
export function parseConnectionString(text) {
  const fields = {};
  for (const part of String(text).trim().split(';')) {
    if (!part) continue;
    const i = part.indexOf('=');
    if (i < 0) throw new Error(`"${part}" is not Name=Value`);
    fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  for (const name of ['HostName', 'SharedAccessKeyName', 'SharedAccessKey']) {
    if (!fields[name]) throw new Error(`the connection string has no ${name}`);
  }
  return { hostName: fields.HostName, policy: fields.SharedAccessKeyName, key: fields.SharedAccessKey };
}

function base64ToBytes(b64) {
  let bin;
  try { bin = atob(b64); } catch { throw new Error('the key is not base64'); }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** A signer for one policy: sign(expirySeconds) → "SharedAccessSignature sr=..&sig=..&se=..&skn=..". */
export async function signer({ hostName, policy, key }) {
  if (!crypto.subtle) throw new Error('WebCrypto is unavailable (the console must be opened over https)');
  const hmacKey = await crypto.subtle.importKey('raw', base64ToBytes(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sr = encodeURIComponent(hostName.toLowerCase());
  return async (expiry) => {
    const mac = await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(`${sr}\n${expiry}`));
    return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(bytesToBase64(mac))}&se=${expiry}&skn=${encodeURIComponent(policy)}`;
  };
}
