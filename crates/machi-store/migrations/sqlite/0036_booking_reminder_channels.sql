-- Where a booking's day-before reminder goes besides its e-mail: a browser's push subscription
-- (the endpoint, its keys as JSON in `secret`) or a LINE user who sent the booking's link code
-- to the city's official account. At most a few per booking.
CREATE TABLE booking_reminder_channels (
    tenant_id TEXT NOT NULL,
    booking_number TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, booking_number, channel, address),
    FOREIGN KEY (tenant_id, booking_number) REFERENCES bookings(tenant_id, number)
);
