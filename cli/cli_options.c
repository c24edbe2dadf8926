/*
 * cli_options.c - declarative option tables for the subcommands, after git's parse-options:
 * each command lists its options next to the variables they fill (FM_OPT_REAL(...), ...), and
 * one loop turns the table into getopt_long's arguments, parses, range-checks and reports.
 *
 * Invariant: fm_cli_options either fills the variables and returns -1 with optind at the first
 * operand, or prints exactly one line (an unknown option, a missing value, a value out of
 * range: each named) and returns FM_EXIT_USAGE; --help prints the command's help and returns
 * FM_EXIT_OK.  An option given twice keeps its last value.
 */
#include "fm_cli.h"

#include <stdio.h>
#include <string.h>

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
    case FM_OPT_KIND_STRING:
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

/* Build getopt_long's short string and long table from opts; returns the count. */
static size_t build(const struct fm_opt *opts, bool stop_at_operand, char *shortopts,
                    struct option *longopts)
{
    size_t n = 0, s = 0;
    if (stop_at_operand)
        shortopts[s++] = '+';
    for (; opts[n].kind != 0 && n < MAX_OPTIONS; n++) {
        const struct fm_opt *o = &opts[n];
        int has_arg = o->kind == FM_OPT_KIND_BOOL ? no_argument : required_argument;
        if (o->short_name != 0) {
            shortopts[s++] = (char)o->short_name;
            if (has_arg)
                shortopts[s++] = ':';
        }
        longopts[n] = (struct option){o->long_name, has_arg, NULL, 256 + (int)n};
    }
    strcpy(shortopts + s, "h");
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    return n;
}

int fm_cli_options(int argc, char **argv, const struct fm_opt *opts, const char *help, int operands)
{
    char shortopts[2 * MAX_OPTIONS + 4];
    struct option longopts[MAX_OPTIONS + 2];
    size_t n = build(opts, operands == FM_CLI_COMMAND_FOLLOWS, shortopts, longopts);
    int c;
    while ((c = fm_cli_getopt(argc, argv, shortopts, longopts)) != -1) {
        if (c == 'h')
            return fm_cli_help(help);
        if (c == '?')
            return FM_EXIT_USAGE;
        const struct fm_opt *o = NULL;
        if (c >= 256 && (size_t)(c - 256) < n)
            o = &opts[c - 256];
        for (size_t i = 0; o == NULL && i < n; i++)
            if (opts[i].short_name == c)
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
