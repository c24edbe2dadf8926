/*
 * fm_store_export.c - fm_store_export: the runs of one campaign or of all, as JSON, CSV or JUnit
 * XML (layouts in docs/store.md, "Export").
 *
 * Invariants:
 *  - Memory stays flat: rows are streamed from one SQL cursor per campaign, in primary-key order
 *    (run_index, attempt), and written as they come; nothing holds all runs at once.  JSON runs
 *    are printed row by row (jansson builds and escapes the campaign objects), JUnit goes through
 *    libxml2's xmlTextWriter, CSV quotes per RFC 4180.
 *  - One read transaction around the whole export: the counts written first (JUnit's testsuite
 *    attributes) and the elements written after come from the same snapshot, even while a
 *    runner is adding rows.
 *  - Text from the store (labels, commands) is made valid UTF-8 without control characters
 *    before it reaches JSON, CSV or XML (each offending byte becomes '?'), so the output
 *    always parses.
 * JUnit mapping after Maven surefire's rerun report and cargo-nextest: one <testcase> per chain;
 * a chain that passed after failed attempts carries a <flakyFailure> (<flakyError>) per failed
 * attempt; a chain that never passed carries <failure> (<error> if its first attempt could not
 * start) and a <rerunFailure> (<rerunError>) per later attempt
 * (https://maven.apache.org/surefire/maven-surefire-plugin/examples/rerun-failing-tests.html).
 */
#include "fm_store_internal.h"
#include "fm_utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One stored attempt, with the NULLs of exit_code and signal kept. */

/* ---- Text hygiene --------------------------------------------------------------------------- */

/* A copy of s that is valid UTF-8 with no control characters but tab and newlines, and only
 * characters XML allows (U+FFFE and U+FFFF become U+FFFD). */
char *fm_store__clean_text(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = fm_utf8_length(p + i);
        bool control = len == 1 && (p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\t' && p[i] != '\n' &&
                       p[i] != '\r';
        if (len == 0 || control) {
            out[i++] = '?';
            continue;
        }
        /* U+FFFE and U+FFFF are not XML characters (XML 1.0, "Char"): U+FFFD, as long. */
        if (len == 3 && p[i] == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe)
            memcpy(out + i, "\xef\xbf\xbd", 3);
        else
            memcpy(out + i, p + i, len);
        i += len;
    }
    out[n] = '\0';
    return out;
}

/* ---- Reading -------------------------------------------------------------------------------- */

/* ---- JSON ----------------------------------------------------------------------------------- */

static bool valid_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = fm_utf8_length(p);
        if (len == 0)
            return false;
        p += len;
    }
    return true;
}

json_t *fm_store__json_text(const char *s)
{
    json_t *v = json_string(s);
    if (v == NULL && !valid_utf8(s)) { /* else jansson had no memory: NULL */
        char *clean = fm_store__clean_text(s);
        v = clean != NULL ? json_string(clean) : NULL;
        free(clean);
    }
    return v;
}

/*
 * json_loads that tells text that is not JSON (NULL) from no memory (NULL, *oom set).  jansson
 * does not always say so: its lexer ignores a failed growth of its string buffer and returns
 * the string with a character missing (found by tests/faults).  So its allocations are watched
 * for the parse (the same malloc and free, so objects made before or after are released alike).
 */
static _Thread_local bool json_alloc_failed;

static void *watched_malloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL)
        json_alloc_failed = true;
    return p;
}

char *fm_store__json_dumps(const json_t *v, size_t flags)
{
    json_malloc_t saved_malloc;
    json_free_t saved_free;
    json_get_alloc_funcs(&saved_malloc, &saved_free);
    json_set_alloc_funcs(watched_malloc, free);
    json_alloc_failed = false;
    char *text = json_dumps(v, flags);
    json_set_alloc_funcs(saved_malloc, saved_free);
    if (json_alloc_failed) { /* the text may have lost bytes (jansson 2.14's dump) */
        free(text);
        return NULL;
    }
    return text;
}

static json_t *load(const char *text, size_t flags, bool *oom)
{
    json_malloc_t saved_malloc;
    json_free_t saved_free;
    json_get_alloc_funcs(&saved_malloc, &saved_free);
    json_set_alloc_funcs(watched_malloc, free);
    json_alloc_failed = false;
    json_error_t err;
    json_t *v = json_loads(text, flags, &err);
    json_set_alloc_funcs(saved_malloc, saved_free);
    if (json_alloc_failed || (v == NULL && json_error_code(&err) == json_error_out_of_memory)) {
        *oom = true;
        json_decref(v);
        return NULL;
    }
    return v;
}

