-- A facility's fee (使用料) is paid online like a procedure's fee: a payment belongs to either
-- an application or a booking, never both.
ALTER TABLE payments ALTER COLUMN receipt_number DROP NOT NULL;
ALTER TABLE payments ADD COLUMN booking_number TEXT;
ALTER TABLE payments ADD CONSTRAINT payments_booking_fkey
    FOREIGN KEY (tenant_id, booking_number) REFERENCES bookings(tenant_id, number);
ALTER TABLE payments ADD CONSTRAINT payments_one_subject
    CHECK ((receipt_number IS NULL) <> (booking_number IS NULL));
CREATE INDEX payments_by_booking ON payments (tenant_id, booking_number);
-- At most one payment per booking may be waiting at the provider.
CREATE UNIQUE INDEX payments_one_pending_booking ON payments (tenant_id, booking_number) WHERE state = 'pending';

-- When the booking's fee was paid online (the provider confirmed it).
ALTER TABLE bookings ADD COLUMN fee_paid_at TEXT;
