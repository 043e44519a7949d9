// A structural diff of two JSON documents: every leaf path that was added, removed or changed.

/** Flattens {a:{b:1}} to Map{"a.b" → 1}; arrays and empty objects are leaves. Skips paths matching skip. */
export function flatten(doc, skip = () => false, prefix = '', out = new Map()) {
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Object.keys(doc).length > 0) {
    for (const [k, v] of Object.entries(doc)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (!skip(path, k)) flatten(v, skip, path, out);
    }
  } else if (prefix) {
    out.set(prefix, doc);
  }
  return out;
}

/** [{path, kind: 'added'|'removed'|'changed', before, after}] sorted by path. */
export function diff(before, after, skip) {
  const a = flatten(before, skip);
  const b = flatten(after, skip);
  const out = [];
  for (const [path, v] of a) {
    if (!b.has(path)) out.push({ path, kind: 'removed', before: v });
    else if (JSON.stringify(v) !== JSON.stringify(b.get(path))) out.push({ path, kind: 'changed', before: v, after: b.get(path) });
  }
  for (const [path, v] of b) if (!a.has(path)) out.push({ path, kind: 'added', after: v });
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** What a twin's content is, for diffs and the editor: no $metadata, no $version, no identity fields. */
export function isBookkeeping(path, key) {
  return key === '$metadata' || key === '$version' || key === 'etag' || key === 'version' || key === 'lastActivityTime'
    || key === 'connectionState' || key === 'statusUpdateTime' || key === 'cloudToDeviceMessageCount';
}
