/*
 * test_cli_options.c - the option tables of cli/cli_options.c: --help's option lines are
 * generated from the table (alignment, wrapping, groups, the -h/--help line), and the same
 * table parses (an option after a group header, a short-only option).  A full table (48
 * entries, cli_options.c's MAX_OPTIONS, and no end marker) that ends at an unreadable page is
 * printed and parsed without a read past its end (issue 14, item 18: `opts[n].kind` was read
 * before `n < MAX_OPTIONS` was checked).
 */
#include "fm_cli.h"
#include "fm_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The options part of --help for opts, in a buffer the caller frees. */
static char *generate(const struct fm_opt *opts)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    fm_cli_print_options(out, opts);
    fclose(out);
    return text;
}

/* Line i (0-based) of text, in a static buffer; "" past the end. */
static const char *line(const char *text, int i)
{
    static char buf[256];
    for (; i > 0 && text != NULL; i--) {
        text = strchr(text, '\n');
        text = text != NULL ? text + 1 : NULL;
    }
    if (text == NULL)
        return "";
    size_t n = strcspn(text, "\n");
    snprintf(buf, sizeof buf, "%.*s", (int)n, text);
    return buf;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Every line of text within FM_OPT_HELP_WIDTH columns and without trailing spaces. */
static void check_lines(const char *text)
{
    for (int i = 0; i < count_lines(text); i++) {
        const char *l = line(text, i);
        size_t n = strlen(l);
        CHECK(n <= FM_OPT_HELP_WIDTH, "line %d is %zu columns: '%s'", i, n, l);
        CHECK(n == 0 || l[n - 1] != ' ', "line %d ends in a space: '%s'", i, l);
    }
}

static void test_alignment(void)
{
    bool json = false;
    double c = 0.95;
    const struct fm_opt opts[] = {
        FM_OPT_REAL('c', "confidence", &c, 0, 1, FM_OPT_OPEN, "C", "confidence level"),
        FM_OPT_BOOL(0, "json", &json, "print JSON"),
        FM_OPT_END,
    };
    char *text = generate(opts);
    /* The help column is two spaces after the longest option ("  -c, --confidence C"). */
    CHECK(strcmp(line(text, 0), "  -c, --confidence C  confidence level") == 0, "'%s'",
          line(text, 0));
    CHECK(strcmp(line(text, 1), "      --json          print JSON") == 0, "'%s'", line(text, 1));
    CHECK(strcmp(line(text, 2), "  -h, --help          show this help") == 0, "'%s'",
          line(text, 2));
    CHECK(count_lines(text) == 3, "%d lines:\n%s", count_lines(text), text);
    free(text);

    /* Only -h/--help: its own width sets the column. */
    const struct fm_opt none[] = {FM_OPT_END};
    text = generate(none);
    CHECK(strcmp(text, "  -h, --help  show this help\n") == 0, "'%s'", text);
    free(text);
}

static void test_long_option(void)
{
    const char *vary = NULL, *db = NULL;
    const struct fm_opt opts[] = {
        FM_OPT_STRING(0, "vary", &vary, "NAME=V1,V2,...,VN", "values to vary"),
        FM_OPT_STRING(0, "db", &db, "PATH", "the store"),
        FM_OPT_END,
    };
    char *text = generate(opts);
    /* Too long for the cap: its help starts the next line, at the column the others use. */
    CHECK(strcmp(line(text, 0), "      --vary NAME=V1,V2,...,VN") == 0, "'%s'", line(text, 0));
    CHECK(strcmp(line(text, 1), "                 values to vary") == 0, "'%s'", line(text, 1));
    CHECK(strcmp(line(text, 2), "      --db PATH  the store") == 0, "'%s'", line(text, 2));
    free(text);
}

static void test_wrapping(void)
{
    bool q = false;
    const char *help = "one two three four five six seven eight nine ten eleven twelve thirteen "
                       "fourteen fifteen sixteen seventeen eighteen.  Nineteen twenty\nafter a "
                       "break";
    const struct fm_opt opts[] = {
        FM_OPT_BOOL('q', "quiet", &q, help),
        FM_OPT_END,
    };
    char *text = generate(opts);
    check_lines(text);
    /* Continuation lines start at the help column; the words are all there, in order. */
    int col = (int)(strstr(line(text, 0), "one") - line(text, 0));
    CHECK(col == 15, "help column %d", col); /* "  -q, --quiet" and two spaces */
    char words[1024] = "";
    int n = count_lines(text);
    for (int i = 0; i < n - 1; i++) {
        const char *l = line(text, i);
        CHECK(i == 0 || (strspn(l, " ") == (size_t)col), "line %d not at column %d: '%s'", i, col,
              l);
        strcat(words, l + col);
        strcat(words, "|");
    }
    CHECK(strstr(words, "eighteen.  Nineteen") != NULL || strstr(words, "eighteen.|") != NULL,
          "two spaces after a sentence kept: %s", words);
    CHECK(strstr(words, "twenty|after a break|") != NULL, "'\\n' breaks the line: %s", words);
    CHECK(n == 4, "%d lines:\n%s", n, text);
    free(text);

    /* A missing help leaves no trailing spaces (test_cli.py then reports the option). */
    const struct fm_opt bare[] = {FM_OPT_BOOL('q', "quiet", &q, ""), FM_OPT_END};
    text = generate(bare);
    CHECK(strcmp(line(text, 0), "  -q, --quiet") == 0, "'%s'", line(text, 0));
    free(text);
}

static void test_groups(void)
{
    bool a = false, b = false;
    const struct fm_opt opts[] = {
        FM_OPT_BOOL('a', "all", &a, "everything"),
        FM_OPT_GROUP("Conditions:"),
        FM_OPT_BOOL('b', NULL, &b, "short only"),
        FM_OPT_GROUP(""),
        FM_OPT_END,
    };
    char *text = generate(opts);
    const char *want = "  -a, --all   everything\n"
                       "\n"
                       "Conditions:\n"
                       "  -b          short only\n"
                       "\n"
                       "  -h, --help  show this help\n";
    CHECK(strcmp(text, want) == 0, "got:\n%s\nwant:\n%s", text, want);
    free(text);
}

/* The table parses as it prints: entries after a group header, short-only options. */
static void test_parse(void)
{
    bool json = false, b = false, seen = false;
    const char *db = NULL;
    uint64_t n = 0;
    const struct fm_opt opts[] = {
        FM_OPT_GROUP("Header:"),
        FM_OPT_COUNT('n', "runs", &n, 1, 100, "N", "runs", .seen = &seen),
        FM_OPT_GROUP(""),
        FM_OPT_BOOL('b', NULL, &b, "short only"),
        FM_OPT_STRING(0, "db", &db, "PATH", "the store"),
        FM_OPT_BOOL(0, "json", &json, "JSON"),
        FM_OPT_END,
    };
    char *argv[] = {"cmd", "--db", "x.db", "-n", "7", "-b", "--json", "operand", NULL};
    optind = 0;
    int rc = fm_cli_options(8, argv, opts, "usage: cmd\n", FM_CLI_OPERANDS);
    CHECK(rc == -1, "rc %d", rc);
    CHECK(db != NULL && strcmp(db, "x.db") == 0, "--db after a group: %s", db ? db : "(null)");
    CHECK(n == 7 && seen, "-n: %llu", (unsigned long long)n);
    CHECK(b && json, "-b %d --json %d", b, json);
    CHECK(optind == 7, "optind %d", optind);
}

/* cli_options.c's MAX_OPTIONS: a table may fill it without an end marker. */
enum { FULL_TABLE = 48 };

static void test_full_table_bounds(void)
{
    static char names[FULL_TABLE][8];
    static bool flags[FULL_TABLE];
    size_t bytes = FULL_TABLE * sizeof(struct fm_opt), page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (bytes + page - 1) / page;
    char *map =
        mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED, "mmap");
    if (map == MAP_FAILED)
        return;
    /* The table's last entry ends where the unreadable page begins: entry 48 is not there. */
    CHECK(mprotect(map + pages * page, page, PROT_NONE) == 0, "mprotect");
    struct fm_opt *opts = (struct fm_opt *)(map + pages * page - bytes);
    for (int i = 0; i < FULL_TABLE; i++) {
        snprintf(names[i], sizeof names[i], "o%d", i);
        opts[i] = (struct fm_opt)FM_OPT_BOOL(0, names[i], &flags[i], "a flag");
    }
    char *text = generate(opts);
    CHECK(text != NULL && strstr(text, "--o47") != NULL && strstr(text, "--help") != NULL,
          "the full table printed:\n%s", text ? text : "(null)");
    free(text);
    char *man = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&man, &size);
    fm_cli_print_man(out, "usage: cmd\n\nA command.\n", opts);
    fclose(out);
    CHECK(man != NULL && strstr(man, "o47") != NULL, "the man page lists the last entry");
    free(man);
    char *argv[] = {"cmd", "--o47", "--o0", NULL};
    optind = 0;
    int rc = fm_cli_options(3, argv, opts, "usage: cmd\n", FM_CLI_NO_OPERANDS);
    CHECK(rc == -1 && flags[47] && flags[0] && !flags[1], "rc %d, flags %d %d %d", rc, flags[47],
          flags[0], flags[1]);
    munmap(map, (pages + 1) * page);
}

int main(void)
{
    test_full_table_bounds();
    test_alignment();
    test_long_option();
    test_wrapping();
    test_groups();
    test_parse();
    return fm_test_report("test_cli_options");
}
