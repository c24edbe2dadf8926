/*
 * cli_common.c - argument parsing, messages and output helpers shared by the subcommands.
 *
 * Invariant: a parser either stores a valid value and returns 0, or prints exactly one line
 * on stderr (naming the option, the text it got and the accepted range) and returns
 * FM_EXIT_USAGE.  Nothing here exits the process: the command decides.
 */
#include "fm_cli.h"
#include "fm_utf8.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *fm_cli_cmd = "flakemeter";

size_t fm_cli_escape(const char *text, char *buf, size_t size)
{
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        char one[8];
        if (*p == '\n')
            strcpy(one, "\\n");
        else if (*p == '\t')
            strcpy(one, "\\t");
        else if (*p == '\r')
            strcpy(one, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(one, sizeof one, "\\x%02x", *p);
        else
            one[0] = (char)*p, one[1] = '\0';
        size_t n = strlen(one);
        if (size > 0 && len + n < size)
            memcpy(buf + len, one, n + 1);
        else if (size > 0)
            buf[len < size ? len : size - 1] = '\0', size = 0; /* cut: stop writing */
        len += n;
    }
    if (size > 0 && len < size)
        buf[len] = '\0';
    return len;
}

const char *fm_cli_esc(const char *text, char *buf, size_t size)
{
    fm_cli_escape(text != NULL ? text : "", buf, size);
    return buf;
}

/*
 * "flakemeter CMD: message", one line: the message is formatted first and its control
 * characters escaped (a newline or an escape sequence the user typed comes back as \n, \x1b).
 */
static void vmessage(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void vmessage(const char *fmt, va_list ap)
{
    char msg[2048], esc[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fm_cli_escape(msg, esc, sizeof esc);
    if (strcmp(fm_cli_cmd, "flakemeter") == 0)
        fprintf(stderr, "flakemeter: %s\n", esc);
    else
        fprintf(stderr, "flakemeter %s: %s\n", fm_cli_cmd, esc);
}

/* Damerau-Levenshtein distance (optimal string alignment) of a and b, capped at 9. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 62 || lb > 62)
        return 9;
    int d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb] < 9 ? d[la][lb] : 9;
}

const char *fm_cli_suggest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    int best_d = FM_CLI_SUGGEST_MAX + 1;
    size_t len = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL)
            continue;
        int d = edit_distance(word, names[i]);
        /* A one-letter word is one edit from every other one-letter name: say nothing. */
        if (d < best_d && (size_t)d < len) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
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

/* "unknown option '--timout'; did you mean '--timeout'?" */
static void unknown_long_option(const char *word, const struct option *longopts)
{
    const char *names[128];
    size_t n = 0;
    for (; longopts[n].name != NULL && n < 128; n++)
        names[n] = longopts[n].name;
    char name[256];
    snprintf(name, sizeof name, "%s", word + 2);
    name[strcspn(name, "=")] = '\0'; /* --timout=5 */
    const char *near = fm_cli_suggest(name, names, n);
    if (near != NULL)
        fm_cli_usage_error("unknown option '%s'; did you mean '--%s'? (see 'flakemeter %s "
                           "--help')",
                           word, near, fm_cli_cmd);
    else
        fm_cli_usage_error("unknown option '%s' (see 'flakemeter %s --help')", word, fm_cli_cmd);
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
        unknown_long_option(word, longopts);
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
    } else { /* still a percentage, never a bare fraction beside percentages: "0.0025%" */
        snprintf(buf, size, "%.*g%%", 2 + extra, p * 100.0);
    }
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
    if (optind < argc && *command && argv[optind][0] == '\0')
        return fm_cli_usage_error("the command after '--' is empty");
    if (optind < argc)
        return -1;
    return fm_cli_usage_error("nothing to run: give a workload or '-- COMMAND' (see "
                              "'flakemeter %s --help')",
                              fm_cli_cmd);
}

int fm_cli_keep_dir(const char *dir)
{
    struct stat sb;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fm_cli_usage_error("--keep-output: cannot create '%s': %s", dir, strerror(errno));
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fm_cli_usage_error("--keep-output: '%s' is not a directory", dir);
    return 0;
}

/*
 * One argument as a JSON string.  JSON text is UTF-8, so an argument that is not (a Latin-1
 * file name) keeps its valid characters and has each other byte written as \xNN (docs/store.md,
 * "command"); it used to be dropped from the array without a word.
 */
static json_t *arg_json(const char *arg)
{
    json_t *v = json_string(arg);
    if (v != NULL)
        return v;
    size_t n = strlen(arg);
    char *out = malloc(4 * n + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)arg;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = fm_utf8_length(p + i);
        if (len == 0) {
            o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
            i++;
        } else {
            memcpy(out + o, p + i, len);
            o += len, i += len;
        }
    }
    out[o] = '\0';
    v = json_string(out);
    free(out);
    return v;
}

int fm_cli_describe_command(char **argv, char *label, size_t label_size, char *json,
                            size_t json_size)
{
    json_t *arr = json_array();
    size_t len = 0;
    label[0] = '\0';
    for (int i = 0; argv[i]; i++) {
        if (json_array_append_new(arr, arg_json(argv[i])) != 0) {
            json_decref(arr);
            return fm_cli_fail("out of memory describing the command");
        }
        if (len < label_size)
            len += (size_t)snprintf(label + len, label_size - len, "%s%s", i ? " " : "", argv[i]);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    int rc = 0;
    if (text == NULL)
        rc = fm_cli_fail("out of memory describing the command");
    else if (strlen(text) >= json_size)
        rc = fm_cli_usage_error("the command line is too long (at most %zu bytes)", json_size - 1);
    else
        strcpy(json, text);
    free(text);
    return rc;
}
