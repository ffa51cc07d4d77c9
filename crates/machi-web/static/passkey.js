// Passkeys (WebAuthn) in the staff console: "Sign in with a passkey" on the sign-in page and
// "Add a passkey" on the account page. The server sends the options as JSON with binary values
// in base64url; this script turns them into what the browser's WebAuthn API takes, and the
// authenticator's answer back into JSON. Nothing here is needed to sign in with a password.
(() => {
  'use strict';

  const english = document.documentElement.lang === 'en';
  const say = (ja, en) => (english ? en : ja);

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(bytes, (c) => c.charCodeAt(0)).buffer;
  };
  const toBase64url = (buffer) => {
    let text = '';
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const withBinaryIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));
  /** The options without null members (WebIDL takes a missing member, not null, as absent). */
  const withoutNulls = (value) => {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value)
      .filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
  };

  /** Posts JSON and returns the JSON answer; a problem+json answer becomes an Error. */
  async function post(url, body, csrf) {
    const headers = { 'content-type': 'application/json' };
    if (csrf) headers['x-csrf-token'] = csrf;
    const response = await fetch(url, {
      method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin',
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(answer.detail || say('送信できませんでした。', 'The request failed.'));
    }
    return answer;
  }

  /** What to tell the person when a ceremony fails. */
  function explain(error) {
    if (error && error.name === 'NotAllowedError') {
      return say('パスキーの操作が取り消されたか、時間切れになりました。',
        'The passkey request was cancelled or timed out.');
    }
    if (error && error.name === 'InvalidStateError') {
      return say('この端末のパスキーはすでに登録されています。',
        'A passkey on this device is already registered.');
    }
    return (error && error.message) || say('エラーが発生しました。', 'Something went wrong.');
  }

  async function register(csrf, name) {
    const { ceremony, options } = await post('/staff/passkeys/register/start', {}, csrf);
    const sent = withoutNulls(options.publicKey);
    const publicKey = {
      ...sent,
      challenge: fromBase64url(sent.challenge),
      user: { ...sent.user, id: fromBase64url(sent.user.id) },
      excludeCredentials: withBinaryIds(sent.excludeCredentials),
    };
    const created = await navigator.credentials.create({ publicKey });
    const credential = {
      id: created.id,
      rawId: toBase64url(created.rawId),
      type: created.type,
      response: {
        attestationObject: toBase64url(created.response.attestationObject),
        clientDataJSON: toBase64url(created.response.clientDataJSON),
        transports: created.response.getTransports ? created.response.getTransports() : undefined,
      },
      extensions: created.getClientExtensionResults(),
    };
    await post('/staff/passkeys/register/finish', { ceremony, name, credential }, csrf);
  }

  async function signIn(next) {
    const { ceremony, options } = await post('/staff/login/passkey/start', {});
    const sent = withoutNulls(options.publicKey);
    const publicKey = {
      ...sent,
      challenge: fromBase64url(sent.challenge),
      allowCredentials: withBinaryIds(sent.allowCredentials),
    };
    const got = await navigator.credentials.get({ publicKey });
    const credential = {
      id: got.id,
      rawId: toBase64url(got.rawId),
      type: got.type,
      response: {
        authenticatorData: toBase64url(got.response.authenticatorData),
        clientDataJSON: toBase64url(got.response.clientDataJSON),
        signature: toBase64url(got.response.signature),
        userHandle: got.response.userHandle ? toBase64url(got.response.userHandle) : null,
      },
      extensions: got.getClientExtensionResults(),
    };
    return post('/staff/login/passkey/finish', { ceremony, credential, next });
  }

  /** Runs `work` on click, with the button disabled meanwhile and errors shown in `message`. */
  function onClick(button, message, work) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      message.textContent = '';
      try {
        await work();
      } catch (error) {
        message.textContent = explain(error);
        button.disabled = false;
      }
    });
  }

  const supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;

  const login = document.getElementById('passkey-login');
  if (login && supported) {
    login.hidden = false;
    onClick(document.getElementById('passkey-login-button'),
      document.getElementById('passkey-login-message'), async () => {
        const { redirect } = await signIn(login.dataset.next || '/staff');
        window.location.assign(redirect);
      });
  }

  const add = document.getElementById('passkey-add');
  if (add) {
    if (!supported) {
      document.getElementById('passkey-unsupported').hidden = false;
    } else {
      add.hidden = false;
      onClick(document.getElementById('passkey-add-button'),
        document.getElementById('passkey-add-message'), async () => {
          await register(add.dataset.csrf, document.getElementById('passkey-name').value);
          window.location.assign('/staff/account?added=1');
        });
    }
  }
})();