bool fm_store__json_put(json_t *o, const char *key, json_t *v, bool *oom)
{
    if (v != NULL && json_object_set_new(o, key, v) == 0)
        return true;
    *oom = true;
    return false;
}
#define put fm_store__json_put

/*
 * The campaign object without its runs; a command's JSON array is embedded as an array.  NULL
 * without memory: an object missing a key, or a stored value replaced by a default, would be
 * an export that looks whole and is not.
 */
static json_t *campaign_json(const fm_campaign_info *c)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool oom = false;
    json_t *command = NULL;
    if (strcmp(c->kind, "command") == 0) {
        command = load(c->command, JSON_DECODE_ANY, &oom);
        if (command != NULL && !json_is_array(command)) {
            json_decref(command);
            command = NULL;
        }
    }
    if (command == NULL && !oom)
        command = fm_store__json_text(c->command);
    put(o, "label", fm_store__json_text(c->label), &oom);
    put(o, "kind", fm_store__json_text(c->kind), &oom);
    put(o, "command", command, &oom);
    put(o, "params", fm_store__json_text(c->params), &oom);
    put(o, "host", fm_store__json_text(c->host), &oom);
    put(o, "arch", fm_store__json_text(c->arch), &oom);
    put(o, "version", fm_store__json_text(c->version), &oom);
    json_t *conditions = load(c->conditions, 0, &oom);
    if (conditions == NULL || !json_is_object(conditions)) {
        json_decref(conditions);
        conditions = oom ? NULL : json_object();
    }
    put(o, "conditions", conditions, &oom);
    put(o, "created_ns", json_integer(c->created_ns), &oom);
    json_t *fingerprint = load(c->fingerprint, 0, &oom);
    if (fingerprint == NULL || !json_is_object(fingerprint)) {
        json_decref(fingerprint);
        fingerprint = oom ? NULL : json_object();
    }
    put(o, "fingerprint", fingerprint, &oom);
    if (oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}

typedef struct {
    fm_store *store;
    FILE *f;
    bool first;
} json_ctx;

static fm_store_status write_status(fm_store *store, FILE *f)
{
    return ferror(f) ? fm_store__fail(store, FM_STORE_EIO, "cannot write the export") : FM_STORE_OK;
}

static fm_store_status json_row(void *ctx, const fm_store__row *row)
{
    json_ctx *j = ctx;
    const fm_run_record *r = &row->r;
    char exit_code[16] = "null", sig[16] = "null";
    if (row->has_exit)
        snprintf(exit_code, sizeof exit_code, "%d", r->exit_code);
    if (row->has_signal)
        snprintf(sig, sizeof sig, "%d", r->signal);
    /* Every field is a number or a fixed name: printed directly.  The seed is a decimal
     * string: an unsigned 64-bit value overflows jansson's integers and JavaScript's. */
    fprintf(j->f,
            "%s\n{\"run_index\":%" PRId64 ",\"attempt\":%" PRIu32 ",\"seed\":\"%" PRIu64
            "\",\"outcome\":\"%s\",\"exit_code\":%s,\"signal\":%s,\"core_dumped\":%s,"
            "\"start_ns\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"user_us\":%" PRId64
            ",\"sys_us\":%" PRId64 ",\"max_rss_kb\":%" PRId64 "}",
            j->first ? "" : ",", r->run_index, r->attempt, r->seed, fm_outcome_name(r->outcome),
            exit_code, sig, r->core_dumped ? "true" : "false", r->start_ns, r->wall_ns, r->user_us,
            r->sys_us, r->max_rss_kb);
    j->first = false;
    return write_status(j->store, j->f);
}

