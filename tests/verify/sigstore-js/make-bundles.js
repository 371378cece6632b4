// Makes Sigstore bundles with sigstore-js, a producer independent of
// strata, against @sigstore/mock's Fulcio (with its CT log), Rekor and
// timestamp authority, and writes them with the matching trusted root.
//
//   node make-bundles.js OUTDIR [NAME=FILE]...
//
// The mock services answer in-process (nock intercepts sigstore-js's HTTP
// requests to their made-up hosts), so nothing listens and nothing leaves
// the machine. OUTDIR gets artifact, statement.json, trusted_root.json,
// identity, issuer, and one NAME.sigstore.json per bundle:
//   msg-rekor        message signature, Rekor v1 entry (hashedrekord)
//   msg-rekor-tsa    the same, with an RFC 3161 timestamp too
//   msg-tsa          timestamp only, no log entry (keyless needs one)
//   dsse-rekor-tsa   DSSE in-toto statement about the artifact (dsse entry)
//   dsse-intoto      the same logged as an intoto entry
// and for each NAME=FILE (an image manifest, say), bundles over FILE's
// bytes, as cosign v3 attaches them to an image as referrers:
//   NAME             message signature over FILE (its digest is the
//                    image's), Rekor v1 entry and a timestamp
//   NAME-dsse        a DSSE in-toto statement whose subject is FILE's
//                    sha256 (predicate https://sigstore.dev/cosign/sign/v1,
//                    cosign v3's image signature), Rekor v1 entry
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const nock = require('nock');
const mock = require('@sigstore/mock');
const sign = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

const FULCIO = 'https://fulcio.mock.test';
const REKOR = 'https://rekor.mock.test';
const TSA = 'https://tsa.mock.test';
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT =
  'https://github.com/acme/base/.github/workflows/release.yml@refs/heads/main';

// The TBSCertificate inside a DER certificate: the first element of the
// outer SEQUENCE.
function tbsOf(der) {
  const len = (buf, off) => {
    const b = buf[off + 1];
    if (b < 0x80) return [2, b];
    const n = b & 0x7f;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + buf[off + 2 + i];
    return [2 + n, v];
  };
  const [hl] = len(der, 0);
  const [thl, tlen] = len(der, hl);
  return der.subarray(hl, hl + thl + tlen);
}

// A CT log that signs SCTs as RFC 6962 says (a DER ECDSA signature over
// the precertificate's digitally-signed struct). @sigstore/mock's own SCTs
// verify under no RFC 6962 verifier (0.10 serialises an empty signature,
// later versions a raw r||s one); its CA calls log() and embeds what it
// returns, as Fulcio embeds what its CT log returns.
function ctLog() {
  const { publicKey, privateKey } = keyPair();
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const logID = crypto.createHash('sha256').update(spki).digest();
  return {
    publicKey: spki,
    logID,
    async log(precert, issuerID) {
      const tbs = tbsOf(Buffer.from(precert));
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(BigInt(Date.now()));
      const len24 = Buffer.from([tbs.length >> 16, (tbs.length >> 8) & 255, tbs.length & 255]);
      const signed = Buffer.concat([
        Buffer.from([0, 0]), // v1, certificate_timestamp
        ts,
        Buffer.from([0, 1]), // precert_entry
        Buffer.from(issuerID),
        len24,
        tbs,
        Buffer.from([0, 0]), // no extensions
      ]);
      const sig = crypto.sign('sha256', signed, { key: privateKey, dsaEncoding: 'der' });
      const sct = Buffer.concat([
        Buffer.from([0]),
        logID,
        ts,
        Buffer.from([0, 0]), // no extensions
        Buffer.from([4, 3]), // sha256, ecdsa
        Buffer.from([sig.length >> 8, sig.length & 255]),
        sig,
      ]);
      // The CA prefixes the list length; the SCT carries its own.
      return Buffer.concat([Buffer.from([sct.length >> 8, sct.length & 255]), sct]);
    },
  };
}

