-- A facility's fee (使用料) is paid online like a procedure's fee: a payment belongs to either
-- an application or a booking, never both. SQLite cannot drop a NOT NULL or add a foreign key
-- in place, so the table is rebuilt (nothing references it).
CREATE TABLE payments_new (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    receipt_number TEXT,
    booking_number TEXT,
    amount_yen INTEGER NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    paid_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, receipt_number) REFERENCES applications(tenant_id, receipt_number),
    FOREIGN KEY (tenant_id, booking_number) REFERENCES bookings(tenant_id, number),
    CHECK ((receipt_number IS NULL) <> (booking_number IS NULL))
);
INSERT INTO payments_new (tenant_id, id, receipt_number, amount_yen, provider, provider_ref, state,
    created_at, updated_at, paid_at)
SELECT tenant_id, id, receipt_number, amount_yen, provider, provider_ref, state, created_at,
    updated_at, paid_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_by_receipt ON payments (tenant_id, receipt_number);
CREATE INDEX payments_by_booking ON payments (tenant_id, booking_number);
CREATE INDEX payments_by_time ON payments (tenant_id, created_at);
-- At most one payment per application, and per booking, may be waiting at the provider.
CREATE UNIQUE INDEX payments_one_pending ON payments (tenant_id, receipt_number) WHERE state = 'pending';
CREATE UNIQUE INDEX payments_one_pending_booking ON payments (tenant_id, booking_number) WHERE state = 'pending';

-- When the booking's fee was paid online (the provider confirmed it).
ALTER TABLE bookings ADD COLUMN fee_paid_at TEXT;
