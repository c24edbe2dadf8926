/*
 * fm_cli.h - what the subcommands of the flakemeter tool share.
 *
 * The tool is a thin front over the libraries: each subcommand lives in its own cmd_*.c file
 * with its usage text and its option table, each option with its help line (like git's
 * builtin/), parses its arguments with the helpers below, calls a library, and prints.  Only this
 * layer prints and picks exit statuses: 0  success;  1  the work or the environment failed
 * (numerical failure, write error, a damaged store, a system limit);  2  bad input only (an
 * option, operand or named file that is wrong). Every message is one line on stderr naming the
 * argument and what is accepted, its control characters escaped.
 */
#ifndef FM_CLI_H
#define FM_CLI_H

#include "fm_target.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { FM_EXIT_OK = 0, FM_EXIT_FAIL = 1, FM_EXIT_USAGE = 2 };

/* One entry of the command table; the table also builds `flakemeter --help`. */
struct fm_cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
};

int cmd_interval(int argc, char **argv);
int cmd_retries(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_stress(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_tests(int argc, char **argv);
int cmd_budget(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_emu(int argc, char **argv);

/* Name of the running subcommand, for messages ("flakemeter interval: ..."). */
extern const char *fm_cli_cmd;

/*
 * Escape control characters of text into buf ("\n", "\t", "\x1b"): the text a user typed,
 * printed inside one line or one table cell.  Returns the length the escaped text needs (as
 * snprintf); buf is always terminated when size > 0.
 */
size_t fm_cli_escape(const char *text, char *buf, size_t size);
/* The same, returning buf (NULL text prints as ""). */
const char *fm_cli_esc(const char *text, char *buf, size_t size);

/*
 * The name among names[0..n) nearest to word (Damerau-Levenshtein distance at most
 * FM_CLI_SUGGEST_MAX and less than word's length), for "did you mean"; NULL when none is near.
 */
enum { FM_CLI_SUGGEST_MAX = 2 };
const char *fm_cli_suggest(const char *word, const char *const *names, size_t n);
/* "unknown workload 'bernouli'; did you mean 'bernoulli'? (see 'flakemeter list'...)": one line,
 * FM_EXIT_USAGE.  The names are libfmwl's registry. */
int fm_cli_unknown_workload(const char *name, bool command_hint);

/*
 * What --help prints.  The hidden commands `flakemeter _man` and `_completion` (flakemeter.c)
 * switch it and call each command with --help, so man pages and completion come from the same
 * option tables as --help.
 */
struct fm_opt;
enum { FM_HELP_TEXT, FM_HELP_MAN, FM_HELP_WORDS, FM_HELP_TABLE };
extern int fm_cli_help_mode;
/* The running command's one-line summary (from the command table), for the man page's NAME. */
extern const char *fm_cli_summary;
/* The man page of a command from its help text and option table (FM_HELP_MAN). */
void fm_cli_print_man(FILE *out, const char *help, const struct fm_opt *opts);

/*
 * "-" as a file operand or option value: standard input or output.  fm_cli_is_stdio(path) is
 * true for "-".
 */
bool fm_cli_is_stdio(const char *path);
/*
 * Write the output to path as common/fm_target.h rules: a regular file (or a new one, or one a
 * link names) atomically through a temporary file beside it renamed over it once complete; a
 * device, FIFO or terminal directly; anything else refused.  "-" is standard output.
 * fm_cli_output_open returns 0, or the exit status after one line (2: a target that cannot be
 * written safely); _close returns 0 or the exit status after one line (the temporary file
 * removed), and with failed set just removes it.
 */
typedef struct {
    FILE *f;
    fm_target target;
    const char *path, *opt;
} fm_cli_output;
int fm_cli_output_open(fm_cli_output *out, const char *opt, const char *path);
int fm_cli_output_close(fm_cli_output *out, bool failed);

/*
 * --plot FILE checked before any run: 0; or one line and 2 (not .png/.svg, "-", a folder that
 * is missing or not writable) or 1 (gnuplot not installed).
 */
int fm_cli_check_plot(const char *path);

/*
 * A command that could not be started (errno err, message one line): 2 when the command named
 * is wrong (ENOENT, EACCES, ENOEXEC, ...), 1 for a limit of this machine (EMFILE, EAGAIN, ENOMEM).
 */
int fm_cli_start_error(int err, const char *message);

/* Print "flakemeter CMD: <message>" on stderr and return FM_EXIT_USAGE. */
int fm_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "flakemeter CMD: <message>" on stderr and return FM_EXIT_FAIL. */
int fm_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * getopt_long over argv with errors reported our way.  Returns the option's value, -1 at the
 * end, or '?' after it has printed a one-line error for an unknown option or a missing value.
 */
int fm_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/*
 * Option tables (cli_options.c), after git's parse-options: a command lists its options next
 * to the variables they fill, each with its help line, ended by FM_OPT_END.  The same table
 * drives parsing and the options part of `--help`, so the two cannot drift.  Every entry ends
 * with the value's name in the help (ARGH: "C", "LIST"; none for a flag) and the help text:
 *   FM_OPT_BOOL('j', "json", &json, HELP)                          a flag
 *   FM_OPT_STRING('o', "output", &path, "FILE", HELP)               a string (argv's own)
 *   FM_OPT_REAL('c', "confidence", &c, 0, 1, FM_OPT_OPEN, "C", HELP) a real number in a range
 *   FM_OPT_COUNT('n', "runs", &n, 1, 1e12, "N", HELP)               a whole number in [lo, hi]
 *   FM_OPT_CALL('m', "method", &method, parse_method, "M", HELP)    fn(value, text, "--method")
 *   FM_OPT_GROUP("Run conditions:")     a blank line and this header before the options after
 *                                       it; FM_OPT_GROUP("") only the blank line
 * A trailing `.seen = &flag` sets flag when the option is given.  A short name of 0 means a
 * long option only.  HELP is one text, wrapped by the generator (a '\n' in it breaks the line);
 * -h/--help is always there and always listed last.
 */
enum {
    FM_OPT_KIND_BOOL = 1,
    FM_OPT_KIND_STRING,
    FM_OPT_KIND_REAL,
    FM_OPT_KIND_COUNT,
    FM_OPT_KIND_CALL,
    FM_OPT_KIND_GROUP
};
enum { FM_OPT_CLOSED = 0, FM_OPT_LO_OPEN = 1, FM_OPT_HI_OPEN = 2, FM_OPT_OPEN = 3 };
struct fm_opt {
    int kind;
    int short_name;
    const char *long_name;
    void *value;
    const char *argh; /* the value's name in --help ("C", "LIST"); NULL for a flag */
    const char *help; /* the help text; GROUP: the header */
    double lo, hi;    /* REAL and COUNT */
    int open;         /* REAL: FM_OPT_LO_OPEN | FM_OPT_HI_OPEN */
    int (*fn)(void *value, const char *text, const char *name); /* CALL: 0 or an exit status */
    bool *seen;
};
#define FM_OPT_ENTRY(k, s, l, v, a, h, ...)                                                        \
    {                                                                                              \
        .kind = (k), .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h),  \
        __VA_ARGS__                                                                                \
    }
#define FM_OPT_BOOL(s, l, v, h, ...) FM_OPT_ENTRY(FM_OPT_KIND_BOOL, s, l, v, NULL, h, __VA_ARGS__)
#define FM_OPT_STRING(s, l, v, a, h, ...)                                                          \
    FM_OPT_ENTRY(FM_OPT_KIND_STRING, s, l, v, a, h, __VA_ARGS__)
#define FM_OPT_REAL(s, l, v, lo_, hi_, open_, a, h, ...)                                           \
    FM_OPT_ENTRY(FM_OPT_KIND_REAL, s, l, v, a, h, .lo = (lo_), .hi = (hi_), .open = (open_),       \
                 __VA_ARGS__)
#define FM_OPT_COUNT(s, l, v, lo_, hi_, a, h, ...)                                                 \
    FM_OPT_ENTRY(FM_OPT_KIND_COUNT, s, l, v, a, h, .lo = (lo_), .hi = (hi_), __VA_ARGS__)
#define FM_OPT_CALL(s, l, v, fn_, a, h, ...)                                                       \
    FM_OPT_ENTRY(FM_OPT_KIND_CALL, s, l, v, a, h, .fn = (fn_), __VA_ARGS__)
#define FM_OPT_GROUP(h) FM_OPT_ENTRY(FM_OPT_KIND_GROUP, 0, NULL, NULL, NULL, h, )
#define FM_OPT_END                                                                                 \
    {                                                                                              \
        0                                                                                          \
    }

/*
 * The options part of a command's --help, from its table: one entry per line as
 * "  -c, --confidence C   help", then -h/--help.  The help column is two spaces after the longest
 * option, at most FM_OPT_HELP_MAX_COLUMN (a longer option has its help on the next line); help
 * is wrapped before column FM_OPT_HELP_WIDTH.
 */
enum { FM_OPT_HELP_MAX_COLUMN = 26, FM_OPT_HELP_WIDTH = 92 };
void fm_cli_print_options(FILE *out, const struct fm_opt *opts);

/*
 * The run conditions (--cpus, --pin, --load, --load-nice, --quota, --nice, --emulator, --launch,
 * --output) as option entries filling an fm_cond (launch/fm_cond.h); `run` and `sweep` share them.
 */
int fm_cli_parse_condition(void *cond, const char *text, const char *name);
/* --emulator: "QEMU CROSS-FM-STRESS WORD..." as a NULL-terminated calloc'd argv (its strings are
 * the arguments'), or NULL when out of memory. */
char **fm_cli_emulator_argv(const char *qemu, const char *cross_stress, char **words, int n);
/* The attempts `flakemeter CMD` runs at once: jobs, lowered to the CPUs rt's conditions allow
 * unless allow (fm_cond_fit_jobs), with its one line on stderr when it lowers or keeps. */
struct fm_cond_rt;
int fm_cli_fit_jobs(const char *cmd, const struct fm_cond_rt *rt, int jobs, bool allow);
#define FM_OPT_CONDITIONS(cond)                                                                    \
    FM_OPT_CALL(0, "cpus", cond, fm_cli_parse_condition, "N",                                      \
                "each run may use only the first N CPUs of this machine"),                         \
        FM_OPT_CALL(0, "pin", cond, fm_cli_parse_condition, "LIST",                                \
                    "each run may use only these CPUs (0,2-3)"),                                   \
        FM_OPT_CALL(0, "load", cond, fm_cli_parse_condition, "N",                                  \
                    "N busy-loop processes compete with the runs"),                                \
        FM_OPT_CALL(0, "load-nice", cond, fm_cli_parse_condition, "K",                             \
                    "nice value of those processes"),                                              \
        FM_OPT_CALL(0, "quota", cond, fm_cli_parse_condition, "F",                                 \
                    "the runs get F CPUs of bandwidth (cgroup cpu.max; 0.5 = half a CPU)"),        \
        FM_OPT_CALL(0, "nice", cond, fm_cli_parse_condition, "K", "nice value of the runs"),       \
        FM_OPT_CALL(0, "emulator", cond, fm_cli_parse_condition, "ARCH",                           \
                    "run the workload's cross-built fm-stress under qemu-ARCH"),                   \
        FM_OPT_CALL(                                                                               \
            0, "launch", cond, fm_cli_parse_condition, "HOW",                                      \
            "clone (default) or fork: flakemeter does not wait for the run to start, as a "        \
            "shell; spawn: it wakes when the run has started, as posix_spawn and "                 \
            "Python's subprocess; shell: through /bin/sh -c, as a CI step "                        \
            "(docs/design.md, \"Launching\")"),                                                    \
        FM_OPT_CALL(0, "output", cond, fm_cli_parse_condition, "WHERE",                            \
                    "the runs' stdout and stderr: pipe (default; read as it comes), file (a "      \
                    "temporary file per attempt, read at its end) or null (/dev/null, nothing "    \
                    "kept)")

/* How each run of `run` and `sweep` is bounded and seeded, filling an fm_run_config. */
#define FM_OPT_RUN_LIMITS(cfg)                                                                     \
    FM_OPT_REAL(0, "timeout", &(cfg)->timeout_s, 0, 1e9, FM_OPT_LO_OPEN, "S",                      \
                "per attempt; SIGTERM to its process group, SIGKILL after --grace"),               \
        FM_OPT_REAL(0, "grace", &(cfg)->grace_s, 0, 3600, FM_OPT_CLOSED, "S",                      \
                    "seconds between SIGTERM and SIGKILL (default 2)"),                            \
        FM_OPT_COUNT(0, "seed", &(cfg)->seed, 0, (double)(UINT64_MAX >> 11), "S",                  \
                     "base seed (FLAKEMETER_SEED; default 0 = upstream inputs)"),                  \
        FM_OPT_CALL(0, "cgroup", (cfg), fm_cli_parse_cgroup, "MODE",                               \
                    "each attempt in its own cgroup, killed whole at its end: auto (where one "    \
                    "can be made), off (subreaper sweep only), require, v2 or v1")
/* FM_OPT_CALL parser of --cgroup MODE into an fm_run_config (fm_cgroup.h). */
int fm_cli_parse_cgroup(void *value, const char *text, const char *name);

/* What may follow the options. */
enum {
    FM_CLI_NO_OPERANDS,    /* nothing: an operand is "unexpected argument" */
    FM_CLI_OPERANDS,       /* operands, mixed with options (GNU order), left to the caller */
    FM_CLI_COMMAND_FOLLOWS /* stop at the first operand: a command line follows */
};
/*
 * Parse argv[1..] against opts.  Returns -1 with optind at the first operand, FM_EXIT_OK after
 * --help, or FM_EXIT_USAGE after printing one line.  --help prints help (the usage lines and a
 * description, hand-written), a blank line, and the options generated from opts.
 */
int fm_cli_options(int argc, char **argv, const struct fm_opt *opts, const char *help,
                   int operands);
/* -1 when no operand is left, else one line naming the first and FM_EXIT_USAGE. */
int fm_cli_no_operands(int argc, char **argv);
/* At most one operand (e.g. a campaign's LABEL), stored in *operand when given. */
int fm_cli_optional_operand(int argc, char **argv, const char **operand);

/*
 * Number parsers: on success store the value and return 0; otherwise print one line naming
 * the option and the accepted range and return FM_EXIT_USAGE.
 */
/* A real number in the interval from lo to hi; *_open excludes that end. */
int fm_cli_parse_real(const char *opt, const char *text, double lo, bool lo_open, double hi,
                      bool hi_open, double *out);
/* A whole number in [lo, hi]; "1e12" is accepted when it is a whole number. */
int fm_cli_parse_count(const char *opt, const char *text, uint64_t lo, uint64_t hi, uint64_t *out);

/*
 * After the options of `run` and `sweep`: what to run must follow, a workload or '-- COMMAND'.
 * Returns -1 with *command set (a '--' came before it), or prints one line and returns
 * FM_EXIT_USAGE.
 */
int fm_cli_what_to_run(int argc, char **argv, bool *command);
/*
 * A command line as a label for people ("python3 -m pytest -k x", cut at label_size) and as
 * the JSON array of strings the store keeps.  0, or one line and FM_EXIT_USAGE when the JSON
 * does not fit.
 */
int fm_cli_describe_command(char **argv, char *label, size_t label_size, char *json,
                            size_t json_size);

/* Dump a JSON value (consumes the reference) to stdout with a newline. */
int fm_cli_print_json(json_t *value);
/* A JSON real, or null when x is not finite. */
json_t *fm_cli_json_real(double x);

/* Format a probability for people, always as a percentage: "6.0%", "0.35%", "0.0025%",
 * "2.5e-05%" (below 1e-6, %g's exponent). */
const char *fm_cli_fmt_prob(double p, char *buf, size_t size);
/* Format n probabilities alike, with as many digits as it takes for different values to print
 * differently (an interval at n = 1e12 is narrow). */
void fm_cli_fmt_probs(const double *p, char (*bufs)[32], int n);

/*
 * Attempt counts above this are printed as what they mean ("more than 10^6: fix the test"), not
 * as digits: no CI retries a test a million times.  JSON keeps the exact count.
 */
#define FM_CLI_ASTRONOMIC_ATTEMPTS 1000000u

/* True when a count of attempts is above FM_CLI_ASTRONOMIC_ATTEMPTS. */
bool fm_cli_astronomic(uint64_t attempts);

/* "4", "more than 10^6: fix the test" or "unreachable", into buf. */
const char *fm_cli_fmt_attempts(bool reachable, uint64_t attempts, char *buf, size_t size);

/* The shortest decimal that reads back as x ("9.999999999995e-07", "1e-06"). */
const char *fm_cli_fmt_exact(double x, char *buf, size_t size);

/*
 * Open the results store at path (create: make it if missing).  Returns 0, or the exit status
 * after printing one line naming the path and what is wrong with it.
 */
struct fm_store;
int fm_cli_open_store(const char *path, bool create, struct fm_store **out);
/* The same, and a postgresql:// URL too (run, show, export: docs/scale.md). */
int fm_cli_open_shared_store(const char *url, bool create, struct fm_store **out);

/*
 * Several stores read as one (`show`, `tests`: --db repeated or a quoted glob): they are merged
 * into a temporary store (as `flakemeter merge` would: the same campaign's runs once, different
 * commands under one label refused) that fm_cli_close_stores removes.  Without --db: the
 * default store.  display names them for messages ("a.db", "a.db and 3 more").
 */
typedef struct fm_cli_stores {
    char **paths;
    size_t n, cap;
    char display[256];
    char tmpdir[4096]; /* "" unless a temporary store was made */
    bool allow_url;    /* one postgresql:// store may be read (show) */
} fm_cli_stores;
int fm_cli_parse_db(void *stores, const char *text, const char *name); /* FM_OPT_CALL */
int fm_cli_open_stores(fm_cli_stores *s, struct fm_store **out);
void fm_cli_close_stores(fm_cli_stores *s, struct fm_store *store);

/* The exit status and one line for a failed fm_store_merge (err: its message). */
int fm_cli_merge_failed(int status, const char *err);

/*
 * run --require-below P0: 0 when the campaign's exact one-sided upper bound at conf is below
 * p0 (shown fixed), else 1; one line either way (on stderr with json, so stdout stays one
 * object), with the runs `plan` asks for when not shown.
 */
int fm_cli_require_below(struct fm_store *store, int64_t campaign, double conf, double p0,
                         bool json);

/* Flush stdout and report a failed write; returns the status to exit with. */
int fm_cli_finish(int status);

#endif
