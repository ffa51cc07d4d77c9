-- Passkeys (WebAuthn) for staff sign-in: each registered credential, and the ceremonies in
-- progress. A ceremony's state waits here between its two requests so that any node can
-- answer the second; it lives five minutes and is deleted when used.
CREATE TABLE staff_passkeys (
    tenant_id TEXT NOT NULL,
    -- The credential id, hex.
    credential_id TEXT NOT NULL,
    email TEXT NOT NULL,
    -- The WebAuthn user handle (a random UUID, the same for all passkeys of one account).
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    -- webauthn-rs `Passkey` as JSON: the public key, its algorithm and the signature counter.
    passkey TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    PRIMARY KEY (tenant_id, credential_id),
    FOREIGN KEY (tenant_id, email) REFERENCES users(tenant_id, email)
);
CREATE INDEX staff_passkeys_by_user ON staff_passkeys (tenant_id, email);

CREATE TABLE staff_passkey_ceremonies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    -- 'register' or 'login'.
    kind TEXT NOT NULL,
    -- Who registers; NULL for a sign-in, where the passkey itself names the account.
    email TEXT,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX staff_passkey_ceremonies_by_expiry ON staff_passkey_ceremonies (expires_at);
