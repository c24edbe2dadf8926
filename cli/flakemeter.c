/*
 * flakemeter.c - the command table and dispatcher of the flakemeter tool.
 *
 * Like kmod's tools and git's builtins: one table names every subcommand, its entry point and
 * a one-line summary; the same table builds `flakemeter --help`.  Each subcommand parses its
 * own options (cmd_*.c), so this file only routes.
 */
#include "fm_cli.h"

#include <stdio.h>
#include <string.h>

static const struct fm_cmd commands[] = {
    {"run", cmd_run, "run a workload or a command many times and measure its flakiness"},
    {"show", cmd_show, "the verdict of a stored campaign"},
    {"sweep", cmd_sweep,
     "how the failure rate depends on CPUs, load, quota, emulation, parameters"},
    {"merge", cmd_merge, "combine stores (shards, machines) without double counting"},
    {"export", cmd_export, "write stored runs as JSON, CSV or JUnit XML"},
    {"ingest", cmd_ingest, "read JUnit XML reports of CI runs into the store"},
    {"tests", cmd_tests, "per-test flake rates, flip rates and classes from the CI history"},
    {"budget", cmd_budget, "attempts per test that keep a suite's CI red rate under a target"},
    {"check", cmd_check, "did a test's failure rate rise? (exit 1 when one did)"},
    {"bench", cmd_bench, "benchmarks: 'bench emu', the slowdown under QEMU and CI timeouts"},
    {"interval", cmd_interval, "confidence interval for a failure probability (k of n)"},
    {"retries", cmd_retries, "attempts needed to reach a target failure rate"},
    {"plan", cmd_plan, "runs needed to show a failure probability is below p0"},
    {"list", cmd_list, "the built-in workloads and their parameters"},
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

static int usage(FILE *out)
{
    fputs("usage: flakemeter [--version] [--help] COMMAND [ARGS]\n"
          "\n"
          "Measure how flaky a test is, with an honest confidence interval, and derive the\n"
          "retry count that brings its failure rate under a target.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'flakemeter COMMAND --help' describes a command.\n", out);
    return FM_EXIT_OK;
}

static const struct fm_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr), FM_EXIT_USAGE;
    const char *word = argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
        return fm_cli_finish(usage(stdout));
    if (strcmp(word, "--version") == 0) {
        printf("flakemeter %s\n", FM_VERSION);
        return fm_cli_finish(FM_EXIT_OK);
    }
    if (strcmp(word, "help") == 0 && argc >= 3) {
        const struct fm_cmd *cmd = find_command(argv[2]);
        if (cmd == NULL)
            return fm_cli_usage_error("unknown command '%s' (see 'flakemeter --help')", argv[2]);
        char *help_argv[] = {argv[2], "--help", NULL};
        fm_cli_cmd = cmd->name;
        return fm_cli_finish(cmd->run(2, help_argv));
    }
    const struct fm_cmd *cmd = find_command(word);
    if (cmd == NULL)
        return fm_cli_usage_error("unknown command '%s' (see 'flakemeter --help')", word);
    fm_cli_cmd = cmd->name;
    return fm_cli_finish(cmd->run(argc - 1, argv + 1));
}
