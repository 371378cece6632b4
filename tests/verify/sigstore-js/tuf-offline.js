// Serves a Sigstore trusted root to sigstore-js offline: @sigstore/cli
// (`sigstore verify`) takes its trusted root only from a TUF repository,
// so this writes one, signed with a throwaway Ed25519 key, straight into
// the layout of sigstore-js's TUF cache. With `--tuf-force-cache` the CLI
// then reads the trusted root from that cache and never goes to the
// network.
//
//   node tuf-offline.js TRUSTED_ROOT CACHE_DIR MIRROR_URL
//
// Writes CACHE_DIR/<mirror>/{root,timestamp,snapshot,targets}.json and
// targets/trusted_root.json, and CACHE_DIR/root.json (for
// --tuf-root-path). Then:
//   sigstore verify BUNDLE --tuf-mirror-url MIRROR_URL
//     --tuf-cache-path CACHE_DIR --tuf-root-path CACHE_DIR/root.json
//     --tuf-force-cache ...
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { canonicalize } = require('@tufjs/canonical-json');

function main() {
  const [rootFile, cacheDir, mirror] = process.argv.slice(2);
  if (!mirror) throw new Error('usage: tuf-offline.js TRUSTED_ROOT CACHE_DIR MIRROR_URL');
  const target = fs.readFileSync(rootFile);
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  const keyid = crypto.createHash('sha256').update(canonicalize(key)).digest('hex');
  const expires = '2099-01-01T00:00:00Z';
  const common = { spec_version: '1.0.31', version: 1, expires };
  const role = { keyids: [keyid], threshold: 1 };
  const signed = {
    root: { _type: 'root', ...common, consistent_snapshot: false, keys: { [keyid]: key },
      roles: { root: role, timestamp: role, snapshot: role, targets: role } },
    targets: { _type: 'targets', ...common, targets: { 'trusted_root.json': {
      length: target.length,
      hashes: { sha256: crypto.createHash('sha256').update(target).digest('hex') } } } },
    snapshot: { _type: 'snapshot', ...common, meta: { 'targets.json': { version: 1 } } },
    timestamp: { _type: 'timestamp', ...common, meta: { 'snapshot.json': { version: 1 } } },
  };
  const url = new URL(mirror);
  const repo = path.join(cacheDir, encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
  fs.mkdirSync(path.join(repo, 'targets'), { recursive: true });
  for (const [name, s] of Object.entries(signed)) {
    const sig = crypto.sign(null, Buffer.from(canonicalize(s)), privateKey).toString('hex');
    const doc = JSON.stringify({ signed: s, signatures: [{ keyid, sig }] });
    fs.writeFileSync(path.join(repo, `${name}.json`), doc);
    if (name === 'root') fs.writeFileSync(path.join(cacheDir, 'root.json'), doc);
  }
  fs.writeFileSync(path.join(repo, 'targets', 'trusted_root.json'), target);
}

main();
