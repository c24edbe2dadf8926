/*
 * fm_wl_table.c - the text table of every workload and its parameters.
 *
 * `fm-stress --list` and `flakemeter list` print the same table; the library only formats it
 * into the caller's buffer (it never prints).  Like snprintf, each function returns the length
 * the whole text needs, so a caller can size a buffer with a first call on (NULL, 0).
 *
 * Format, per workload (a blank line between workloads):
 *   NAME  summary
 *     ports UPSTREAM; counts UNIT[; declared data race ...]
 *     key=default  accepted values  help
 *     preset=NAME  values  help
 */
#include "fm_wl_internal.h"

#include <stdio.h>
#include <string.h>

/* Append to buf like snprintf, keeping track of the length needed. */
struct text {
    char *buf;
    size_t size, len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

static void put_race(struct text *t, const struct fm_wl_desc *wl)
{
    if (wl->race == FM_WL_RACE_ALWAYS)
        put(t, "; declared data race");
    else if (wl->race == FM_WL_RACE_CHOICE)
        put(t, "; declared data race when %s=%s", wl->race_key, wl->race_value);
}

static void put_desc(struct text *t, const struct fm_wl_desc *wl)
{
    struct fm_wl_args defaults;
    fm_wl_args_init(&defaults, wl);
    put(t, "%-16s %s\n", wl->name, wl->summary);
    put(t, "    ports %s; counts %s", wl->upstream, wl->unit);
    put_race(t, wl);
    put(t, "\n");
    for (size_t i = 0; i < wl->n_params; i++) {
        const struct fm_wl_param *p = &wl->params[i];
        char value[48], range[160], kv[80];
        snprintf(kv, sizeof kv, "%s=%s", p->key,
                 fm_wl_param_text(&defaults, p, value, sizeof value));
        put(t, "    %-20s %-36s %s\n", kv, fm_wl_param_range(p, range, sizeof range), p->help);
    }
    for (size_t i = 0; i < wl->n_presets; i++) {
        char kv[80];
        snprintf(kv, sizeof kv, "preset=%s", wl->presets[i].name);
        put(t, "    %-20s %-36s %s\n", kv, wl->presets[i].values, wl->presets[i].help);
    }
}

size_t fm_wl_format_desc(const struct fm_wl_desc *wl, char *buf, size_t size)
{
    struct text t = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    put_desc(&t, wl);
    return t.len;
}

size_t fm_wl_format_table(char *buf, size_t size)
{
    struct text t = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < fm_wl_count(); i++) {
        if (i)
            put(&t, "\n");
        put_desc(&t, fm_wl_at(i));
    }
    return t.len;
}

const char *fm_wl_format_result(const struct fm_wl_args *args, const struct fm_wl_result *res,
                                char *buf, size_t size)
{
    char params[1024];
    int n =
        snprintf(buf, size, "%s %s %s=%llu seed=%llu run=%llu attempt=%llu %s", args->wl->name,
                 res->passed ? "PASS" : "FAIL", args->wl->unit, (unsigned long long)res->work,
                 (unsigned long long)args->seed, (unsigned long long)args->run,
                 (unsigned long long)args->attempt, fm_wl_args_format(args, params, sizeof params));
    if (!res->passed && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " -- %s", res->reason);
    return buf;
}
