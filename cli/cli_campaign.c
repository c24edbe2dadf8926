/*
 * cli_campaign.c - which campaign an invocation of `run` writes to (campaign identity, issue 13):
 * every invocation is a new campaign unless --resume asks to continue one.  A default label (made
 * from the command) that exists gets the next free " #K" suffix; an explicit --label that exists
 * is refused without --resume.  --resume continues --label L, or the newest campaign of the
 * default label ("sleep 5", "sleep 5 #2", ...), and refuses when the executable changed since
 * (the stored fingerprint, launch/fm_fingerprint.h) unless --force.  Also the parsers of
 * --error-exit and --shard.
 */
#include "cli_campaign.h"
#include "fm_cli.h"
#include "fm_fingerprint.h"
#include "fm_run.h"
#include "fm_shard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool label_exists(fm_store *store, const char *label)
{
    int64_t id;
    return fm_store_find_campaign(store, label, &id, NULL) == FM_STORE_OK;
}

/*
 * The label of this invocation's campaign (campaign identity: the comment at the top).  Returns
 * 0, or an exit status after a one-line error.
 */
int fm_cli_campaign_label(fm_cli_campaign_ask *a, fm_store *store, const char **label)
{
    const char *base = a->label ? a->label : a->default_label;
    *label = base;
    if (a->label != NULL) {
        if (!a->resume && label_exists(store, base))
            return fm_cli_usage_error("--label: campaign '%s' already exists in %s; add --resume "
                                      "to continue it, or choose another label",
                                      base, a->db);
        return 0;
    }
    /* base, "base #2", "base #3" ...: the newest existing one (--resume) or the next free one. */
    const char *newest = label_exists(store, base) ? base : NULL;
    for (int k = 2; newest != NULL; k++) {
        snprintf(a->buf, a->buf_size, "%s #%d", base, k);
        if (!label_exists(store, a->buf)) {
            if (!a->resume)
                *label = a->buf;
            break;
        }
        newest = a->buf;
    }
    if (a->resume && newest != NULL && newest != base) {
        /* label_unique holds the first free one; step back to the newest existing */
        char *hash = strrchr(a->buf, '#');
        int k = hash ? atoi(hash + 1) - 1 : 2;
        snprintf(a->buf, a->buf_size, "%s #%d", base, k);
        *label = a->buf;
    }
    return 0;
}

/* --resume of an existing campaign: the executable must be the one it ran, unless --force. */
int fm_cli_campaign_check_resume(const fm_cli_campaign_ask *a, fm_store *store, const char *label)
{
    int64_t id;
    fm_campaign_info have;
    if (fm_store_find_campaign(store, label, &id, &have) != FM_STORE_OK)
        return 0; /* a new campaign */
    char why[160] = "";
    if (a->force || fm_fingerprint_same(have.fingerprint, a->fingerprint, why, sizeof why))
        return 0;
    return fm_cli_usage_error(
        "--resume: the executable of campaign '%s' changed since it ran (%s); "
        "start a new campaign without --resume, or add --force",
        label, why);
}

/* --error-exit CODES: comma-separated exit codes 1..255 (or ranges A-B) that mean a usage error. */
int fm_cli_parse_error_exit(void *value, const char *text, const char *name)
{
    fm_run_config *c = value;
    const char *p = text;
    bool any = false;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            break;
        p = end;
        if (*p == '-') {
            const char *q = p + 1;
            hi = strtol(q, &end, 10);
            if (end == q)
                break;
            p = end;
        }
        if (lo < 1 || hi > 255 || lo > hi)
            return fm_cli_usage_error("%s: '%s': exit codes are 1 to 255", name, text);
        for (long k = lo; k <= hi; k++)
            c->error_exit[k] = true;
        any = true;
        if (*p == ',' && p[1] != '\0')
            p++;
        else
            break;
    }
    if (!any || *p != '\0')
        return fm_cli_usage_error("%s: '%s' is not a list of exit codes such as 4 or 2,4-5", name,
                                  text);
    return 0;
}

int fm_cli_parse_shard(void *value, const char *text, const char *name)
{
    fm_run_config *c = value;
    fm_shard s;
    char why[512];
    (void)name;
    if (fm_shard_parse(text, NULL, NULL, &s, why, sizeof why) != FM_SHARD_OK)
        return fm_cli_usage_error("%s", why);
    /* Bazel fails a sharded test whose runner does not create this file ("I shard"). */
    const char *status = fm_shard_bazel_status_file(&s, NULL, NULL);
    if (status != NULL) {
        int fd = open(status, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
        if (fd < 0)
            return fm_cli_fail("--shard auto: cannot create TEST_SHARD_STATUS_FILE '%s': %s",
                               status, strerror(errno));
        close(fd);
    }
    c->shard_index = s.index;
    c->shard_count = s.count;
    return 0;
}
