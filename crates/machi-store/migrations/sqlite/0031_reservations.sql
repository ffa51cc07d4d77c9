-- 予約: the services residents book (definitions as JSON, as procedures are), how full each
-- slot of each resource is (the one row a booking updates, conditionally, so that no slot is
-- ever filled past its capacity), and the bookings. Slot times are local (JST) text.
CREATE TABLE services (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    department_code TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE slot_fill (
    tenant_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    booked BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, resource_id, starts_at)
);

CREATE TABLE bookings (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL,
    service_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    note TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    cancel_code_sha256 TEXT NOT NULL,
    idempotency_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, number)
);
CREATE UNIQUE INDEX bookings_by_idempotency_key ON bookings (tenant_id, idempotency_key);
CREATE INDEX bookings_by_service_time ON bookings (tenant_id, service_id, starts_at);
