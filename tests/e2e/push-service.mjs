// A stand-in for a browser's push service (RFC 8030) in the browser tests, with the browser's
// half of the keys: headless Chromium cannot reach Google's push service here, so the test
// hands the page a subscription whose endpoint is this server and whose keys are made below,
// and reads what machi pushes as the browser would: ECDH + HKDF + AES-128-GCM (RFC 8291 over
// RFC 8188), and the VAPID token checked against the city's public key (RFC 8292).
import { createServer } from 'node:http';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';

/** Starts the push service; returns the subscription to hand the page, what arrived, and helpers. */
export async function startPushService() {
  // The browser's key pair (an uncompressed P-256 point) and its 16-byte auth secret.
  const ecdh = createECDH('prime256v1');
  const browserPublic = ecdh.generateKeys();
  const auth = randomBytes(16);
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end(); // Created, as RFC 8030 answers a push
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** What `PushSubscription.toJSON()` gives (base64url, no padding). */
    subscription: {
      endpoint: `${origin}/push/e2e-browser`,
      expirationTime: null,
      keys: { p256dh: browserPublic.toString('base64url'), auth: auth.toString('base64url') },
    },
    received,
    /** Waits (up to 20 s) until `count` pushes arrived. */
    async waitFor(count) {
      for (let i = 0; i < 200 && received.length < count; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (received.length < count) throw new Error(`expected ${count} pushes, got ${received.length}`);
      return received;
    },
    /** Decrypts an aes128gcm body (RFC 8291 section 3.4, one record) to text. */
    decrypt(body) {
      const salt = body.subarray(0, 16);
      const recordSize = body.readUInt32BE(16);
      const keyIdLength = body[20];
      const serverPublic = body.subarray(21, 21 + keyIdLength);
      const record = body.subarray(21 + keyIdLength);
      if (record.length > recordSize) throw new Error('more than one record');
      const shared = ecdh.computeSecret(serverPublic);
      const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browserPublic, serverPublic]);
      const ikm = Buffer.from(hkdfSync('sha256', shared, auth, keyInfo, 32));
      const derive = (info, length) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info), length));
      const decipher = createDecipheriv('aes-128-gcm', derive('Content-Encoding: aes128gcm\0', 16),
        derive('Content-Encoding: nonce\0', 12));
      decipher.setAuthTag(record.subarray(-16));
      const padded = Buffer.concat([decipher.update(record.subarray(0, -16)), decipher.final()]);
      // The last record ends with the delimiter 0x02 and any zero padding.
      let end = padded.length - 1;
      while (end > 0 && padded[end] === 0) end--;
      if (padded[end] !== 2) throw new Error('no last-record delimiter');
      return padded.subarray(0, end).toString('utf8');
    },
    /**
     * Checks `Authorization: vapid t=<JWT>, k=<key>`: the key is `publicKey` (base64url), and
     * the ES256 token verifies with it and names this service's origin. Returns the claims.
     */
    checkVapid(headers, publicKey) {
      const [, token, key] = /^vapid t=([^,\s]+),\s*k=(\S+)$/.exec(headers.authorization ?? '') ?? [];
      if (!token) throw new Error(`no VAPID authorization: ${headers.authorization}`);
      if (key !== publicKey) throw new Error('the VAPID key is not the city\'s');
      const point = Buffer.from(key, 'base64url');
      const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
      const [head, claims, signature] = token.split('.');
      const valid = verify('sha256', Buffer.from(`${head}.${claims}`),
        { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
      if (!valid) throw new Error('the VAPID signature does not verify');
      const parsed = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
      if (parsed.aud !== origin) throw new Error(`VAPID audience ${parsed.aud}, not ${origin}`);
      return parsed;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
