// Reference pipeline (issue 4): sync a whole space with the official JavaScript SDK,
// write one JSON file per entry and asset, then `git add -A` and commit.
// Usage: node pipeline.mjs HOST:PORT SPACE TOKEN OUTDIR
import * as contentful from 'contentful';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [host, space, accessToken, out] = process.argv.slice(2);
const client = contentful.createClient({ space, accessToken, host, insecure: true });
const result = await client.withoutLinkResolution.sync({ initial: true, limit: 1000 });
mkdirSync(out, { recursive: true });
execFileSync('git', ['init', '-q', out]);
for (const entry of result.entries) {
  const folder = join(out, 'entries', entry.sys.contentType.sys.id);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${entry.sys.id}.json`), JSON.stringify(entry, null, 2) + '\n');
}
mkdirSync(join(out, 'assets'), { recursive: true });
for (const asset of result.assets) {
  writeFileSync(join(out, 'assets', `${asset.sys.id}.json`), JSON.stringify(asset, null, 2) + '\n');
}
execFileSync('git', ['-C', out, 'add', '-A']);
execFileSync('git', ['-C', out, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost',
  'commit', '-q', '-m', 'sync']);
console.log(result.entries.length + result.assets.length);
