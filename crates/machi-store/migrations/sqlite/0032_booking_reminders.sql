-- The day-before reminder of a booking: when it was queued (so that it goes once).
ALTER TABLE bookings ADD COLUMN reminded_at TEXT;
