// Runs one sync with the official Contentful JavaScript SDK and prints what it saw.
// Usage: node sync.mjs HOST SPACE TOKEN (initial LIMIT | delta SYNC_TOKEN)
import * as contentful from 'contentful';

const [host, space, accessToken, mode, arg] = process.argv.slice(2);
const client = contentful.createClient({ space, accessToken, host, insecure: true, retryLimit: 0 });
const query = mode === 'initial' ? { initial: true, limit: Number(arg) } : { nextSyncToken: arg };
const result = await client.withoutLinkResolution.sync(query);
const ids = (list) => list.map((item) => item.sys.id).sort();
console.log(JSON.stringify({
  entries: ids(result.entries),
  assets: ids(result.assets),
  deletedEntries: ids(result.deletedEntries),
  deletedAssets: ids(result.deletedAssets),
  nextSyncToken: result.nextSyncToken,
}));
