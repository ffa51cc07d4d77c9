-- Fees: payments of applications through a provider, every provider notification once, and
-- the books of the built-in test provider (which plays an outside payment company).
CREATE TABLE payments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    amount_yen INTEGER NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    paid_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number)
);
CREATE INDEX payments_by_receipt ON payments (tenant_id, receipt_number);
CREATE INDEX payments_by_time ON payments (tenant_id, created_at);
-- At most one payment per application may be waiting at the provider.
CREATE UNIQUE INDEX payments_one_pending ON payments (tenant_id, receipt_number) WHERE state = 'pending';

CREATE TABLE payment_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE test_provider_charges (
    session_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    amount_yen INTEGER NOT NULL,
    description TEXT NOT NULL,
    return_url TEXT NOT NULL,
    webhook_url TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at TEXT NOT NULL
);
