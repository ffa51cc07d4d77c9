// A real OpenID Connect provider (the oidc-provider package, as certified implementations use)
// for the browser tests: code flow with PKCE, a confidential client for machi, and the
// package's development login and consent pages, where any login name is accepted.
import Provider from 'oidc-provider';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts the provider; `redirectUri` is machi's callback. Returns its issuer and a stop(). */
export async function startProvider(redirectUri) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'machi',
      client_secret: 'machi-test-secret',
      // A loopback http redirect is allowed for native clients (RFC 8252); a city's real
      // registration is a web client with an https callback.
      application_type: 'native',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    cookies: { keys: ['machi-e2e-cookie-key'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() { return { sub: id, email: `${id}@example.jp`, email_verified: true }; },
      };
    },
  });
  const server = provider.listen(port);
  await new Promise((resolve) => server.on('listening', resolve));
  return { issuer, stop: () => new Promise((resolve) => server.close(resolve)) };
}
