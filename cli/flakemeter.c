/*
 * flakemeter.c - the command table and dispatcher of the flakemeter tool.
 *
 * Like kmod's tools and git's builtins: one table names every subcommand, its entry point and
 * a one-line summary; the same table builds `flakemeter --help`.  Each subcommand parses its
 * own options (cmd_*.c), so this file only routes.
 */
#include "fm_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef FM_CLI_LEAN
/*
 * The lean `flakemeter` (cli/meson.build): ingest and export, which need libxml2, and the hidden
 * build commands run in `flakemeter-xml`, exec'd with this process's own arguments, found next
 * to this executable (the build tree, or an install that put both in one folder) or in
 * FM_LIBEXEC_DIR.
 */
static char **own_argv;

static int run_full(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char dir[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    char *slash = n > 0 ? (dir[n] = '\0', strrchr(dir, '/')) : NULL;
    fflush(NULL);
    if (slash != NULL) {
        *slash = '\0';
        snprintf(path, sizeof path, "%s/flakemeter-xml", dir);
        execv(path, own_argv);
    }
    snprintf(path, sizeof path, "%s/flakemeter-xml", FM_LIBEXEC_DIR);
    execv(path, own_argv);
    return fm_cli_fail("'%s' runs in flakemeter-xml (libxml2), which cannot be started from %s: %s",
                       own_argv[1], path, strerror(errno));
}
#define CMD_XML(fn) run_full
#else
#define CMD_XML(fn) fn
#endif

static const struct fm_cmd commands[] = {
    {"run", cmd_run, "run a workload or a command many times and measure its flakiness"},
    {"show", cmd_show, "the verdict of a stored campaign"},
    {"sweep", cmd_sweep,
     "how the failure rate depends on CPUs, load, quota, emulation, parameters"},
    {"stress", CMD_XML(cmd_stress),
     "every test of a suite (pytest, CTest, GoogleTest, ...) run many times"},
    {"merge", cmd_merge, "combine stores (shards, machines) without double counting"},
    {"export", CMD_XML(cmd_export), "write stored runs as JSON, CSV or JUnit XML"},
    {"ingest", CMD_XML(cmd_ingest), "read JUnit XML reports of CI runs into the store"},
    {"tests", cmd_tests, "per-test flake rates, flip rates and classes from the CI history"},
    {"budget", cmd_budget, "attempts per test that keep a suite's CI red rate under a target"},
    {"check", cmd_check, "did a test's failure rate rise? (exit 1 when one did)"},
    {"report", cmd_report, "one page (HTML or Markdown) with pictures of campaigns and CI history"},
    {"bench", cmd_bench, "benchmarks: 'bench emu', the slowdown under QEMU and CI timeouts"},
    {"interval", cmd_interval, "confidence interval for a failure probability (k of n)"},
    {"retries", cmd_retries, "attempts needed to reach a target failure rate"},
    {"plan", cmd_plan, "runs needed to show a failure probability is below p0"},
    {"list", cmd_list, "the built-in workloads and their parameters"},
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

static int usage(FILE *out)
{
    fputs("usage: flakemeter [-V|--version] [-h|--help] COMMAND [ARGS]\n"
          "       flakemeter help [COMMAND]\n"
          "\n"
          "Measure how flaky a test is, with an honest confidence interval, and derive the\n"
          "retry count that brings its failure rate under a target.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'flakemeter help COMMAND' or 'flakemeter COMMAND --help' describes a command;\n"
          "'man flakemeter-COMMAND' too when installed.  Exit status: 0 success, 1 the work or\n"
          "the environment failed, 2 bad input.\n",
          out);
    return FM_EXIT_OK;
}

static const struct fm_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *word)
{
    const char *names[sizeof commands / sizeof commands[0] + 1];
    for (size_t i = 0; i < n_commands; i++)
        names[i] = commands[i].name;
    names[n_commands] = "help";
    const char *near = fm_cli_suggest(word, names, n_commands + 1);
    if (word[0] == '-')
        return fm_cli_usage_error("unknown option '%s' (see 'flakemeter --help')", word);
    if (near != NULL)
        return fm_cli_usage_error("unknown command '%s'; did you mean '%s'? (see 'flakemeter "
                                  "--help')",
                                  word, near);
    return fm_cli_usage_error("unknown command '%s' (see 'flakemeter --help')", word);
}

/* cmd with --help, in the current fm_cli_help_mode; "bench emu" through bench's table. */
static int call_help(const struct fm_cmd *cmd, const char *sub)
{
    char *argv[] = {(char *)cmd->name, (char *)(sub != NULL ? sub : "--help"), "--help", NULL};
    fm_cli_cmd = cmd->name;
    fm_cli_summary = cmd->summary;
    optind = 0; /* a full reset of getopt between commands */
    return cmd->run(sub != NULL ? 3 : 2, argv);
}

/* `flakemeter help [COMMAND [SUB]]` */
static int help(int argc, char **argv)
{
    if (argc < 3)
        return fm_cli_finish(usage(stdout));
    const struct fm_cmd *cmd = find_command(argv[2]);
    if (cmd == NULL)
        return unknown_command(argv[2]);
    if (argc > 4)
        return fm_cli_usage_error("help: unexpected argument '%s'", argv[4]);
    return fm_cli_finish(call_help(cmd, argc > 3 ? argv[3] : NULL));
}

/*
 * Hidden commands for the build (cli/meson.build), not listed by --help:
 *   _man DIR          flakemeter.1 and flakemeter-CMD.1 for every command into DIR
 *   _completion       the bash completion script
 *   _options CMD [SUB] one line per option of CMD: short, long, value name (tab-separated)
 * All of them call the commands with --help in another help mode, so they print what the
 * option tables hold, as --help does.
 */
static const char *const benches[] = {"emu"};

static int man_top(FILE *out)
{
    fprintf(out,
            ".\\\" generated by 'flakemeter _man' from the command table\n"
            ".TH FLAKEMETER 1 \"\" \"flakemeter %s\" \"flakemeter manual\"\n"
            ".SH NAME\nflakemeter \\- measure how flaky a test is\n"
            ".SH SYNOPSIS\n.nf\nflakemeter [\\-V|\\-\\-version] [\\-h|\\-\\-help] COMMAND [ARGS]\n"
            "flakemeter help [COMMAND]\n.fi\n"
            ".SH DESCRIPTION\nMeasure how flaky a test is, with an honest confidence interval, "
            "and derive the retry count that brings its failure rate under a target.\n"
            ".SH COMMANDS\n",
            FM_VERSION);
    for (size_t i = 0; i < n_commands; i++) {
        fprintf(out, ".TP\n\\fBflakemeter\\-%s\\fR(1)\n", commands[i].name);
        for (const char *c = commands[i].summary; *c; c++)
            fputs(*c == '-' ? "\\-" : (char[]){*c, 0}, out);
        fputc('\n', out);
    }
    fputs(".SH EXIT STATUS\n.TP\n0\nsuccess\n.TP\n1\nthe work or the environment failed\n"
          ".TP\n2\nbad input\n",
          out);
    return 0;
}

static int gen_man(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/flakemeter.1", dir);
    if (freopen(path, "w", stdout) == NULL)
        return fm_cli_fail("_man: cannot write '%s'", path);
    man_top(stdout);
    fm_cli_help_mode = FM_HELP_MAN;
    for (size_t i = 0; i < n_commands; i++) {
        bool bench = strcmp(commands[i].name, "bench") == 0;
        for (size_t b = 0; b < (bench ? sizeof benches / sizeof benches[0] : 1); b++) {
            if (bench)
                snprintf(path, sizeof path, "%s/flakemeter-bench-%s.1", dir, benches[b]);
            else
                snprintf(path, sizeof path, "%s/flakemeter-%s.1", dir, commands[i].name);
            if (fflush(stdout) != 0 || freopen(path, "w", stdout) == NULL)
                return fm_cli_fail("_man: cannot write '%s'", path);
            call_help(&commands[i], bench ? benches[b] : NULL);
        }
    }
    return fm_cli_finish(FM_EXIT_OK);
}

static int gen_completion(void)
{
    printf("# bash completion for flakemeter, generated by 'flakemeter _completion' from the\n"
           "# option tables of every command.\n"
           "_flakemeter()\n{\n"
           "    local cur prev words cword\n"
           "    _init_completion -n = || return\n"
           "    local cmd=\"${words[1]}\" opts\n"
           "    if [[ $cword -eq 1 ]]; then\n"
           "        COMPREPLY=($(compgen -W 'help -V --version -h --help");
    for (size_t i = 0; i < n_commands; i++)
        printf(" %s", commands[i].name);
    printf("' -- \"$cur\"))\n        return\n    fi\n"
           "    case \"$cmd\" in\n"
           "    help) COMPREPLY=($(compgen -W '");
    for (size_t i = 0; i < n_commands; i++)
        printf("%s%s", i ? " " : "", commands[i].name);
    printf("' -- \"$cur\")); return ;;\n");
    fm_cli_help_mode = FM_HELP_WORDS;
    for (size_t i = 0; i < n_commands; i++) {
        if (strcmp(commands[i].name, "bench") == 0) {
            printf("    bench)\n        if [[ $cword -eq 2 ]]; then COMPREPLY=($(compgen -W '");
            for (size_t b = 0; b < sizeof benches / sizeof benches[0]; b++)
                printf("%s%s", b ? " " : "", benches[b]);
            printf("' -- \"$cur\")); return; fi\n        case \"${words[2]}\" in\n");
            for (size_t b = 0; b < sizeof benches / sizeof benches[0]; b++) {
                printf("        %s) opts='", benches[b]);
                fflush(stdout);
                call_help(&commands[i], benches[b]);
                printf("' ;;\n");
            }
            printf("        esac ;;\n");
            continue;
        }
        printf("    %s) opts='", commands[i].name);
        fflush(stdout);
        call_help(&commands[i], NULL);
        printf("' ;;\n");
    }
    /* call_help's words end with a newline; drop it in the script through $(echo) */
    printf("    esac\n"
           "    case \"$prev\" in\n"
           "    --db|--output|-o|--plot|--keep-output|--cross-dir|--native)\n"
           "        _filedir; return ;;\n"
           "    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$(echo $opts)\" -- \"$cur\"))\n"
           "        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace\n"
           "    elif [[ $cmd == run || $cmd == sweep || $cmd == list ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$(flakemeter list 2>/dev/null | awk 'NR>1 && "
           "/^[a-z]/ {print $1}')\" -- \"$cur\"))\n"
           "    else\n"
           "        _filedir\n"
           "    fi\n"
           "} &&\n"
           "    complete -F _flakemeter flakemeter\n");
    return fm_cli_finish(FM_EXIT_OK);
}

static int hidden(int argc, char **argv)
{
    if (strcmp(argv[1], "_man") == 0 && argc == 3)
        return gen_man(argv[2]);
    if (strcmp(argv[1], "_completion") == 0 && argc == 2)
        return gen_completion();
    if (strcmp(argv[1], "_options") == 0 && (argc == 3 || argc == 4)) {
        const struct fm_cmd *cmd = find_command(argv[2]);
        if (cmd == NULL)
            return unknown_command(argv[2]);
        fm_cli_help_mode = FM_HELP_TABLE;
        return fm_cli_finish(call_help(cmd, argc == 4 ? argv[3] : NULL));
    }
    return unknown_command(argv[1]);
}

int main(int argc, char **argv)
{
#ifdef FM_CLI_LEAN
    own_argv = argv;
#endif
    if (argc < 2)
        return usage(stderr), FM_EXIT_USAGE;
    const char *word = argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
        return fm_cli_finish(usage(stdout));
    if (strcmp(word, "--version") == 0 || strcmp(word, "-V") == 0) {
        if (argc > 2)
            return fm_cli_usage_error("%s: unexpected argument '%s'", word, argv[2]);
        printf("flakemeter %s\n", FM_VERSION);
        return fm_cli_finish(FM_EXIT_OK);
    }
    if (strcmp(word, "help") == 0)
        return help(argc, argv);
#ifdef FM_CLI_LEAN
    if (word[0] == '_')
        return run_full(argc, argv);
#endif
    if (word[0] == '_')
        return hidden(argc, argv);
    const struct fm_cmd *cmd = find_command(word);
    if (cmd == NULL)
        return unknown_command(word);
    fm_cli_cmd = cmd->name;
    fm_cli_summary = cmd->summary;
    return fm_cli_finish(cmd->run(argc - 1, argv + 1));
}
