/*
 * cli_campaign.h - campaign identity for `flakemeter run` (cli_campaign.c): which label an
 * invocation writes to, and whether --resume may continue it.
 */
#ifndef CLI_CAMPAIGN_H
#define CLI_CAMPAIGN_H

#include "fm_store.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *label;         /* --label, or NULL */
    const char *default_label; /* from the command */
    const char *db;
    const char *fingerprint; /* of what runs now */
    bool resume, force;
    char *buf; /* room for "default_label #K" */
    size_t buf_size;
} fm_cli_campaign_ask;

/* The label to write to: 0, or an exit status after a one-line error (an existing --label
 * without --resume). */
int fm_cli_campaign_label(fm_cli_campaign_ask *a, fm_store *store, const char **label);
/* With --resume of an existing campaign: 0 when the executable is the same (or --force), else
 * an exit status after a one-line error. */
int fm_cli_campaign_check_resume(const fm_cli_campaign_ask *a, fm_store *store, const char *label);
/* FM_OPT_CALL parser of --error-exit CODES into an fm_run_config's error_exit[]. */
int fm_cli_parse_error_exit(void *value, const char *text, const char *name);
/* FM_OPT_CALL parser of --shard I/N into an fm_run_config. */
int fm_cli_parse_shard(void *value, const char *text, const char *name);

#endif
