/*
 * fm_hist_stress.c - stress chains as one CI run of the history (fm_hist_stress.h).
 *
 * The document lives in memory (xmlTextWriter on an xmlBuffer), then in an anonymous file for
 * fm_ingest_fd; nothing is written to disk.  Every string goes through libxml2's writer, which
 * escapes it.
 */
#include "fm_hist_stress.h"

#include <libxml/xmlwriter.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *mark_message(const fm_run_record *r, char *buf, size_t size)
{
    switch (r->outcome) {
    case FM_OUTCOME_TIMEOUT:
        return "timed out";
    case FM_OUTCOME_CRASH:
        snprintf(buf, size, "killed by signal %d", r->signal);
        return buf;
    case FM_OUTCOME_ERROR:
        return "could not start";
    default:
        snprintf(buf, size, "exit status %d", r->exit_code);
        return buf;
    }
}

/* One testcase: the chain's marks in order (interrupted attempts dropped). */
static bool write_case(xmlTextWriterPtr w, const fm_hist_chain *c)
{
    size_t last = c->n;
    while (last > 0 && c->attempts[last - 1].outcome == FM_OUTCOME_INTERRUPTED)
        last--;
    if (last == 0)
        return true; /* nothing but interrupted attempts: not a result */
    bool passed = c->attempts[last - 1].outcome == FM_OUTCOME_PASS;
    char t[64], msg[64];
    snprintf(t, sizeof t, "%.6f", (double)c->attempts[last - 1].wall_ns / 1e9);
    bool bad = xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
    bad = bad || xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST c->test) < 0;
    bad = bad || xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST t) < 0;
    for (size_t i = 0; i < last && !bad; i++) {
        const fm_run_record *r = &c->attempts[i];
        if (r->outcome == FM_OUTCOME_PASS || r->outcome == FM_OUTCOME_INTERRUPTED)
            continue;
        const char *el = passed                                     ? "flakyFailure"
                         : i == 0 && r->outcome == FM_OUTCOME_ERROR ? "error"
                         : i == 0                                   ? "failure"
                                                                    : "rerunFailure";
        bad = xmlTextWriterStartElement(w, BAD_CAST el) < 0 ||
              xmlTextWriterWriteAttribute(w, BAD_CAST "message",
                                          BAD_CAST mark_message(r, msg, sizeof msg)) < 0 ||
              xmlTextWriterEndElement(w) < 0;
    }
    return !bad && xmlTextWriterEndElement(w) >= 0;
}

fm_hist_status fm_hist_add_chains(fm_store *store, const char *suite, const char *run_key,
                                  const fm_hist_chain *chains, size_t n, fm_ingest_result *res)
{
    if (store == NULL || suite == NULL || run_key == NULL || res == NULL)
        return FM_HIST_EINVAL;
    fm_hist_status st = FM_HIST_OK;
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    int fd = -1;
    if (w == NULL) {
        st = FM_HIST_ENOMEM;
        goto out;
    }
    /* The run key in a property makes every CI run's bytes unique, so the ingest's duplicate
     * check (by SHA-256) can never drop a round whose results happen to be identical. */
    bool ok =
        xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) >= 0 &&
        xmlTextWriterStartElement(w, BAD_CAST "testsuites") >= 0 &&
        xmlTextWriterStartElement(w, BAD_CAST "testsuite") >= 0 &&
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST suite) >= 0 &&
        xmlTextWriterStartElement(w, BAD_CAST "properties") >= 0 &&
        xmlTextWriterStartElement(w, BAD_CAST "property") >= 0 &&
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "flakemeter.stress.run") >= 0 &&
        xmlTextWriterWriteAttribute(w, BAD_CAST "value", BAD_CAST run_key) >= 0 &&
        xmlTextWriterEndElement(w) >= 0 && xmlTextWriterEndElement(w) >= 0;
    for (size_t i = 0; i < n && ok; i++)
        ok = write_case(w, &chains[i]);
    if (!ok || xmlTextWriterEndDocument(w) < 0) {
        st = FM_HIST_ENOMEM;
        goto out;
    }
    xmlFreeTextWriter(w);
    w = NULL;
    fd = memfd_create("flakemeter-stress", MFD_CLOEXEC);
    size_t len = (size_t)xmlBufferLength(buf);
    const char *p = (const char *)xmlBufferContent(buf);
    if (fd < 0) {
        st = FM_HIST_EIO;
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t k = write(fd, p + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            st = FM_HIST_EIO;
            goto out;
        }
        off += (size_t)k;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        st = FM_HIST_EIO;
        goto out;
    }
    fm_ingest_options opt = {.label = suite, .run = run_key, .now_ns = 0};
    int64_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (chains[i].n > 0 && (first == 0 || chains[i].attempts[0].start_ns < first))
            first = chains[i].attempts[0].start_ns;
    opt.now_ns = first;
    st = fm_ingest_fd(store, fd, run_key, &opt, res);
    fd = -1; /* closed by fm_ingest_fd */
