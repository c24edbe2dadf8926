/*
 * cli_cond.c - the run conditions as command-line options, shared by `run` and `sweep`: the
 * option's long name is the condition's name, and fm_cond_set (launch/fm_cond.c) checks the
 * value and says what is wrong with it.
 */
#include "fm_cli.h"
#include "fm_cond.h"

int fm_cli_parse_condition(void *cond, const char *text, const char *name)
{
    char err[256];
    if (fm_cond_set(cond, name + 2, text, err, sizeof err) != FM_RUN_OK) /* name is "--cpus" */
        return fm_cli_usage_error("--%s", err);
    return 0;
}
