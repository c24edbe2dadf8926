/*
 * cli_cond.c - the run conditions as command-line options, shared by `run` and `sweep`: the
 * option's long name is the condition's name, and fm_cond_set (launch/fm_cond.c) checks the
 * value and says what is wrong with it.
 */
#include "fm_cli.h"
#include "fm_cond.h"

#include <stdio.h>
#include <stdlib.h>

int fm_cli_parse_condition(void *cond, const char *text, const char *name)
{
    char err[256];
    if (fm_cond_set(cond, name + 2, text, err, sizeof err) != FM_RUN_OK) /* name is "--cpus" */
        return fm_cli_usage_error("--%s", err);
    return 0;
}

char **fm_cli_emulator_argv(const char *qemu, const char *cross_stress, char **words, int n)
{
    char **argv = calloc((size_t)n + 3, sizeof *argv);
    if (argv == NULL)
        return NULL;
    argv[0] = (char *)qemu;
    argv[1] = (char *)cross_stress;
    for (int i = 0; i < n; i++)
        argv[i + 2] = words[i];
    return argv;
}

int fm_cli_fit_jobs(const char *cmd, const struct fm_cond_rt *rt, int jobs, bool allow)
{
    char note[512];
    int fit = fm_cond_fit_jobs(rt, jobs, allow, note, sizeof note);
    if (*note)
        fprintf(stderr, "flakemeter %s: %s\n", cmd, note);
    return fit;
}
