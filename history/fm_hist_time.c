/*
 * fm_hist_time.c - the one date/time parser of flakemeter (fm_hist.h, docs/history.md "Dates").
 *
 * A hand-written scanner over the grammar in fm_hist.h: every step looks at one character and
 * stops at the terminating NUL, so no input makes it read past the string (a cut-off offset
 * "+0" or a trailing "-" is a syntax error, not a read beyond the end).  Fields are checked
 * against the calendar (the month's length, leap years) before any arithmetic, and the instant
 * is computed from the civil date with integer arithmetic only (Howard Hinnant's
 * days_from_civil), so the result depends on neither the locale nor TZ.  Years have four digits,
 * so the seconds fit an int64_t with room; the range check (1970 .. 2261, UTC) happens on
 * seconds, before the multiplication to nanoseconds, which therefore cannot overflow.
 */
#include "fm_hist.h"

#include <stdbool.h>
#include <stddef.h>

/* 2262-01-01T00:00:00Z: the first second outside the range (days_from_civil(2262, 1, 1)). */
#define END_SECONDS INT64_C(9214646400)

int64_t fm_hist_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t yoe = year - era * 400;                                              /* [0, 399] */
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Exactly `count` decimal digits at *s; advances past them.  Stops at the NUL. */
static bool digits(const char **s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!is_digit(**s))
            return false;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    *out = v;
    return true;
}

static bool accept(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

static int month_days(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* "hh:mm[:ss[.frac]]" */
static bool clock(const char **s, int *hour, int *min, int *sec, int64_t *frac_ns)
{
    if (!digits(s, 2, hour) || !accept(s, ':') || !digits(s, 2, min))
        return false;
    if (accept(s, ':')) {
        if (!digits(s, 2, sec))
            return false;
        if (**s == '.' || **s == ',') {
            (*s)++;
            if (!is_digit(**s))
                return false;
            int64_t scale = 100000000;
            for (; is_digit(**s); (*s)++) {
                *frac_ns += (**s - '0') * scale;
                scale /= 10; /* 0 after the ninth digit: the rest is read, not counted */
            }
        }
    }
    return *hour <= 23 && *min <= 59 && *sec <= 60;
}

/* "Z" or "+hh[[:]mm]" / "-hh[[:]mm]" -> seconds east of UTC. */
static bool zone(const char **s, int *offset_s)
{
    if (accept(s, 'Z') || accept(s, 'z'))
        return true;
    int sign = **s == '-' ? -1 : **s == '+' ? 1 : 0, hh = 0, mm = 0;
    if (sign == 0)
        return false;
    (*s)++;
    if (!digits(s, 2, &hh))
        return false;
    if (accept(s, ':')) {
        if (!digits(s, 2, &mm))
            return false;
    } else if (is_digit(**s) && !digits(s, 2, &mm)) {
        return false;
    }
    if (hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return true;
}

fm_hist_status fm_hist_parse_time(const char *text, int64_t *ns)
{
    if (text == NULL || ns == NULL)
        return FM_HIST_EINVAL;
    const char *s = text;
    int year, month, day, hour = 0, min = 0, sec = 0, offset_s = 0;
    int64_t frac_ns = 0;
    if (!digits(&s, 4, &year) || !accept(&s, '-') || !digits(&s, 2, &month) || !accept(&s, '-') ||
        !digits(&s, 2, &day))
        return FM_HIST_EPARSE;
    if (month < 1 || month > 12 || day < 1 || day > month_days(year, month))
        return FM_HIST_EPARSE;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (!clock(&s, &hour, &min, &sec, &frac_ns))
            return FM_HIST_EPARSE;
        if (*s != '\0' && !zone(&s, &offset_s))
            return FM_HIST_EPARSE;
    }
    if (*s != '\0')
        return FM_HIST_EPARSE;
    int64_t seconds = fm_hist_days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 +
                      hour * 3600 + min * 60 + sec - offset_s;
    if (seconds < 0 || seconds >= END_SECONDS)
        return FM_HIST_ERANGE;
    *ns = seconds * 1000000000 + frac_ns;
    return FM_HIST_OK;
}
