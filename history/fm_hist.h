/*
 * fm_hist.h - libfmhist's common ground: its status codes and the one date/time parser that
 * every command and every report reader uses.
 *
 * Conventions (after fm_store.h and fm_stats.h): the library never prints and never exits;
 * every function returns an fm_hist_status (FM_HIST_OK = 0) and writes its results through its
 * last arguments; fm_hist_strerror turns a status into text.  When a store call failed the
 * status is FM_HIST_ESTORE and the detail is fm_store_errmsg(store).
 */
#ifndef FM_HIST_H
#define FM_HIST_H

#include <stdint.h>

typedef enum {
    FM_HIST_OK = 0,
    FM_HIST_EINVAL,     /* bad argument (a NULL pointer, an empty name) */
    FM_HIST_ENOMEM,     /* out of memory */
    FM_HIST_EIO,        /* a file could not be read */
    FM_HIST_EPARSE,     /* not well-formed: a report (detail in its result), or not a date */
    FM_HIST_ERANGE,     /* a date outside 1970-01-01T00:00:00Z .. 2261-12-31T23:59:59Z */
    FM_HIST_ESTORE,     /* the store failed (detail: fm_store_errmsg) */
    FM_HIST_ESTATS,     /* a statistics call failed (its fm_stats_status is in the result) */
    FM_HIST_ENOENT,     /* no such campaign */
    FM_HIST_ENODATA,    /* no CI history (in that suite), or a campaign without completed runs */
    FM_HIST_EAMBIGUOUS, /* the store holds several suites and none was chosen */
    FM_HIST_ECALLBACK,  /* a caller's callback asked to stop */
} fm_hist_status;

const char *fm_hist_strerror(fm_hist_status status);

/*
 * ---- Dates and times -------------------------------------------------------------------------
 *
 * The one grammar (docs/history.md, "Dates"), for JUnit timestamp= attributes, `tests --since
 * / --until` and `check --baseline`:
 *
 *     time   = date [ ("T" | "t" | " ") clock [ zone ] ]
 *     date   = YYYY "-" MM "-" DD                     a real day of the Gregorian calendar
 *     clock  = hh ":" mm [ ":" ss [ ("." | ",") 1*DIGIT ] ]
 *     zone   = "Z" | "z" | ("+" | "-") hh [ [":"] mm ]
 *
 * Every field has exactly the digits shown.  Months 01-12, days up to the month's length (29
 * February only in leap years), hours 00-23, minutes 00-59, seconds 00-60 (60, a leap second,
 * is the first second of the next minute: POSIX time has no leap seconds); an offset is at most
 * 23:59.  A fraction's digits after the ninth are read but ignored (nanoseconds).  No zone means
 * UTC; a zone needs a time.  Nothing may follow.  The instant must lie in 1970-01-01T00:00:00Z
 * .. 2261-12-31T23:59:59.999999999Z (as nanoseconds since the epoch in an int64_t, with room).
 */
#define FM_HIST_TIME_GRAMMAR "YYYY-MM-DD[THH:MM[:SS[.FRAC]][Z|+HH:MM|-HH:MM]]"

/*
 * text -> nanoseconds since 1970-01-01T00:00:00Z.  FM_HIST_EPARSE when text does not follow the
 * grammar or names a day or time that does not exist, FM_HIST_ERANGE when the instant is
 * outside the range above, FM_HIST_EINVAL for NULL arguments; *ns is written only on success.
 * Reads text up to its terminating NUL and never past it; pure integer arithmetic (no locale,
 * no TZ, no timegm).
 */
fm_hist_status fm_hist_parse_time(const char *text, int64_t *ns);

/* Days from 1970-01-01 to the given day of the proleptic Gregorian calendar (may be negative). */
int64_t fm_hist_days_from_civil(int64_t year, unsigned month, unsigned day);

#endif
