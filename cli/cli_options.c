/*
 * cli_options.c - declarative option tables for the subcommands, after git's parse-options:
 * each command lists its options next to the variables they fill (FM_OPT_REAL(...), ...), each
 * with its help line, and one loop turns the table into getopt_long's arguments, parses,
 * range-checks and reports.  The options part of --help is generated from the same table.
 *
 * Invariant: fm_cli_options either fills the variables and returns -1 with optind at the first
 * operand, or prints exactly one line (an unknown option, a missing value, a value out of
 * range: each named) and returns FM_EXIT_USAGE; --help prints the command's help and returns
 * FM_EXIT_OK.  An option given twice keeps its last value.  Every option in the table is listed
 * by --help, and every option listed is accepted.
 */
#include "fm_cli.h"

#include <stdio.h>
#include <string.h>

#ifndef FM_VERSION
#define FM_VERSION "unknown"
#endif

#define MAX_OPTIONS 48

/* "--name" (or "-x" for an option without a long name) for messages. */
static const char *display_name(const struct fm_opt *o, char *buf, size_t size)
{
    if (o->long_name != NULL)
        snprintf(buf, size, "--%s", o->long_name);
    else
        snprintf(buf, size, "-%c", o->short_name);
    return buf;
}

static int apply(const struct fm_opt *o, const char *arg)
{
    char name[64];
    display_name(o, name, sizeof name);
    if (o->seen != NULL)
        *o->seen = true;
    switch (o->kind) {
    case FM_OPT_KIND_BOOL:
        *(bool *)o->value = true;
        return 0;
    case FM_OPT_KIND_STRING: /* a name, a path, a date: never empty */
        if (*arg == '\0')
            return fm_cli_usage_error("%s: the value must not be empty", name);
        *(const char **)o->value = arg;
        return 0;
    case FM_OPT_KIND_REAL:
        return fm_cli_parse_real(name, arg, o->lo, o->open & FM_OPT_LO_OPEN, o->hi,
                                 o->open & FM_OPT_HI_OPEN, o->value);
    case FM_OPT_KIND_COUNT:
        return fm_cli_parse_count(name, arg, (uint64_t)o->lo, (uint64_t)o->hi, o->value);
    case FM_OPT_KIND_CALL:
        return o->fn(o->value, arg, name);
    }
    return FM_EXIT_USAGE;
}

/* Build getopt_long's short string and long table from opts; returns the count of entries. */
static size_t build(const struct fm_opt *opts, bool stop_at_operand, char *shortopts,
                    struct option *longopts)
{
    size_t n = 0, s = 0, l = 0;
    if (stop_at_operand)
        shortopts[s++] = '+';
    for (; n < MAX_OPTIONS && opts[n].kind != 0; n++) {
        const struct fm_opt *o = &opts[n];
        if (o->kind == FM_OPT_KIND_GROUP)
            continue;
        int has_arg = o->kind == FM_OPT_KIND_BOOL ? no_argument : required_argument;
        if (o->short_name != 0) {
            shortopts[s++] = (char)o->short_name;
            if (has_arg)
                shortopts[s++] = ':';
        }
        if (o->long_name != NULL)
            longopts[l++] = (struct option){o->long_name, has_arg, NULL, 256 + (int)n};
    }
    strcpy(shortopts + s, "h");
    longopts[l] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[l + 1] = (struct option){NULL, 0, NULL, 0};
    return n;
}

/* Pad from column *pos to column col. */
static void pad_to(FILE *out, int *pos, int col)
{
    for (; *pos < col; (*pos)++)
        fputc(' ', out);
}

/*
 * text from column *pos, its lines starting at column indent and broken between words before
 * column FM_OPT_HELP_WIDTH (a longer word stays whole) and at each '\n'.  Spaces between words
 * on one line are kept as written ("done.  Next").
 */
