-- えらべる化: residents subscribe without an account, and every message machi sends (notices to
-- subscribers, application status mail, sign-in links) goes through one durable outbox.

-- A subscription's id is a random 256-bit token: it is the key of the manage and unsubscribe
-- links in every message, so it has to be recoverable (it is not a password: it can only change
-- or end this subscription). Unsubscribing deletes the row; nothing is kept about the person.
CREATE TABLE subscriptions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    categories TEXT NOT NULL,
    areas TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'ja',
    confirmed_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX subscriptions_by_address ON subscriptions (tenant_id, channel, address);
CREATE INDEX subscriptions_confirmed ON subscriptions (tenant_id, confirmed_at);

-- One row per message to one recipient. A notice's rows are inserted in the transaction that
-- saves the notice; workers claim due rows by lease, most urgent first.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    notice_id TEXT,
    subscription_id TEXT,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'ja',
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX deliveries_due ON deliveries (channel, priority, next_attempt_at) WHERE state = 'queued';
CREATE INDEX deliveries_by_notice ON deliveries (tenant_id, notice_id, channel);
CREATE UNIQUE INDEX deliveries_once ON deliveries (notice_id, subscription_id) WHERE notice_id IS NOT NULL;

-- Keys a city's nodes must share, made once (the Web Push VAPID key pair).
CREATE TABLE tenant_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Mail waiting in the old outbox moves into the new one.
INSERT INTO deliveries (tenant_id, channel, address, subject, body, priority, attempts, next_attempt_at, last_error, created_at)
    SELECT tenant_id, 'email', recipient, subject, body, 1, attempts, next_attempt_at, last_error, created_at
    FROM mail_outbox WHERE sent_at IS NULL;
DROP TABLE mail_outbox;
