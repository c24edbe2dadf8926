/*
 * test_hist_time.c - the one date/time parser (fm_hist_parse_time, history/fm_hist_time.c)
 * against tests/reference/hist_time_py.tsv (Python's datetime, gen_hist_time.py): every string
 * accepted or rejected as the reference says (syntax / calendar errors apart from the range),
 * to the nanosecond.  Each string is parsed from a heap copy of exactly its length, so that the
 * AddressSanitizer build catches any read past its end.  Then days_from_civil against a day
 * counter over 1600 .. 2400, and the argument checks.  Argument: the reference folder.
 */
#include "fm_hist.h"
#include "fm_test.h"

#include <inttypes.h>
#include <string.h>

static const char *status_name(fm_hist_status st)
{
    return st == FM_HIST_OK       ? "ok"
           : st == FM_HIST_EPARSE ? "parse"
           : st == FM_HIST_ERANGE ? "range"
                                  : "other";
}

static void test_reference(const char *dir)
{
    FILE *f = fm_test_open_table(dir, "hist_time_py.tsv");
    char line[512];
    int rows = 0, ok = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        CHECK(tab1 != NULL && tab2 != NULL, "bad row '%s'", line);
        if (tab1 == NULL || tab2 == NULL)
            continue;
        *tab1 = *tab2 = '\0';
        const char *want = tab1 + 1;
        int64_t want_ns = strtoll(tab2 + 1, NULL, 10);
        char *text = malloc(strlen(line) + 1); /* exactly the string: ASan sees an overread */
        memcpy(text, line, strlen(line) + 1);
        int64_t ns = -12345;
        fm_hist_status st = fm_hist_parse_time(text, &ns);
        CHECK(strcmp(status_name(st), want) == 0, "'%s': %s, want %s", line, status_name(st), want);
        if (st == FM_HIST_OK && strcmp(want, "ok") == 0)
            CHECK(ns == want_ns, "'%s': %" PRId64 ", want %" PRId64, line, ns, want_ns);
        else
            CHECK(ns == -12345, "'%s': *ns written on failure", line);
        ok += strcmp(want, "ok") == 0;
        free(text);
        rows++;
    }
    if (f != NULL)
        fclose(f);
    CHECK(rows >= 60 && ok >= 15, "only %d rows (%d accepted) read", rows, ok);
}

/* Every day from 1600-01-01 to 2400-12-31 against a counter stepping through the calendar. */
static void test_days(void)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day = fm_hist_days_from_civil(1600, 1, 1);
    CHECK(fm_hist_days_from_civil(1970, 1, 1) == 0, "epoch");
    CHECK(fm_hist_days_from_civil(2262, 1, 1) * 86400 == INT64_C(9214646400), "2262");
    int bad = 0;
    for (int y = 1600; y <= 2400; y++)
        for (unsigned m = 1; m <= 12; m++) {
            bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            unsigned n = (unsigned)len[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= n; d++, day++)
                bad += fm_hist_days_from_civil(y, m, d) != day;
        }
    CHECK(bad == 0, "%d days differ from the counter", bad);
}

static void test_arguments(void)
{
    int64_t ns = 7;
    CHECK(fm_hist_parse_time(NULL, &ns) == FM_HIST_EINVAL && ns == 7, "NULL text");
    CHECK(fm_hist_parse_time("2024-01-01", NULL) == FM_HIST_EINVAL, "NULL result");
    CHECK(fm_hist_parse_time("2024-01-01\t", &ns) == FM_HIST_EPARSE, "a tab after the date");
    CHECK(strcmp(fm_hist_strerror(FM_HIST_ERANGE), "date outside 1970 to 2261") == 0, "strerror");
    CHECK(strcmp(fm_hist_strerror((fm_hist_status)999), "unknown status") == 0, "unknown");
    for (int s = FM_HIST_OK; s <= FM_HIST_ECALLBACK; s++)
        CHECK(strcmp(fm_hist_strerror((fm_hist_status)s), "unknown status") != 0, "status %d", s);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_hist_time REFERENCE_DIR\n");
        return 2;
    }
    test_reference(argv[1]);
    test_days();
    test_arguments();
    printf("%d checks, %d failed\n", fm_test_checks, fm_test_failures);
    return fm_test_failures != 0;
}
