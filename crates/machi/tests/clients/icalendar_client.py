"""Reads machi's iCalendar files with the `icalendar` package (RFC 5545), a parser nobody at
machi wrote: a booking's file and a facility's public feed of booked times.

usage: icalendar_client.py BOOKING_ICS_URL EXPECTED_START_UTC FEED_URL NAME_THAT_MUST_NOT_APPEAR
                           [ATTACHED_ICS_FILE]

The file attached to the confirmation e-mail, when given, must be the same booking.
"""

import sys
import urllib.request
from datetime import datetime, timezone

import icalendar


def fetch(url):
    with urllib.request.urlopen(url) as response:
        assert response.headers.get_content_type() == "text/calendar", response.headers
        return response.read()


def main():
    booking_url, expected_start, feed_url, secret_name = sys.argv[1:5]
    attached = sys.argv[5] if len(sys.argv) > 5 else None
    raw = fetch(booking_url)
    assert b"\r\n" in raw, "lines end in CRLF"
    calendar = icalendar.Calendar.from_ical(raw)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1, events
    event = events[0]
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND")
    expected = datetime.strptime(expected_start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert start == expected, (start, expected)
    assert end > start, (start, end)
    assert str(event["UID"]).startswith("booking-"), event["UID"]
    assert "デモ市" in str(event["SUMMARY"]), event["SUMMARY"]
    assert calendar["PRODID"], "a PRODID"

    feed = icalendar.Calendar.from_ical(fetch(feed_url))
    busy = list(feed.walk("VEVENT"))
    assert busy, "the feed lists the booked time"
    assert secret_name not in feed.to_ical().decode("utf-8"), "no personal data in the feed"
    if attached:
        with open(attached, "rb") as file:
            mailed = icalendar.Calendar.from_ical(file.read())
        [mailed_event] = list(mailed.walk("VEVENT"))
        assert str(mailed_event["UID"]) == str(event["UID"]), (mailed_event["UID"], event["UID"])
        assert mailed_event.decoded("DTSTART") == expected, mailed_event.decoded("DTSTART")
    print(f"ok: 1 booking, {len(busy)} booked time(s) in the feed")


if __name__ == "__main__":
    main()
