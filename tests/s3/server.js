// tests/s3/server.js — a local S3-compatible store for tests/it_backup_s3.py:
// s3rver (pinned by package-lock.json) on an internal loopback port, behind
// a small front on S3_PORT that checks what s3rver 3.7.1 does not: the AWS
// SigV4 signature of every request (s3rver only looks the access key id up:
// "Signature version 4 calculation is unimplemented"), and that a body's
// SHA-256 is the x-amz-content-sha256 the signature covers. So a wrong
// secret key, a wrongly signed request or a corrupted upload is refused
// with 403 / 400 and an S3 error document, as AWS does.
// Env: S3_DIR, S3_PORT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY. Prints
// "ready <port>" once it listens.
'use strict';
const crypto = require('crypto');
const http = require('http');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const ACCESS = process.env.S3_ACCESS_KEY;
const SECRET = process.env.S3_SECRET_KEY;
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(ACCESS, SECRET);

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function s3error(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code + '</Code><Message>' +
    message + '</Message></Error>');
}

// The reason the request's signature is wrong, or null when it is right.
function checkSignature(req, bodyHash) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return ['AccessDenied', 'no AWS4-HMAC-SHA256 authorization'];
  const [, access, date, region, signedHeaders, signature] = m;
  if (access !== ACCESS) return ['InvalidAccessKeyId', 'unknown access key id'];
  const amzDate = req.headers['x-amz-date'] || '';
  const payload = req.headers['x-amz-content-sha256'] || '';
  const u = new URL(req.url, 'http://x');
  const query = [...u.searchParams.entries()].map(([k, v]) => enc(k) + '=' + enc(v)).sort().join('&');
  const path = u.pathname.split('/').map((p) => enc(decodeURIComponent(p))).join('/');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date') || !names.includes('x-amz-content-sha256'))
    return ['AccessDenied', 'host, x-amz-date and x-amz-content-sha256 must be signed'];
  const canonHeaders = names.map((n) => n + ':' + String(req.headers[n] || '').trim().replace(/\s+/g, ' ') + '\n').join('');
  const canonical = [req.method, path, query, canonHeaders, signedHeaders, payload].join('\n');
  const scope = [date, region, 's3', 'aws4_request'].join('/');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + SECRET, date), region), 's3'), 'aws4_request');
  const want = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  if (want !== signature) return ['SignatureDoesNotMatch', 'the signature does not match'];
  if (payload !== bodyHash) return ['XAmzContentSHA256Mismatch', 'the body is not the one signed'];
  return null;
}

new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: process.env.S3_DIR,
  silent: true,
  configureBuckets: [{ name: process.env.S3_BUCKET, configs: [] }],
}).run().then(({ port: inner }) => {
  const front = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bad = checkSignature(req, sha(body));
      if (bad) {
        s3error(res, bad[0] === 'XAmzContentSHA256Mismatch' ? 400 : 403, bad[0], bad[1]);
        return;
      }
      const fwd = http.request({ host: '127.0.0.1', port: inner, method: req.method, path: req.url,
        headers: req.headers }, (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      fwd.on('error', () => s3error(res, 502, 'InternalError', 's3rver did not answer'));
      fwd.end(body);
    });
  });
  front.listen(Number(process.env.S3_PORT), '127.0.0.1', () => console.log('ready ' + front.address().port));
}, (err) => {
  console.error(err);
  process.exit(1);
});