static fm_store_status export_json(fm_store *store, const int64_t *ids, size_t n, FILE *f)
{
    fprintf(f, "{\"schema\":%d,\"campaigns\":[", FM_STORE_SCHEMA);
    for (size_t i = 0; i < n; i++) {
        fm_campaign_info info;
        fm_store_status status = fm_store__campaign_by_id(store, ids[i], &info);
        if (status != FM_STORE_OK)
            return status;
        json_t *o = campaign_json(&info);
        char *text = o != NULL ? fm_store__json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (text == NULL)
            return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory building JSON");
        /* The object without its closing brace, then the runs array streamed in. */
        fprintf(f, "%s\n%.*s,\"runs\":[", i ? "," : "", (int)strlen(text) - 1, text);
        free(text);
        json_ctx ctx = {store, f, true};
        status = fm_store__for_each_run(store, ids[i], json_row, &ctx);
        if (status != FM_STORE_OK)
            return status;
        fputs("]}", f);
    }
    fputs("]}\n", f);
    return FM_STORE_OK;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

/*
 * RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.  Text that a
 * spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return) is
 * neutralised as OWASP's "CSV Injection" page advises: a single quote before it, the field
 * quoted (docs/store.md, "CSV").  Only text fields come here; numbers are printed directly.
 */
void fm_store__csv_field(FILE *f, const char *s)
{
    bool formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
    if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef struct {
    fm_store *store;
    FILE *f;
    const char *label;
} csv_ctx;

static fm_store_status csv_row(void *ctx, const fm_store__row *row)
{
    csv_ctx *c = ctx;
    const fm_run_record *r = &row->r;
    fm_store__csv_field(c->f, c->label);
    fprintf(c->f, ",%" PRId64 ",%" PRIu32 ",%" PRIu64 ",%s,", r->run_index, r->attempt, r->seed,
            fm_outcome_name(r->outcome));
    if (row->has_exit)
        fprintf(c->f, "%d", r->exit_code);
    fputc(',', c->f);
    if (row->has_signal)
        fprintf(c->f, "%d", r->signal);
    fprintf(c->f, ",%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
            r->core_dumped ? 1 : 0, r->start_ns, r->wall_ns, r->user_us, r->sys_us, r->max_rss_kb);
    return write_status(c->store, c->f);
}

static fm_store_status export_csv(fm_store *store, const int64_t *ids, size_t n, FILE *f)
{
    fputs("label,run_index,attempt,seed,outcome,exit_code,signal,core_dumped,start_ns,wall_ns,"
          "user_us,sys_us,max_rss_kb\n",
          f);
    for (size_t i = 0; i < n; i++) {
        fm_campaign_info info;
        fm_store_status status = fm_store__campaign_by_id(store, ids[i], &info);
        if (status != FM_STORE_OK)
            return status;
        char *label = fm_store__clean_text(info.label);
        if (label == NULL)
            return fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
        csv_ctx ctx = {store, f, label};
        status = fm_store__for_each_run(store, ids[i], csv_row, &ctx);
        free(label);
        if (status != FM_STORE_OK)
            return status;
    }
    return FM_STORE_OK;
}

/* ---- JUnit: chains -------------------------------------------------------------------------- */

/* CHAIN_SKIPPED: the chain's last attempt was interrupted (the runner stopped): it did not
 * finish, and is reported as <skipped> (not a failure). */
typedef enum { CHAIN_PASS, CHAIN_FLAKY, CHAIN_FAILED, CHAIN_ERROR, CHAIN_SKIPPED } chain_kind;

/* The attempts of one chain, gathered as rows stream by (run_index changes end a chain). */
typedef struct {
    fm_store__row *rows;
    size_t n, cap;
} chain_buf;

static chain_kind classify(const fm_store__row *rows, size_t n)
{
    if (rows[n - 1].r.outcome == FM_OUTCOME_INTERRUPTED)
        return CHAIN_SKIPPED;
    if (rows[n - 1].r.outcome == FM_OUTCOME_PASS) {
        for (size_t i = 0; i + 1 < n; i++)
            if (rows[i].r.outcome != FM_OUTCOME_PASS)
                return CHAIN_FLAKY;
        return CHAIN_PASS;
    }
    return rows[0].r.outcome == FM_OUTCOME_ERROR ? CHAIN_ERROR : CHAIN_FAILED;
}

typedef struct {
    int64_t tests, failures, errors, skipped, wall_ns;
} junit_counts;

typedef struct junit_ctx junit_ctx;
typedef fm_store_status (*chain_fn)(junit_ctx *j, const fm_store__row *rows, size_t n);

struct junit_ctx {
    fm_store *store;
    xmlTextWriterPtr w;
    const fm_campaign_info *info;
    chain_buf chain;
    chain_fn on_chain;
    junit_counts *counts;
};

static fm_store_status end_chain(junit_ctx *j)
{
    if (j->chain.n == 0)
        return FM_STORE_OK;
    fm_store_status status = j->on_chain(j, j->chain.rows, j->chain.n);
    j->chain.n = 0;
    return status;
}

static fm_store_status chain_row(void *ctx, const fm_store__row *row)
{
    junit_ctx *j = ctx;
    chain_buf *c = &j->chain;
    if (c->n > 0 && c->rows[0].r.run_index != row->r.run_index) {
        fm_store_status status = end_chain(j);
        if (status != FM_STORE_OK)
            return status;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        fm_store__row *grown = realloc(c->rows, cap * sizeof *grown);
        if (grown == NULL)
            return fm_store__fail(j->store, FM_STORE_ENOMEM, "out of memory");
        c->rows = grown;
        c->cap = cap;
    }
    c->rows[c->n++] = *row;
    return FM_STORE_OK;
}

static fm_store_status for_each_chain(junit_ctx *j, int64_t campaign)
{
    fm_store_status status = fm_store__for_each_run(j->store, campaign, chain_row, j);
    if (status == FM_STORE_OK)
        status = end_chain(j);
    j->chain.n = 0;
    return status;
}

/* a + b, held at the int64 range: a store may hold any wall_ns (a crafted INT64_MAX). */
static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t sum;
    if (!__builtin_add_overflow(a, b, &sum))
        return sum;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

static int64_t chain_wall(const fm_store__row *rows, size_t n)
{
    int64_t ns = 0;
    for (size_t i = 0; i < n; i++)
        ns = add_sat(ns, rows[i].r.wall_ns);
    return ns;
}

static fm_store_status count_chain(junit_ctx *j, const fm_store__row *rows, size_t n)
{
    chain_kind kind = classify(rows, n);
    j->counts->tests++;
    j->counts->failures += kind == CHAIN_FAILED;
    j->counts->errors += kind == CHAIN_ERROR;
    j->counts->skipped += kind == CHAIN_SKIPPED;
    j->counts->wall_ns = add_sat(j->counts->wall_ns, chain_wall(rows, n));
    return FM_STORE_OK;
}

/* ---- JUnit: writing ------------------------------------------------------------------------- */

static bool attr(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool attr(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST buf) >= 0;
}

/* An attribute from stored text (cleaned; not limited in length). */
static bool attr_text(xmlTextWriterPtr w, const char *name, const char *text)
{
    char *clean = fm_store__clean_text(text);
    bool ok = clean != NULL && xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST clean) >= 0;
    free(clean);
    return ok;
}

static void describe_attempt(const fm_run_record *r, char *buf, size_t size)
{
    const char *abbrev = r->signal > 0 ? sigabbrev_np(r->signal) : NULL;
    char sig[32] = "";
    if (abbrev != NULL)
        snprintf(sig, sizeof sig, " (SIG%s)", abbrev);
    switch (r->outcome) {
    case FM_OUTCOME_FAIL:
        snprintf(buf, size, "attempt %u: exit code %d", r->attempt, r->exit_code);
        break;
    case FM_OUTCOME_CRASH:
        snprintf(buf, size, "attempt %u: crashed: killed by signal %d%s%s", r->attempt, r->signal,
                 sig, r->core_dumped ? ", core dumped" : "");
        break;
    case FM_OUTCOME_TIMEOUT:
        snprintf(buf, size, "attempt %u: timed out after %.3f s%s%s", r->attempt,
                 (double)r->wall_ns / 1e9, r->signal > 0 ? ", ended by signal" : "",
                 r->signal > 0 ? sig : "");
        break;
    case FM_OUTCOME_ERROR:
        if (r->exit_code >= 0)
            snprintf(buf, size, "attempt %u: usage error: exit code %d", r->attempt, r->exit_code);
        else
            snprintf(buf, size, "attempt %u: could not start", r->attempt);
        break;
    case FM_OUTCOME_INTERRUPTED:
        snprintf(buf, size, "attempt %u: interrupted: killed when flakemeter stopped", r->attempt);
        break;
    default:
        snprintf(buf, size, "attempt %u: passed", r->attempt);
        break;
    }
}

/* One failure-like element for a failed attempt. */
static bool write_attempt(xmlTextWriterPtr w, const char *element, const fm_run_record *r)
{
    char message[160];
    describe_attempt(r, message, sizeof message);
    return xmlTextWriterStartElement(w, BAD_CAST element) >= 0 &&
           attr(w, "message", "%s", message) &&
           attr(w, "type", "%s", fm_outcome_name(r->outcome)) &&
           attr(w, "time", "%.6f", (double)r->wall_ns / 1e9) && xmlTextWriterEndElement(w) >= 0;
}

/* The element name for attempt i of a chain of the given kind. */
static const char *attempt_element(chain_kind kind, size_t i, fm_outcome outcome)
{
    bool error = outcome == FM_OUTCOME_ERROR;
    if (kind == CHAIN_FLAKY)
        return error ? "flakyError" : "flakyFailure";
    if (i == 0)
        return error ? "error" : "failure";
    return error ? "rerunError" : "rerunFailure";
}

static fm_store_status write_chain(junit_ctx *j, const fm_store__row *rows, size_t n)
{
    xmlTextWriterPtr w = j->w;
    chain_kind kind = classify(rows, n);
    bool ok = xmlTextWriterStartElement(w, BAD_CAST "testcase") >= 0 &&
              attr(w, "name", "run %" PRId64, rows[0].r.run_index) &&
              attr_text(w, "classname", j->info->label) &&
              attr(w, "time", "%.6f", (double)chain_wall(rows, n) / 1e9);
    if (ok && kind == CHAIN_SKIPPED) {
        char message[160];
        describe_attempt(&rows[n - 1].r, message, sizeof message);
        ok = xmlTextWriterStartElement(w, BAD_CAST "skipped") >= 0 &&
             attr(w, "message", "%s", message) && xmlTextWriterEndElement(w) >= 0;
    }
    for (size_t i = 0; ok && kind != CHAIN_PASS && kind != CHAIN_SKIPPED && i < n; i++)
        if (rows[i].r.outcome != FM_OUTCOME_PASS)
            ok = write_attempt(w, attempt_element(kind, i, rows[i].r.outcome), &rows[i].r);
    ok = ok && xmlTextWriterEndElement(w) >= 0;
    return ok ? FM_STORE_OK : fm_store__fail(j->store, FM_STORE_EIO, "cannot write XML");
}

static bool property(xmlTextWriterPtr w, const char *name, const char *value)
{
    return xmlTextWriterStartElement(w, BAD_CAST "property") >= 0 && attr(w, "name", "%s", name) &&
           attr_text(w, "value", value) && xmlTextWriterEndElement(w) >= 0;
}

static bool write_suite_head(xmlTextWriterPtr w, const fm_campaign_info *c, const junit_counts *k)
{
    char stamp[32] = "";
    time_t t = (time_t)(c->created_ns / 1000000000LL);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    return xmlTextWriterStartElement(w, BAD_CAST "testsuite") >= 0 &&
           attr_text(w, "name", c->label) && attr(w, "tests", "%" PRId64, k->tests) &&
           attr(w, "failures", "%" PRId64, k->failures) &&
           attr(w, "errors", "%" PRId64, k->errors) && attr(w, "skipped", "%" PRId64, k->skipped) &&
           attr(w, "time", "%.6f", (double)k->wall_ns / 1e9) && attr(w, "timestamp", "%s", stamp) &&
           attr_text(w, "hostname", c->host) &&
           xmlTextWriterStartElement(w, BAD_CAST "properties") >= 0 &&
           property(w, "kind", c->kind) && property(w, "command", c->command) &&
           property(w, "params", c->params) && property(w, "arch", c->arch) &&
           property(w, "conditions", c->conditions) &&
           property(w, "flakemeter_version", c->version) && xmlTextWriterEndElement(w) >= 0;
}

static fm_store_status write_suites(junit_ctx *j, const int64_t *ids, size_t n,
                                    junit_counts *counts)
{
    junit_counts total = {0};
    for (size_t i = 0; i < n; i++) {
        total.tests += counts[i].tests;
        total.failures += counts[i].failures;
        total.errors += counts[i].errors;
        total.wall_ns = add_sat(total.wall_ns, counts[i].wall_ns);
    }
    xmlTextWriterPtr w = j->w;
    bool ok = xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) >= 0 &&
              xmlTextWriterStartElement(w, BAD_CAST "testsuites") >= 0 &&
              attr(w, "name", "flakemeter") && attr(w, "tests", "%" PRId64, total.tests) &&
              attr(w, "failures", "%" PRId64, total.failures) &&
              attr(w, "errors", "%" PRId64, total.errors) &&
              attr(w, "time", "%.6f", (double)total.wall_ns / 1e9);
    for (size_t i = 0; ok && i < n; i++) {
        fm_campaign_info info;
        fm_store_status status = fm_store__campaign_by_id(j->store, ids[i], &info);
        if (status != FM_STORE_OK)
            return status;
        j->info = &info; /* valid in this iteration only: cleared before info goes */
        j->on_chain = write_chain;
        ok = write_suite_head(w, &info, &counts[i]);
        status = ok ? for_each_chain(j, ids[i]) : FM_STORE_OK;
        j->info = NULL;
        if (status != FM_STORE_OK)
            return status;
        ok = ok && xmlTextWriterEndElement(w) >= 0;
    }
    ok = ok && xmlTextWriterEndDocument(w) >= 0;
    return ok ? FM_STORE_OK : fm_store__fail(j->store, FM_STORE_EIO, "cannot write XML");
}

