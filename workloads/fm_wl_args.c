/*
 * fm_wl_args.c - named parameters of a workload: defaults, parsing "key=value", presets, text.
 *
 * Invariant: a struct fm_wl_args always holds a valid value for every parameter of its
 * workload (defaults first, then only values that passed their range check), so a workload's
 * run function never validates again.  A setter that fails leaves the args unchanged.
 * Presets (`preset=coverage`) set a group of values but never override a key set by name,
 * whatever the order of the arguments.
 */
#include "fm_wl_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fm_wl_args_init(struct fm_wl_args *args, const struct fm_wl_desc *wl)
{
    memset(args, 0, sizeof *args);
    args->wl = wl;
    for (size_t i = 0; i < wl->n_params; i++)
        args->value[i] = wl->params[i].def;
    args->attempt = 1;
}

const struct fm_wl_param *fm_wl_find_param(const struct fm_wl_desc *wl, const char *key)
{
    for (size_t i = 0; i < wl->n_params; i++)
        if (strcmp(wl->params[i].key, key) == 0)
            return &wl->params[i];
    return NULL;
}

static size_t param_index(const struct fm_wl_desc *wl, const struct fm_wl_param *p)
{
    return (size_t)(p - wl->params);
}

double fm_wl_args_get(const struct fm_wl_args *args, const char *key)
{
    const struct fm_wl_param *p = fm_wl_find_param(args->wl, key);
    return p ? args->value[param_index(args->wl, p)] : NAN;
}

/* strtod/strtoll over the whole text; integers are plain decimal. */
static int parse_number(const struct fm_wl_param *p, const char *text, double *out)
{
    char *end;
    errno = 0;
    if (p->kind == FM_WL_INT) {
        long long v = strtoll(text, &end, 10);
        if (end == text || *end != '\0')
            return FM_WL_ENUMBER;
        if (errno == ERANGE)
            return FM_WL_ERANGE;
        *out = (double)v;
    } else {
        double v = strtod(text, &end);
        if (end == text || *end != '\0' || isnan(v))
            return FM_WL_ENUMBER;
        *out = v;
    }
    return (*out < p->lo || *out > p->hi) ? FM_WL_ERANGE : FM_WL_OK;
}

static int parse_choice(const struct fm_wl_param *p, const char *text, double *out)
{
    for (size_t i = 0; p->choices[i]; i++) {
        if (strcmp(p->choices[i], text) == 0) {
            *out = (double)i;
            return FM_WL_OK;
        }
    }
    return FM_WL_ECHOICE;
}

static int parse_value(const struct fm_wl_param *p, const char *text, double *out)
{
    return p->kind == FM_WL_CHOICE ? parse_choice(p, text, out) : parse_number(p, text, out);
}

/* Split "key=value" into key (copied to buf) and value. */
static int split(const char *assignment, char *key, size_t size, const char **value)
{
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || eq == assignment || (size_t)(eq - assignment) >= size)
        return FM_WL_ESYNTAX;
    memcpy(key, assignment, (size_t)(eq - assignment));
    key[eq - assignment] = '\0';
    *value = eq + 1;
    return FM_WL_OK;
}

static const struct fm_wl_preset *find_preset(const struct fm_wl_desc *wl, const char *name)
{
    for (size_t i = 0; i < wl->n_presets; i++)
        if (strcmp(wl->presets[i].name, name) == 0)
            return &wl->presets[i];
    return NULL;
}

/* Apply a preset's values to every parameter not set by name. */
static int apply_preset(struct fm_wl_args *args, const struct fm_wl_preset *preset)
{
    struct fm_wl_args next = *args;
    char words[256];
    snprintf(words, sizeof words, "%s", preset->values);
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char key[64];
        const char *text;
        double v;
        if (split(w, key, sizeof key, &text) != FM_WL_OK)
            return FM_WL_ESYNTAX;
        const struct fm_wl_param *p = fm_wl_find_param(args->wl, key);
        if (p == NULL || parse_value(p, text, &v) != FM_WL_OK)
            return FM_WL_ESYNTAX; /* a broken table entry; the registry test catches it */
        size_t i = param_index(args->wl, p);
        if (!(args->explicit_mask & (1u << i)))
            next.value[i] = v;
    }
    *args = next;
    return FM_WL_OK;
}

int fm_wl_args_set(struct fm_wl_args *args, const char *assignment, const struct fm_wl_param **bad)
{
    char key[64];
    const char *text;
    double v;
    *bad = NULL;
    if (split(assignment, key, sizeof key, &text) != FM_WL_OK)
        return FM_WL_ESYNTAX;
    if (strcmp(key, "preset") == 0) {
        const struct fm_wl_preset *preset = find_preset(args->wl, text);
        return preset ? apply_preset(args, preset) : FM_WL_ECHOICE;
    }
    const struct fm_wl_param *p = fm_wl_find_param(args->wl, key);
    if (p == NULL)
        return FM_WL_EKEY;
    *bad = p;
    int status = parse_value(p, text, &v);
    if (status != FM_WL_OK)
        return status;
    size_t i = param_index(args->wl, p);
    args->value[i] = v;
    args->explicit_mask |= 1u << i;
    *bad = NULL;
    return FM_WL_OK;
}

