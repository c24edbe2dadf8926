/*
 * cli_common.c - argument parsing, messages and output helpers shared by the subcommands.
 *
 * Invariant: a parser either stores a valid value and returns 0, or prints exactly one line
 * on stderr (naming the option, the text it got and the accepted range) and returns
 * FM_EXIT_USAGE.  Nothing here exits the process: the command decides.
 */
#include "fm_cli.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fm_cli_cmd = "flakemeter";

static void vmessage(const char *fmt, va_list ap)
{
    if (strcmp(fm_cli_cmd, "flakemeter") == 0)
        fputs("flakemeter: ", stderr);
    else
        fprintf(stderr, "flakemeter %s: ", fm_cli_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int fm_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return FM_EXIT_USAGE;
}

int fm_cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return FM_EXIT_FAIL;
}

int fm_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    /* A leading ':' makes getopt tell a missing value (':') from an unknown option ('?'). */
    char spec[128];
    if (shortopts[0] == '+') /* '+' (stop at the first operand) must come before ':' */
        snprintf(spec, sizeof spec, "+:%s", shortopts + 1);
    else
        snprintf(spec, sizeof spec, ":%s", shortopts);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':')
        return c;
    const char *word = argv[optind - 1];
    if (c == ':')
        fm_cli_usage_error("option '%s' needs a value (see 'flakemeter %s --help')", word,
                           fm_cli_cmd);
    else if (optopt && strncmp(word, "--", 2) != 0)
        fm_cli_usage_error("unknown option '-%c' (see 'flakemeter %s --help')", optopt, fm_cli_cmd);
    else
        fm_cli_usage_error("unknown option '%s' (see 'flakemeter %s --help')", word, fm_cli_cmd);
    return '?';
}

/*
 * strtod over the whole text: PARSED, NOT_A_NUMBER (empty text, trailing junk, NaN, infinity,
 * overflow) or TOO_SMALL (a non-zero number below the smallest subnormal double, 4.9e-324,
 * that strtod rounds to 0).  Subnormal values (1e-320) are numbers like any other: strtod gives
 * them with ERANGE, and the caller's range check decides (README, "Standards").
 */
enum parsed { PARSED, NOT_A_NUMBER, TOO_SMALL };

static enum parsed parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != '\0' || isnan(x) || isinf(x))
        return NOT_A_NUMBER;
    if (errno == ERANGE && x == 0.0)
        return TOO_SMALL;
    if (errno == ERANGE && fabs(x) >= DBL_MIN) /* overflow (strtod gave HUGE_VAL: inf above) */
        return NOT_A_NUMBER;
    *out = x;
    return PARSED;
}

