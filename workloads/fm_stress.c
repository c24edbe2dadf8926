/*
 * fm_stress.c - fm-stress, the standalone runner of one workload.
 *
 *   fm-stress NAME [key=value ...] [--seed S] [--run N] [--attempt N]
 *   fm-stress --list | --help
 *
 * Runs the workload once in this process and prints one result line on stdout:
 *   NAME PASS|FAIL UNIT=WORK seed=S run=N attempt=A key=value ... machine=M [-- reason]
 * (M is uname -m: the emulated machine under QEMU user mode).  Exit status: 0 pass, 1 failed
 * check (or a failure to run, e.g. out of memory), 2 bad arguments with one line on stderr
 * naming the argument and what is accepted.  A crash stays a
 * crash: the signal is the outcome.  Without --seed/--run/--attempt the values come from
 * FLAKEMETER_SEED, FLAKEMETER_RUN and FLAKEMETER_ATTEMPT, as the runner sets them; then 0, 0, 1.
 * This file and cli/cmd_list.c are the only places that print for libfmwl.
 */
#include "fm_wl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: fm-stress NAME [key=value ...] [--seed S] [--run N] [--attempt N]\n"
    "       fm-stress --list | --help\n"
    "\n"
    "Run one flakemeter workload once and print one result line:\n"
    "  NAME PASS|FAIL UNIT=WORK seed=S run=N attempt=A key=value ... machine=M [-- reason]\n"
    "Exit status: 0 pass, 1 failed check, 2 bad arguments; a crash stays a crash.\n"
    "Seed, run and attempt default to FLAKEMETER_SEED, FLAKEMETER_RUN, FLAKEMETER_ATTEMPT\n"
    "(else 0, 0, 1).  --list shows every workload with its parameters.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("fm-stress: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* A whole number in [lo, hi], decimal or 0x hex, for --seed and friends. */
static int parse_u64(const char *what, const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno == ERANGE)
        return usage_error("%s: '%s' is not a whole number; expected %llu to %llu", what, text,
                           (unsigned long long)lo, (unsigned long long)hi);
    if (v < lo || v > hi)
        return usage_error("%s: %s is out of range; expected %llu to %llu", what, text,
                           (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return EXIT_PASS;
}

static int print_list(void)
{
    size_t n = fm_wl_format_table(NULL, 0) + 1;
    char *text = malloc(n);
    if (text == NULL) {
        fputs("fm-stress: out of memory\n", stderr);
        return EXIT_FAILED;
    }
    fm_wl_format_table(text, n);
    fputs(text, stdout);
    free(text);
    return EXIT_PASS;
}

/* Seed, run and attempt from the environment; options given later override them. */
static int read_env(struct fm_wl_args *args)
{
    static const struct {
        const char *name;
        uint64_t lo, hi;
        size_t offset;
    } vars[] = {
        {"FLAKEMETER_SEED", 0, UINT64_MAX, offsetof(struct fm_wl_args, seed)},
        {"FLAKEMETER_RUN", 0, UINT64_MAX, offsetof(struct fm_wl_args, run)},
        {"FLAKEMETER_ATTEMPT", 1, UINT64_MAX, offsetof(struct fm_wl_args, attempt)},
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *text = getenv(vars[i].name);
        uint64_t *field = (uint64_t *)((char *)args + vars[i].offset);
        if (text && parse_u64(vars[i].name, text, vars[i].lo, vars[i].hi, field) != EXIT_PASS)
            return EXIT_USAGE;
    }
    return EXIT_PASS;
}

/* --seed S / --seed=S and the other value options; returns -1 when argv[*i] is not one. */
static int parse_option(struct fm_wl_args *args, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        uint64_t lo;
        size_t offset;
    } opts[] = {
        {"--seed", 0, offsetof(struct fm_wl_args, seed)},
        {"--run", 0, offsetof(struct fm_wl_args, run)},
        {"--attempt", 1, offsetof(struct fm_wl_args, attempt)},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        size_t len = strlen(opts[k].name);
        if (strncmp(argv[*i], opts[k].name, len) != 0)
            continue;
        const char *value = NULL;
        if (argv[*i][len] == '=')
            value = argv[*i] + len + 1;
        else if (argv[*i][len] == '\0' && *i + 1 < argc)
            value = argv[++*i];
        else if (argv[*i][len] == '\0')
            return usage_error("option '%s' needs a value", opts[k].name);
        else
            continue;
        uint64_t *field = (uint64_t *)((char *)args + opts[k].offset);
        return parse_u64(opts[k].name, value, opts[k].lo, UINT64_MAX, field);
    }
    return -1;
}

static int parse_args(struct fm_wl_args *args, int argc, char **argv)
{
    int status = read_env(args);
    for (int i = 2; i < argc && status == EXIT_PASS; i++) {
        const struct fm_wl_param *bad;
        int rc = parse_option(args, argc, argv, &i);
        if (rc >= 0) {
            status = rc;
        } else if (argv[i][0] == '-') {
            status = usage_error("unknown option '%s' (see 'fm-stress --help')", argv[i]);
        } else if ((rc = fm_wl_args_set(args, argv[i], &bad)) != FM_WL_OK) {
            char why[512];
            status =
                usage_error("%s", fm_wl_args_explain(args->wl, argv[i], rc, bad, why, sizeof why));
        }
    }
    return status;
}

/*
 * The result line, with machine=M (uname -m) after the parameters: under QEMU user mode that is
 * the emulated machine (aarch64, riscv64, armv7l, mips), which shows an emulated run happened.
 */
static void print_result(const struct fm_wl_args *args, const struct fm_wl_result *res)
{
    char line[1536];
    struct utsname u;
    fm_wl_format_result(args, res, line, sizeof line);
    const char *machine = uname(&u) == 0 ? u.machine : "unknown";
    char *reason = strstr(line, " -- ");
    if (reason != NULL) {
        *reason = '\0';
        printf("%s machine=%s -- %s\n", line, machine, reason + 4);
    } else {
        printf("%s machine=%s\n", line, machine);
    }
}

static int run_workload(int argc, char **argv)
{
    struct fm_wl_args args;
    struct fm_wl_result res;
    const struct fm_wl_desc *wl = fm_wl_find(argv[1]);
    if (wl == NULL)
        return usage_error("unknown workload '%s' (see 'fm-stress --list')", argv[1]);
    fm_wl_args_init(&args, wl);
    int status = parse_args(&args, argc, argv);
    if (status != EXIT_PASS)
        return status;
    fflush(stdout);
    int rc = fm_wl_run(&args, &res);
    if (rc == FM_WL_ERANGE)
        return usage_error("%s: %s (%s)", wl->name, res.reason, fm_wl_strerror(rc));
    if (rc != FM_WL_OK) {
        fprintf(stderr, "fm-stress: %s: %s\n", wl->name, fm_wl_strerror(rc));
        return EXIT_FAILED;
    }
    print_result(&args, &res);
    return res.passed ? EXIT_PASS : EXIT_FAILED;
}

int main(int argc, char **argv)
{
    int status;
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        status = (fputs(usage_text, stdout), EXIT_PASS);
    else if (strcmp(argv[1], "--list") == 0)
        status = argc == 2 ? print_list() : usage_error("--list takes no arguments");
    else if (argv[1][0] == '-')
        status = usage_error("expected a workload name first, got '%s' (see 'fm-stress --help')",
                             argv[1]);
    else
        status = run_workload(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fm-stress: cannot write output: %s\n", strerror(errno));
        return status == EXIT_PASS ? EXIT_FAILED : status;
    }
    return status;
}