static void print_wrapped(FILE *out, const char *text, int pos, int indent)
{
    bool line_empty = true; /* nothing of text on this line yet; padded when a word comes */
    for (const char *p = text; *p != '\0';) {
        if (*p == '\n') {
            fputc('\n', out);
            pos = 0, line_empty = true, p++;
            continue;
        }
        int gap = (int)strspn(p, " ");
        const char *word = p + gap;
        int len = (int)strcspn(word, " \n");
        if (len == 0) { /* spaces before a '\n' or the end */
            p = word;
            continue;
        }
        if (!line_empty && pos + gap + len > FM_OPT_HELP_WIDTH) {
            fputc('\n', out);
            pos = 0, line_empty = true;
        }
        if (line_empty)
            pad_to(out, &pos, indent);
        else
            pos += fprintf(out, "%*s", gap, "");
        pos += fprintf(out, "%.*s", len, word);
        line_empty = false;
        p = word + len;
    }
    fputc('\n', out);
}

/* "  -c, --confidence C": the option part of a help line, written to buf. */
static int option_part(char *buf, size_t size, int short_name, const char *long_name,
                       const char *argh)
{
    char s[8] = "    ";
    if (short_name != 0)
        snprintf(s, sizeof s, "-%c%s", short_name, long_name != NULL ? ", " : "");
    return snprintf(buf, size, "  %s%s%s%s%s", s, long_name != NULL ? "--" : "",
                    long_name != NULL ? long_name : "", argh != NULL ? " " : "",
                    argh != NULL ? argh : "");
}

static const char *argh_of(const struct fm_opt *o)
{
    return o->kind == FM_OPT_KIND_BOOL ? NULL : o->argh;
}

/* The option part, then the help from column col (on the next line when the part is longer). */
static void print_option(FILE *out, int col, int short_name, const char *long_name,
                         const char *argh, const char *help)
{
    char part[128];
    int pos = option_part(part, sizeof part, short_name, long_name, argh);
    fputs(part, out);
    if (pos > col - 2) { /* at least two spaces before the help */
        fputc('\n', out);
        pos = 0;
    }
    print_wrapped(out, help != NULL ? help : "", pos, col);
}

void fm_cli_print_options(FILE *out, const struct fm_opt *opts)
{
    /* The help column: two spaces after the longest option part that fits before the cap. */
    char part[128];
    int widest = option_part(part, sizeof part, 'h', "help", NULL);
    for (size_t i = 0; i < MAX_OPTIONS && opts[i].kind != 0; i++) {
        const struct fm_opt *o = &opts[i];
        int w = o->kind == FM_OPT_KIND_GROUP
                    ? 0
                    : option_part(part, sizeof part, o->short_name, o->long_name, argh_of(o));
        if (w > widest && w <= FM_OPT_HELP_MAX_COLUMN - 2)
            widest = w;
    }
    int col = widest + 2;
    for (size_t i = 0; i < MAX_OPTIONS && opts[i].kind != 0; i++) {
        const struct fm_opt *o = &opts[i];
        if (o->kind == FM_OPT_KIND_GROUP)
            fprintf(out, "\n%s%s", o->help, o->help[0] != '\0' ? "\n" : "");
        else
            print_option(out, col, o->short_name, o->long_name, argh_of(o), o->help);
    }
    print_option(out, col, 'h', "help", NULL, "show this help");
}

int fm_cli_help_mode = FM_HELP_TEXT;
const char *fm_cli_summary = "";

/* ---- man pages (roff, man(7) macros) --------------------------------------------------------- */

/* text in roff: backslashes and hyphens escaped; a line starting with '.' or '\'' protected. */
static void roff(FILE *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len && text[i] != '\0'; i++) {
        char c = text[i];
        bool line_start = i == 0 || text[i - 1] == '\n';
        if (line_start && (c == '.' || c == '\''))
            fputs("\\&", out);
        if (c == '\\')
            fputs("\\e", out);
        else if (c == '-')
            fputs("\\-", out);
        else
            fputc(c, out);
    }
}

static void roff_str(FILE *out, const char *text)
{
    roff(out, text, strlen(text));
}

