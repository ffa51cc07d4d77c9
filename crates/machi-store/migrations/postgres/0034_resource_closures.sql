-- A resource closed for a day by staff (a hall's maintenance, a counter without staff): its
-- slots that day take no booking (`slot_fill.closed`), and the list of closures with why.
ALTER TABLE slot_fill ADD COLUMN closed BIGINT NOT NULL DEFAULT 0;

CREATE TABLE resource_closures (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    service_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, resource_id, day)
);

-- The application a booking is the visit of (転入予約 → a counter slot).
ALTER TABLE bookings ADD COLUMN application_receipt TEXT;
CREATE INDEX bookings_by_application ON bookings (tenant_id, application_receipt);

-- An iCalendar file sent with a direct e-mail (a booking's confirmation), as its attachment.
ALTER TABLE deliveries ADD COLUMN calendar TEXT;

-- 減免: the kinds of reduction staff confirmed for a registered user (JSON list of ids), and
-- what a booking costs after them.
ALTER TABLE facility_registrations ADD COLUMN reductions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE bookings ADD COLUMN fee_yen BIGINT;
ALTER TABLE bookings ADD COLUMN fee_note TEXT;