function keyPair() {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

// Serves a @sigstore/mock handler at base for every request.
function serve(base, handler) {
  nock(base)
    .persist()
    .post(handler.path)
    .reply(async (_, body) => {
      const req = typeof body === 'string' ? body : JSON.stringify(body);
      const { statusCode, response, contentType } = await handler.fn(req);
      return [statusCode, response, { 'Content-Type': contentType || 'text/plain' }];
    });
}

// An unsigned JWT: the mock Fulcio only reads its claims.
function token(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

const b64 = (buf) => Buffer.from(buf).toString('base64');

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: make-bundles.js OUTDIR [NAME=FILE]...');
  fs.mkdirSync(out, { recursive: true });
  const start = new Date(Date.now() - 3600 * 1000).toISOString();

  const ctlog = ctLog();
  const ca = await mock.initializeCA(keyPair(), ctlog);
  const tlog = await mock.initializeTLog(REKOR, keyPair());
  const tsa = await mock.initializeTSA(keyPair());
  serve(FULCIO, mock.fulcioHandler(ca));
  serve(REKOR, mock.rekorHandler(tlog));
  serve(TSA, mock.tsaHandler(tsa));

  const identityProvider = {
    getToken: async () => token({ iss: ISSUER, sub: SUBJECT, aud: 'sigstore' }),
  };
  const signer = new sign.FulcioSigner({ fulcioBaseURL: FULCIO, identityProvider });
  const rekor = new sign.RekorWitness({ rekorBaseURL: REKOR });
  const rekorIntoto = new sign.RekorWitness({ rekorBaseURL: REKOR, entryType: 'intoto' });
  const timestamps = new sign.TSAWitness({ tsaBaseURL: TSA });

  const artifact = Buffer.from('strata: an artifact signed by sigstore-js\n');
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'artifact', digest: { sha256: digest } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: { buildType: 'https://example.com/build', externalParameters: {} },
        runDetails: { builder: { id: 'https://example.com/builder' } },
      },
    })
  );
  const intoto = 'application/vnd.in-toto+json';

  const bundles = {
    'msg-rekor': new sign.MessageSignatureBundleBuilder({ signer, witnesses: [rekor] })
      .create({ data: artifact }),
    'msg-rekor-tsa': new sign.MessageSignatureBundleBuilder({
      signer, witnesses: [rekor, timestamps] }).create({ data: artifact }),
    'msg-tsa': new sign.MessageSignatureBundleBuilder({ signer, witnesses: [timestamps] })
      .create({ data: artifact }),
    'dsse-rekor-tsa': new sign.DSSEBundleBuilder({ signer, witnesses: [rekor, timestamps] })
      .create({ data: statement, type: intoto }),
    'dsse-intoto': new sign.DSSEBundleBuilder({ signer, witnesses: [rekorIntoto] })
      .create({ data: statement, type: intoto }),
  };
  for (const arg of process.argv.slice(3)) {
    const eq = arg.indexOf('=');
    if (eq < 1) throw new Error(`not NAME=FILE: ${arg}`);
    const name = arg.slice(0, eq);
    const data = fs.readFileSync(arg.slice(eq + 1));
    const sha = crypto.createHash('sha256').update(data).digest('hex');
    const st = Buffer.from(JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name, digest: { sha256: sha } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }));
    bundles[name] = new sign.MessageSignatureBundleBuilder({
      signer, witnesses: [rekor, timestamps] }).create({ data });
    bundles[`${name}-dsse`] = new sign.DSSEBundleBuilder({ signer, witnesses: [rekor] })
      .create({ data: st, type: intoto });
  }
  for (const [name, promise] of Object.entries(bundles)) {
    const bundle = await promise;
    fs.writeFileSync(path.join(out, `${name}.sigstore.json`),
      JSON.stringify(bundleToJSON(bundle), null, 2));
  }

  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(tlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start } },
      logId: { keyId: b64(crypto.createHash('sha256').update(tlog.publicKey).digest()) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: FULCIO,
      certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: 'https://ctfe.mock.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start } },
      logId: { keyId: b64(ctlog.logID) },
    }],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: TSA,
      certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) },
        { rawBytes: b64(tsa.rootCertificate) }] },
      validFor: { start },
    }],
  };
  fs.writeFileSync(path.join(out, 'trusted_root.json'), JSON.stringify(root, null, 2));
  fs.writeFileSync(path.join(out, 'artifact'), artifact);
  fs.writeFileSync(path.join(out, 'statement.json'), statement);
  fs.writeFileSync(path.join(out, 'identity'), SUBJECT + '\n');
  fs.writeFileSync(path.join(out, 'issuer'), ISSUER + '\n');
}

main().catch((e) => {
  console.error(`make-bundles: ${e.stack || e}`);
  process.exit(1);
});
