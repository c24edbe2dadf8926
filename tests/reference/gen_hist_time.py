#!/usr/bin/python3
"""Reference table for fm_hist_parse_time (history/fm_hist.h): hist_time_py.tsv.

Usage: /usr/bin/python3 tests/reference/gen_hist_time.py > tests/reference/hist_time_py.tsv

An independent reading of the one date grammar of flakemeter (docs/history.md, "Dates"): the
syntax by a regular expression, the calendar (month lengths, leap years), the clock, the offset
and the epoch arithmetic by Python's datetime, the range 1970-01-01T00:00:00Z (inclusive) to
2262-01-01T00:00:00Z (exclusive) on the instant.  Columns (tab-separated, one header row):
text, status (ok | parse | range), nanoseconds since the epoch (0 unless ok).  The same table
drives the C test of the parser (tests/history/test_hist_time.c) and the CLI test that
`tests --since` and `check --baseline` accept and reject the same strings
(tests/history/test_hist_time_cli.py).  Made with Python 3.11.2 (Debian 12).
"""
import datetime as dt
import re

GRAMMAR = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?)?", re.ASCII)
EPOCH = dt.datetime(1970, 1, 1)
END = (dt.datetime(2262, 1, 1) - EPOCH) // dt.timedelta(seconds=1)

CASES = [
    # dates alone and the calendar
    "2024-02-29", "2023-02-29", "2024-02-30", "2100-02-29", "2000-02-29", "2024-04-31",
    "2024-04-30", "2024-13-01", "2024-00-10", "2024-01-00", "2024-12-31", "2024-1-05",
    "24-01-05", "2024/01/05",
    # times
    "2024-03-01T12:34", "2024-03-01 12:34", "2024-03-01t12:34:56", "2024-03-01T12:34:56",
    "2024-03-01T24:00:00", "2024-03-01T23:60:00", "2024-03-01T23:59:60", "2024-03-01T23:59:61",
    "2024-03-01T1:02:03", "2024-03-01T12", "2024-03-01T", "2024-03-01T12:34:5",
    # fractions
    "2024-03-01T12:34:56.5", "2024-03-01T12:34:56,25", "2024-03-01T12:34:56.123456789",
    "2024-03-01T12:34:56.1234567891", "2024-03-01T12:34:56.", "2024-03-01T12:34.5",
    # zones
    "2024-03-01T12:34:56Z", "2024-03-01T12:34:56z", "2024-03-01T12:34:56+02:00",
    "2024-03-01T12:34:56-0530", "2024-03-01T12:34:56+05", "2024-03-01T00:30:00+01:00",
    "2024-03-01T12:34:56.25-00:30", "2024-03-01T12:34+02:00", "2024-03-01T12:34:56+24:00",
    "2024-03-01T12:34:56+02:60", "2024-03-01Z", "2024-03-01+02:00",
    # truncated offsets, trailing garbage
    "2024-05-06T07:08:09+", "2024-05-06T07:08:09-", "2024-05-06T07:08:09+0",
    "2024-05-06T07:08:09+02:", "2024-05-06T07:08:09+02:0", "2024-05-06T07:08:09+020",
    "2024-05-06T07:08:09ZZ", "2024-05-06T07:08:09Q", "2024-05-06 ", "2024-05-06T07:08:09 ",
    " 2024-05-06", "", "yesterday",
    # the range
    "1970-01-01", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
    "1969-12-31T23:30:00-01:00", "1900-01-01", "2261-12-31T23:59:59.999999999Z",
    "2262-01-01", "2262-01-01T00:00:00Z", "2261-12-31T23:30:00-01:00", "2262-04-11",
    "5000-01-01", "5098-03-05T10:15:30Z", "9999-12-31T23:59:59Z",
]


def parse(text):
    m = GRAMMAR.fullmatch(text)
    if m is None:
        return "parse", 0
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    if sign is not None and h is None:
        return "parse", 0
    try:
        day = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return "parse", 0
    h, mi, s = int(h or 0), int(mi or 0), int(s or 0)
    if h > 23 or mi > 59 or s > 60:
        return "parse", 0
    offset = dt.timedelta(0)
    if sign is not None:
        oh, om = int(oh), int(om or 0)
        if oh > 23 or om > 59:
            return "parse", 0
        offset = (1 if sign == "+" else -1) * dt.timedelta(hours=oh, minutes=om)
    # A leap second (:60) is the first second of the next minute.
    t = dt.datetime.combine(day, dt.time(h, mi, min(s, 59))) + dt.timedelta(seconds=s - min(s, 59))
    seconds = (t - offset - EPOCH) // dt.timedelta(seconds=1)
    if not 0 <= seconds < END:
        return "range", 0
    return "ok", seconds * 10**9 + int((frac or "")[:9].ljust(9, "0"))


print("text\tstatus\tns")
for text in CASES:
    status, ns = parse(text)
    print(f"{text}\t{status}\t{ns}")