static void describe_range(char *buf, size_t size, double lo, bool lo_open, double hi, bool hi_open)
{
    snprintf(buf, size, "%c%.17g, %.17g%c", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
}

int fm_cli_parse_real(const char *opt, const char *text, double lo, bool lo_open, double hi,
                      bool hi_open, double *out)
{
    double x;
    char range[96];
    describe_range(range, sizeof range, lo, lo_open, hi, hi_open);
    enum parsed how = parse_double(text, &x);
    if (how == TOO_SMALL)
        return fm_cli_usage_error("%s: %s is too small for a double (the smallest positive one is "
                                  "%.2g); expected a number in %s",
                                  opt, text, 4.9406564584124654e-324, range);
    if (how != PARSED)
        return fm_cli_usage_error("%s: '%s' is not a number; expected a number in %s", opt, text,
                                  range);
    if (x < lo || (lo_open && x == lo) || x > hi || (hi_open && x == hi))
        return fm_cli_usage_error("%s: %s is out of range; expected a number in %s", opt, text,
                                  range);
    *out = x;
    return 0;
}

int fm_cli_parse_count(const char *opt, const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    double x;
    if (parse_double(text, &x) != PARSED || x != floor(x))
        return fm_cli_usage_error("%s: '%s' is not a whole number; expected %llu to %llu", opt,
                                  text, (unsigned long long)lo, (unsigned long long)hi);
    if (x < (double)lo || x > (double)hi)
        return fm_cli_usage_error("%s: %s is out of range; expected %llu to %llu", opt, text,
                                  (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)x;
    return 0;
}

int fm_cli_print_json(json_t *value)
{
    if (value == NULL)
        return fm_cli_fail("out of memory building JSON output");
    int rc = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(value);
    if (rc != 0)
        return fm_cli_fail("cannot write JSON output");
    fputc('\n', stdout);
    return FM_EXIT_OK;
}

json_t *fm_cli_json_real(double x)
{
    return isfinite(x) ? json_real(x == 0.0 ? 0.0 : x) : json_null(); /* never -0.0 */
}

/* extra: digits beyond the usual three significant ones. */
static void fmt_prob_digits(double p, int extra, char *buf, size_t size)
{
    if (p == 0.0)
        p = 0.0; /* never "-0%": -expm1(0) and 0 * -1 are negative zeros */
    if (p == 0.0 || p == 1.0) {
        snprintf(buf, size, "%g%%", p * 100.0);
    } else if (p >= 1e-4) {
        int digits = (p >= 0.1 ? 1 : p >= 0.01 ? 2 : 3) + extra;
        snprintf(buf, size, "%.*f%%", digits, p * 100.0);
        /* Below 1 but printed as 100: as many digits as it takes (99.999999999999986%). */
        while (p < 1.0 && strncmp(buf, "100", 3) == 0 && digits < 20)
            snprintf(buf, size, "%.*f%%", ++digits, p * 100.0);
    } else
        snprintf(buf, size, "%.*g", 2 + extra, p);
}

bool fm_cli_astronomic(uint64_t attempts)
{
    return attempts > FM_CLI_ASTRONOMIC_ATTEMPTS;
}

const char *fm_cli_fmt_attempts(bool reachable, uint64_t attempts, char *buf, size_t size)
{
    if (!reachable)
        snprintf(buf, size, "unreachable");
    else if (fm_cli_astronomic(attempts))
        snprintf(buf, size, "more than 10^6: fix the test");
    else
        snprintf(buf, size, "%llu", (unsigned long long)attempts);
    return buf;
}

const char *fm_cli_fmt_exact(double x, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

const char *fm_cli_fmt_prob(double p, char *buf, size_t size)
{
    fmt_prob_digits(p, 0, buf, size);
    return buf;
}

void fm_cli_fmt_probs(const double *p, char (*bufs)[32], int n)
{
    /* Add digits until values that differ print differently (narrow intervals at huge n). */
    for (int extra = 0; extra <= 12; extra++) {
        bool clash = false;
        for (int i = 0; i < n; i++)
            fmt_prob_digits(p[i], extra, bufs[i], sizeof bufs[i]);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                clash |= p[i] != p[j] && strcmp(bufs[i], bufs[j]) == 0;
        if (!clash)
            return;
    }
}

int fm_cli_finish(int status)
{
    /* Like git: a failed write to stdout (full disk, closed pipe) fails the command. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fm_cli_fail("cannot write output: %s", strerror(errno));
        return status == FM_EXIT_OK ? FM_EXIT_FAIL : status;
    }
    return status;
}

int fm_cli_what_to_run(int argc, char **argv, bool *command)
{
    *command = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
    if (optind < argc)
        return -1;
    return fm_cli_usage_error("nothing to run: give a workload or '-- COMMAND' (see "
                              "'flakemeter %s --help')",
                              fm_cli_cmd);
}

int fm_cli_describe_command(char **argv, char *label, size_t label_size, char *json,
                            size_t json_size)
{
    json_t *arr = json_array();
    size_t len = 0;
    label[0] = '\0';
    for (int i = 0; argv[i]; i++) {
        json_array_append_new(arr, json_string(argv[i]));
        if (len < label_size)
            len += (size_t)snprintf(label + len, label_size - len, "%s%s", i ? " " : "", argv[i]);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    int rc = 0;
    if (text == NULL || strlen(text) >= json_size)
        rc = fm_cli_usage_error("the command line is too long (at most %zu bytes)", json_size - 1);
    else
        strcpy(json, text);
    free(text);
    return rc;
}
