// Reads a Delivery API with the official Contentful JavaScript SDK and prints what it got.
// Usage: node delivery.mjs HOST SPACE TOKEN
import * as contentful from 'contentful';

const [host, space, accessToken] = process.argv.slice(2);
const client = contentful.createClient({ space, accessToken, host, insecure: true, retryLimit: 0 });
const raw = client.withoutLinkResolution;

// Links as the SDK resolved them: [entry, field, linked type, linked id, resolved?, then the
// same for the linked entry's own links], two levels deep (include: 2).
function links(item, depth) {
  const found = [];
  for (const [field, value] of Object.entries(item.fields || {}).sort()) {
    for (const linked of Array.isArray(value) ? value : [value]) {
      if (!linked || !linked.sys || !['Entry', 'Asset', 'Link'].includes(linked.sys.type)) continue;
      const resolved = 'fields' in linked;
      const below = resolved && depth > 1 ? links(linked, depth - 1) : [];
      found.push([item.sys.id, field, linked.sys.type, linked.sys.id, resolved, below]);
    }
  }
  return found;
}

const deep = await client.getEntries({ include: 2, order: 'sys.id', limit: 1000 });
const initial = await raw.sync({ initial: true });
const ids = (list) => list.map((item) => item.sys.id).sort();
console.log(JSON.stringify({
  resolved: deep.items.map((item) => links(item, 2)),
  german: (await raw.getEntries({ locale: 'de-DE', order: 'sys.id', limit: 10 })).items,
  entry: await raw.getEntry('porto', { locale: 'fr-FR' }),
  assets: (await client.getAssets({ order: 'sys.id' })).items,
  asset: await client.getAsset('porto-hero'),
  contentTypes: (await client.getContentTypes()).items,
  locales: (await client.getLocales()).items,
  tags: (await client.getTags()).items,
  sync: { entries: ids(initial.entries), assets: ids(initial.assets), token: initial.nextSyncToken },
}));