const char *fm_wl_param_range(const struct fm_wl_param *p, char *buf, size_t size)
{
    if (p->kind == FM_WL_INT) {
        snprintf(buf, size, "an integer in [%.0f, %.0f]", p->lo, p->hi);
    } else if (p->kind == FM_WL_REAL) {
        snprintf(buf, size, "a number in [%g, %g]", p->lo, p->hi);
    } else {
        size_t used = (size_t)snprintf(buf, size, "one of:");
        for (size_t i = 0; p->choices[i] && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s %s", i ? "," : "", p->choices[i]);
    }
    return buf;
}

const char *fm_wl_param_text(const struct fm_wl_args *args, const struct fm_wl_param *p, char *buf,
                             size_t size)
{
    double v = args->value[param_index(args->wl, p)];
    if (p->kind == FM_WL_CHOICE)
        snprintf(buf, size, "%s", p->choices[(size_t)v]);
    else if (p->kind == FM_WL_INT)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.17g", v);
    /* Prefer the short form when it reads back to the same double. */
    if (p->kind == FM_WL_REAL) {
        char shorter[32];
        snprintf(shorter, sizeof shorter, "%g", v);
        if (strtod(shorter, NULL) == v)
            snprintf(buf, size, "%s", shorter);
    }
    return buf;
}

const char *fm_wl_args_format(const struct fm_wl_args *args, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < args->wl->n_params && used < size; i++) {
        char text[48];
        const struct fm_wl_param *p = &args->wl->params[i];
        used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", i ? " " : "", p->key,
                                 fm_wl_param_text(args, p, text, sizeof text));
    }
    return buf;
}

bool fm_wl_declared_race(const struct fm_wl_args *args)
{
    const struct fm_wl_desc *wl = args->wl;
    if (wl->race != FM_WL_RACE_CHOICE)
        return wl->race == FM_WL_RACE_ALWAYS;
    const struct fm_wl_param *p = fm_wl_find_param(wl, wl->race_key);
    char text[48];
    return p && strcmp(fm_wl_param_text(args, p, text, sizeof text), wl->race_value) == 0;
}

/* "threads, loops, data" - the keys of wl, for an unknown-key message. */
static void list_keys(const struct fm_wl_desc *wl, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < wl->n_params && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", wl->params[i].key);
    for (size_t i = 0; i < wl->n_presets && used < size && i == 0; i++)
        used += (size_t)snprintf(buf + used, size - used, "%spreset", used ? ", " : "");
}

static void list_presets(const struct fm_wl_desc *wl, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "%s", wl->n_presets ? "one of:" : "(none)");
    for (size_t i = 0; i < wl->n_presets && used < size; i++)
        used +=
            (size_t)snprintf(buf + used, size - used, "%s %s", i ? "," : "", wl->presets[i].name);
}

/* The user's text quoted in an explanation keeps it one line: control characters as \n, \t,
 * \xNN (found by fuzz/fuzz_wl_args: fm-stress printed a newline of its argument raw). */
static void escape_controls(char *buf, size_t size)
{
    char out[1024];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)buf; *p && o + 5 < sizeof out; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            out[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            out[o++] = '\\', out[o++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        else
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", *p);
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

const char *fm_wl_args_explain(const struct fm_wl_desc *wl, const char *assignment, int status,
                               const struct fm_wl_param *bad, char *buf, size_t size)
{
    char key[64] = "", range[256];
    const char *text = "";
    split(assignment, key, sizeof key, &text);
    if (status == FM_WL_ESYNTAX) {
        snprintf(buf, size, "'%s' is not key=value (see 'fm-stress --list')", assignment);
    } else if (status == FM_WL_EKEY) {
        list_keys(wl, range, sizeof range);
        snprintf(buf, size, "unknown parameter '%s' for %s; expected one of: %s", key, wl->name,
                 range);
    } else if (bad == NULL) { /* preset */
        list_presets(wl, range, sizeof range);
        snprintf(buf, size, "preset: '%s' is not a preset of %s; expected %s", text, wl->name,
                 range);
    } else if (status == FM_WL_ENUMBER) {
        snprintf(buf, size, "%s: '%s' is not %s; expected %s", key, text,
                 bad->kind == FM_WL_INT ? "a whole number" : "a number",
                 fm_wl_param_range(bad, range, sizeof range));
    } else if (status == FM_WL_ERANGE) {
        snprintf(buf, size, "%s: %s is out of range; expected %s", key, text,
                 fm_wl_param_range(bad, range, sizeof range));
    } else {
        snprintf(buf, size, "%s: '%s' is not accepted; expected %s", key, text,
                 fm_wl_param_range(bad, range, sizeof range));
    }
    if (size > 0)
        escape_controls(buf, size);
    return buf;
}
