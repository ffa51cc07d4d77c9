-- 利用者登録 and 抽選: the persons and groups registered to use the city's facilities (one
-- registration per person: the representative's identity is kept only as a digest), the
-- lottery rounds (one per service and month, their seed committed by its hash when the round
-- is made and revealed at the draw) and the applications, each with its ranked wishes.
CREATE TABLE facility_registrations (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    representative TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    in_city BIGINT NOT NULL,
    identity_sha256 TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, number),
    UNIQUE (tenant_id, identity_sha256)
);

CREATE TABLE lottery_rounds (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    service_id TEXT NOT NULL,
    month TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    seed TEXT NOT NULL,
    seed_sha256 TEXT NOT NULL,
    drawn_at TEXT,
    published TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, month)
);

CREATE TABLE lottery_applications (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL,
    service_id TEXT NOT NULL,
    month TEXT NOT NULL,
    registration TEXT NOT NULL,
    wishes TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, number),
    UNIQUE (tenant_id, service_id, month, registration)
);

-- A booking won in a lottery: its application, and until when it must be confirmed.
ALTER TABLE bookings ADD COLUMN lottery_application TEXT;
ALTER TABLE bookings ADD COLUMN confirm_by TEXT;