/*
 * Any message of libxml2 while the export writes fails the export: its writer does not always
 * return the failure it reports (xmlTextWriterStartElement ignores a failed xmlListPushFront,
 * "Cannot initialize memory for new link", and goes on to write malformed XML; found by
 * tests/faults).
 */
static _Thread_local bool xml_complained;

static void quiet_xml_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
    xml_complained = true;
}

static void quiet_generic_error(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
    xml_complained = true;
}

static fm_store_status export_junit(fm_store *store, const int64_t *ids, size_t n, FILE *f)
{
    fm_store_status status = FM_STORE_OK;
    junit_ctx j = {.store = store};
    junit_counts *counts = calloc(n ? n : 1, sizeof *counts);
    xmlOutputBufferPtr buf = NULL;
    if (counts == NULL) {
        status = fm_store__fail(store, FM_STORE_ENOMEM, "out of memory");
        goto out;
    }
    /* First pass: the counts the testsuite elements carry as attributes. */
    j.on_chain = count_chain;
    for (size_t i = 0; i < n && status == FM_STORE_OK; i++) {
        j.counts = &counts[i];
        status = for_each_chain(&j, ids[i]);
    }
    if (status != FM_STORE_OK)
        goto out;
    /* libxml2 prints its own I/O errors ("I/O error : flush error") and failed allocations
     * ("Cannot initialize memory for new link") through its global handlers; a write error is
     * ours to report, in one line (FM_STORE_EIO or FM_STORE_ENOMEM). */
    xml_complained = false;
    xmlSetStructuredErrorFunc(NULL, quiet_xml_error);
    xmlSetGenericErrorFunc(NULL, quiet_generic_error);
    buf = xmlOutputBufferCreateFile(f, NULL);
    j.w = buf != NULL ? xmlNewTextWriter(buf) : NULL;
    if (j.w == NULL) {
        status = fm_store__fail(store, FM_STORE_ENOMEM, "cannot start an XML writer");
        goto out;
    }
    buf = NULL; /* the writer owns it now */
    xmlTextWriterSetIndent(j.w, 1);
    xmlTextWriterSetIndentString(j.w, BAD_CAST "  ");
    status = write_suites(&j, ids, n, counts);
out:
    if (j.w != NULL)
        xmlFreeTextWriter(j.w); /* flushes; the FILE stays open */
    if (status == FM_STORE_OK && xml_complained)
        status = fm_store__fail(store, FM_STORE_ENOMEM, "cannot write XML: libxml2 failed");
    if (buf != NULL)
        xmlOutputBufferClose(buf);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlSetGenericErrorFunc(NULL, NULL);
    free(j.chain.rows);
    free(counts);
    return status;
}

