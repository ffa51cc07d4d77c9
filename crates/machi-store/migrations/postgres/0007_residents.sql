-- 住民アカウント (optional): sign-in by an e-mailed link or any OpenID Connect provider, a
-- profile that prefills forms (once-only), and "my applications".
CREATE TABLE residents (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    email TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX residents_by_email ON residents (tenant_id, email) WHERE email IS NOT NULL;

-- Who a resident is at an OpenID Connect provider (issuer + subject).
CREATE TABLE resident_identities (
    tenant_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents(tenant_id, id)
);

CREATE TABLE resident_profiles (
    tenant_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    profile TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resident_id),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents(tenant_id, id)
);

CREATE TABLE resident_sessions (
    id_sha256 TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents(tenant_id, id)
);

-- One-time sign-in links sent by e-mail (only the token's SHA-256 is kept).
CREATE TABLE resident_login_links (
    token_sha256 TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX resident_login_links_by_email ON resident_login_links (tenant_id, email, created_at);

-- OpenID Connect sign-ins under way: state → nonce and PKCE verifier (any node may get the
-- callback).
CREATE TABLE oidc_logins (
    state TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

ALTER TABLE applications ADD COLUMN resident_id TEXT;
CREATE INDEX applications_by_resident ON applications (tenant_id, resident_id, submitted_at) WHERE resident_id IS NOT NULL;