/* The description: paragraphs as filled text, a paragraph with an indented line kept as is. */
static void man_description(FILE *out, const char *p)
{
    while (*p != '\0') {
        while (*p == '\n')
            p++;
        if (*p == '\0')
            break;
        const char *end = strstr(p, "\n\n");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        bool literal = p[0] == ' ';
        for (size_t i = 0; i + 1 < len; i++)
            literal |= p[i] == '\n' && p[i + 1] == ' ';
        fputs(literal ? ".PP\n.nf\n" : ".PP\n", out);
        roff(out, p, len);
        fputs(literal ? "\n.fi\n" : "\n", out);
        p += len;
    }
}

static void man_option(FILE *out, int short_name, const char *long_name, const char *argh,
                       const char *help)
{
    fputs(".TP\n", out);
    if (short_name != 0)
        fprintf(out, "\\fB\\-%c\\fR%s", short_name, long_name != NULL ? ", " : "");
    if (long_name != NULL) {
        fputs("\\fB\\-\\-", out);
        roff_str(out, long_name);
        fputs("\\fR", out);
    }
    if (argh != NULL) {
        fputs(" \\fI", out);
        roff_str(out, argh);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    for (const char *h = help != NULL ? help : ""; *h != '\0'; h++)
        if (*h == '\n')
            fputs("\n.br\n", out);
        else if (h == help && *h == '.')
            fputs("\\&.", out);
        else if (*h == '\\')
            fputs("\\e", out);
        else if (*h == '-')
            fputs("\\-", out);
        else
            fputc(*h, out);
    fputc('\n', out);
}

void fm_cli_print_man(FILE *out, const char *help, const struct fm_opt *opts)
{
    char page[64], upper[64];
    snprintf(page, sizeof page, "flakemeter-%s", fm_cli_cmd);
    for (char *c = page; *c; c++)
        if (*c == ' ')
            *c = '-';
    for (size_t i = 0; i < sizeof upper; i++)
        if ((upper[i] = (char)(page[i] >= 'a' && page[i] <= 'z' ? page[i] - 32 : page[i])) == 0)
            break;
    fprintf(out, ".\\\" generated by 'flakemeter _man' from the option table of '%s'\n",
            fm_cli_cmd);
    fprintf(out, ".TH %s 1 \"\" \"flakemeter %s\" \"flakemeter manual\"\n", upper, FM_VERSION);
    fputs(".SH NAME\n", out);
    roff_str(out, page);
    fputs(" \\- ", out);
    roff_str(out, fm_cli_summary);
    fputs("\n.SH SYNOPSIS\n.nf\n", out);
    /* The usage lines: up to the first blank line, without "usage: " and its indent. */
    const char *p = help, *blank = strstr(help, "\n\n");
    size_t usage_len = blank != NULL ? (size_t)(blank - help) : strlen(help);
    for (const char *line = p; line < help + usage_len;) {
        const char *nl = memchr(line, '\n', (size_t)(help + usage_len - line));
        size_t len = nl != NULL ? (size_t)(nl - line) : (size_t)(help + usage_len - line);
        if (strncmp(line, "usage: ", 7) == 0)
            line += 7, len -= 7;
        else
            while (len > 0 && *line == ' ')
                line++, len--;
        roff(out, line, len);
        fputc('\n', out);
        line += len + (nl != NULL);
    }
    fputs(".fi\n.SH DESCRIPTION\n", out);
    man_description(out, help + usage_len);
    fputs(".SH OPTIONS\n", out);
    for (size_t i = 0; i < MAX_OPTIONS && opts[i].kind != 0; i++) {
        const struct fm_opt *o = &opts[i];
        if (o->kind == FM_OPT_KIND_GROUP) {
            if (o->help[0] != '\0') {
                fputs(".SS \"", out);
                roff(out, o->help, strcspn(o->help, ":"));
                fputs("\"\n", out);
            }
        } else {
            man_option(out, o->short_name, o->long_name, argh_of(o), o->help);
        }
    }
    man_option(out, 'h', "help", NULL, "show this help");
    fputs(".SH EXIT STATUS\n"
          ".TP\n0\nsuccess\n"
          ".TP\n1\nthe work or the environment failed (a failed write, a damaged store, a system "
          "limit; for \\fBcheck\\fR and \\fBrun \\-\\-require\\-below\\fR: the gate failed)\n"
          ".TP\n2\nbad input: an option, operand or file named that is wrong (one line on "
          "standard error)\n"
          ".SH SEE ALSO\n\\fBflakemeter\\fR(1)\n",
          out);
}

/* ---- option words for completion, and the table for the docs -------------------------------- */

static void print_words(const struct fm_opt *opts)
{
    for (size_t i = 0; i < MAX_OPTIONS && opts[i].kind != 0; i++) {
        const struct fm_opt *o = &opts[i];
        if (o->kind == FM_OPT_KIND_GROUP)
            continue;
        if (o->short_name != 0)
            printf("-%c ", o->short_name);
        if (o->long_name != NULL)
            printf("--%s%s ", o->long_name, o->kind == FM_OPT_KIND_BOOL ? "" : "=");
    }
    printf("-h --help");
}

/* One line per option: short (or -), long, value name (or -), tab-separated. */
static void print_table(const struct fm_opt *opts)
{
    for (size_t i = 0; i < MAX_OPTIONS && opts[i].kind != 0; i++) {
        const struct fm_opt *o = &opts[i];
        if (o->kind == FM_OPT_KIND_GROUP)
            continue;
        printf("%c\t%s\t%s\n", o->short_name != 0 ? o->short_name : '-',
               o->long_name != NULL ? o->long_name : "-", argh_of(o) ? argh_of(o) : "-");
    }
    printf("h\thelp\t-\n");
}

static int print_help(const char *text, const struct fm_opt *opts)
{
    if (fm_cli_help_mode == FM_HELP_MAN) {
        fm_cli_print_man(stdout, text, opts);
        return FM_EXIT_OK;
    }
    if (fm_cli_help_mode == FM_HELP_WORDS) {
        print_words(opts);
        return FM_EXIT_OK;
    }
    if (fm_cli_help_mode == FM_HELP_TABLE) {
        print_table(opts);
        return FM_EXIT_OK;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    fm_cli_print_options(stdout, opts);
    return FM_EXIT_OK;
}

int fm_cli_options(int argc, char **argv, const struct fm_opt *opts, const char *help, int operands)
{
    char shortopts[2 * MAX_OPTIONS + 4];
    struct option longopts[MAX_OPTIONS + 2];
    size_t n = build(opts, operands == FM_CLI_COMMAND_FOLLOWS, shortopts, longopts);
    int c;
    while ((c = fm_cli_getopt(argc, argv, shortopts, longopts)) != -1) {
        if (c == 'h')
            return print_help(help, opts);
        if (c == '?')
            return FM_EXIT_USAGE;
        const struct fm_opt *o = NULL;
        if (c >= 256 && (size_t)(c - 256) < n)
            o = &opts[c - 256];
        for (size_t i = 0; o == NULL && i < n; i++)
            if (opts[i].kind != FM_OPT_KIND_GROUP && opts[i].short_name == c)
                o = &opts[i];
        if (o == NULL)
            return FM_EXIT_USAGE;
        int rc = apply(o, optarg);
        if (rc != 0)
            return rc;
    }
    return operands == FM_CLI_NO_OPERANDS ? fm_cli_no_operands(argc, argv) : -1;
}

int fm_cli_no_operands(int argc, char **argv)
{
    if (optind < argc)
        return fm_cli_usage_error("unexpected argument '%s'", argv[optind]);
    return -1;
}

int fm_cli_optional_operand(int argc, char **argv, const char **operand)
{
    if (optind < argc)
        *operand = argv[optind++];
    return fm_cli_no_operands(argc, argv);
}