/* ---- Entry point ---------------------------------------------------------------------------- */

fm_store_status fm_store_export(fm_store *store, const char *label, fm_export_format format,
                                FILE *f)
{
    if (store == NULL || f == NULL || (unsigned)format > FM_EXPORT_JUNIT)
        return store != NULL ? fm_store__fail(store, FM_STORE_EINVAL, "bad export arguments")
                             : FM_STORE_EINVAL;
    int64_t *ids = NULL;
    size_t n = 0;
    fm_store_status status = fm_store_flush(store);
    if (status != FM_STORE_OK)
        return status;
    /* One snapshot for the whole export (deferred: takes no write lock). */
    status = fm_store__read_begin(store);
    if (status != FM_STORE_OK)
        return status;
    status = fm_store__campaign_ids(store, label, &ids, &n);
    if (status != FM_STORE_OK)
        goto out;
    if (format == FM_EXPORT_JSON)
        status = export_json(store, ids, n, f);
    else if (format == FM_EXPORT_CSV)
        status = export_csv(store, ids, n, f);
    else
        status = export_junit(store, ids, n, f);
    if (status == FM_STORE_OK && (fflush(f) != 0 || ferror(f)))
        status = fm_store__fail(store, FM_STORE_EIO, "cannot write the export");
out:
    fm_store__read_end(store);
    free(ids);
    return status;
}