out:
    if (w != NULL)
        xmlFreeTextWriter(w);
    if (buf != NULL)
        xmlBufferFree(buf);
    if (fd >= 0)
        close(fd);
    return st;
}

/* ---- the sink ------------------------------------------------------------------------------ */

typedef struct {
    char *test;
    fm_run_record *v; /* the batch's attempts, in (run_index, attempt) order */
    size_t n, cap;
    bool oom;
} batch_buf;

struct fm_hist_stress_sink {
    fm_store *store;
    char *suite;
    int64_t start_ns;
    int round;
    batch_buf *b;
    size_t nb, capb;
    int64_t ci_runs;
    fm_hist_status status;
};

fm_hist_stress_sink *fm_hist_stress_new(fm_store *store, const char *suite)
{
    fm_hist_stress_sink *s = calloc(1, sizeof *s);
    if (s == NULL || (s->suite = strdup(suite)) == NULL) {
        free(s);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    s->store = store;
    s->round = -1;
    return s;
}

static int collect(const fm_run_record *r, void *ctx)
{
    batch_buf *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        fm_run_record *v = realloc(b->v, cap * sizeof *v);
        if (v == NULL) {
            b->oom = true;
            return 1;
        }
        b->v = v, b->cap = cap;
    }
    b->v[b->n++] = *r;
    return 0;
}

static void drop_batches(fm_hist_stress_sink *s)
{
    for (size_t i = 0; i < s->nb; i++)
        free(s->b[i].test), free(s->b[i].v);
    s->nb = 0;
}

/* The chain number j of a batch: [*start, *end) of its attempts, or false past its last. */
static bool nth_chain(const batch_buf *b, size_t j, size_t *start, size_t *end)
{
    size_t i = 0, k = 0;
    while (i < b->n) {
        size_t e = i + 1;
        while (e < b->n && b->v[e].run_index == b->v[i].run_index)
            e++;
        if (k++ == j) {
            *start = i, *end = e;
            return true;
        }
        i = e;
    }
    return false;
}

fm_hist_status fm_hist_stress_flush(fm_hist_stress_sink *s)
{
    if (s->status != FM_HIST_OK || s->nb == 0)
        return s->status;
    fm_hist_chain *chains = calloc(s->nb, sizeof *chains);
    if (chains == NULL)
        return s->status = FM_HIST_ENOMEM;
    for (size_t j = 0; s->status == FM_HIST_OK; j++) {
        size_t n = 0, a, e;
        for (size_t i = 0; i < s->nb; i++)
            if (nth_chain(&s->b[i], j, &a, &e))
                chains[n++] = (fm_hist_chain){s->b[i].test, s->b[i].v + a, e - a};
        if (n == 0)
            break;
        char key[512];
        snprintf(key, sizeof key, "stress:%s:%lld:r%d.%zu", s->suite, (long long)s->start_ns,
                 s->round, j);
        fm_ingest_result res;
        fm_hist_status st = fm_hist_add_chains(s->store, s->suite, key, chains, n, &res);
        if (st == FM_HIST_OK && res.verdict == FM_INGEST_REJECTED)
            st = FM_HIST_EPARSE; /* our own document: cannot happen unless a bug */
        s->status = st;
        s->ci_runs += st == FM_HIST_OK;
    }
    free(chains);
    drop_batches(s);
    return s->status;
}

fm_hist_status fm_hist_stress_add(fm_hist_stress_sink *s, int round, const char *test,
                                  int64_t campaign, int64_t from, int64_t to)
{
    if (s->status != FM_HIST_OK)
        return s->status;
    if (round != s->round && fm_hist_stress_flush(s) != FM_HIST_OK)
        return s->status;
    s->round = round;
    if (s->nb == s->capb) {
        size_t cap = s->capb ? 2 * s->capb : 16;
        batch_buf *b = realloc(s->b, cap * sizeof *b);
        if (b == NULL)
            return s->status = FM_HIST_ENOMEM;
        s->b = b, s->capb = cap;
    }
    batch_buf *b = &s->b[s->nb];
    *b = (batch_buf){.test = strdup(test)};
    if (b->test == NULL)
        return s->status = FM_HIST_ENOMEM;
    s->nb++;
    fm_store_status st = fm_store_runs_from(s->store, campaign, from, collect, b);
    if (st != FM_STORE_OK || b->oom)
        return s->status = b->oom ? FM_HIST_ENOMEM : FM_HIST_ESTORE;
    while (b->n > 0 && b->v[b->n - 1].run_index >= to) /* rows past the batch: not ours */
        b->n--;
    return FM_HIST_OK;
}

int64_t fm_hist_stress_runs(const fm_hist_stress_sink *s)
{
    return s->ci_runs;
}

void fm_hist_stress_free(fm_hist_stress_sink *s)
{
    if (s == NULL)
        return;
    drop_batches(s);
    free(s->b);
    free(s->suite);
    free(s);
}
