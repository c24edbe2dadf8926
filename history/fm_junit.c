/*
 * fm_junit.c - streaming reader of JUnit XML reports (fm_junit.h).
 *
 * One pass of libxml2's xmlTextReader over a read callback that also feeds SHA-256 (OpenSSL
 * EVP), so the hash is of exactly the bytes parsed.  Parser options: XML_PARSE_NONET, no
 * XML_PARSE_NOENT (entities are not substituted), no DTD loading or validation, and no
 * XML_PARSE_HUGE (libxml2's limits on one text node and on entity amplification stay on).  A
 * DOCTYPE node is refused: a test report has no use for one, and refusing it closes the door on
 * entity tricks (libxml2 2.9 already stops "billion laughs" with "Detected an entity reference
 * loop", often before the DOCTYPE node is even returned).
 *
 * State: the reader is a cursor; we keep only the testcase being read (its marks: failure,
 * error, skipped, flaky and rerun elements in document order) and the first value of each
 * property that matters.  Nodes behind the cursor are freed by the reader, so memory does not
 * grow with the file.
 *
 * Mapping of a testcase to attempts (docs/store.md, "Ingest"):
 *  - failure -> FAIL, error -> ERROR; flakyFailure/flakyError (surefire, nextest) are failed
 *    attempts of a test that then passed; rerunFailure/rerunError are failed re-runs of a test
 *    that never passed.  Attempts follow document order; a final pass is added when the
 *    testcase has flaky marks but no failure, error or rerun mark.  Several failure/error
 *    elements in a row (pytest's call failure plus teardown error) are one attempt.
 *  - A mark whose message or type says "timeout", "timed out" or "time out", a Go
 *    "panic: test timed out" in its text, or a testcase status="timeout", is a TIMEOUT.
 *  - skipped, or status notrun/disabled/skipped without a failure: not run, counted only.
 */
#include "fm_junit.h"

#include <libxml/xmlreader.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Go's test binary on -timeout: "panic: test timed out after 10m0s". */
#define GO_TIMEOUT_PANIC "panic: test timed out"
/* How far into a mark's text the Go panic is looked for. */
#define TEXT_SCAN_BYTES 4096
/*
 * The most attributes one element may carry.  libxml2 2.9 checks each new attribute against all
 * before it (quadratic: 40,000 attributes on one element took 64 s), so the bytes are screened
 * before libxml2 sees them and an element with more is refused; a JUnit element has a handful.
 */
#define MAX_ATTRIBUTES 256

/* Where the screen is in the markup (see screen()). */
typedef enum {
    SC_TEXT,    /* character data */
    SC_LT,      /* just after '<' */
    SC_TAG,     /* inside a start tag, counting attributes */
    SC_DQ,      /* inside a "..." attribute value */
    SC_SQ,      /* inside a '...' attribute value */
    SC_BANG,    /* just after "<!" */
    SC_BANG2,   /* just after "<!-" */
    SC_COMMENT, /* inside <!-- ... --> */
    SC_CDATA,   /* inside <![ ... ]]> */
    SC_PI,      /* inside <? ... ?> or an end tag, or a declaration: up to '>' */
    SC_DECL,
} screen_state;

typedef enum {
    MARK_FAILURE,
    MARK_ERROR,
    MARK_FLAKY_FAILURE,
    MARK_FLAKY_ERROR,
    MARK_RERUN_FAILURE,
    MARK_RERUN_ERROR,
    MARK_SKIPPED,
} mark_kind;

typedef struct {
    mark_kind kind;
    bool timeout;
    double seconds;
} mark;

typedef struct {
    /* input */
    int fd;
    EVP_MD_CTX *md;
    uint64_t bytes;
    bool read_failed, eof;
    int read_errno;
    int open_elements; /* elements opened and not yet closed */
    /* the attribute screen */
    screen_state sc;
    int sc_attrs, sc_run; /* attributes of the open start tag; '-', ']' or '?' just seen */
    long sc_line, sc_tag_line;
    bool too_many_attrs;
    char root[64];
    /* first parser error */
    bool has_error;
    int err_code, err_line, err_col;
    char err_msg[200];
    /* the open testcase */
    bool in_case;
    int case_depth;
    char *case_name; /* built "classname::name" */
    char *case_run;  /* flakemeter's export: the run ("run N") this testcase is, else NULL */
    bool fm_export;  /* the open <testsuite> is a campaign exported by flakemeter */
    double case_seconds;
    bool case_status_skip, case_status_fail, case_status_timeout;
    mark *marks;
    size_t n_marks, cap_marks;
    int mark_depth; /* depth of an open mark element whose text is scanned, else -1 */
    fm_junit_attempt *attempts;
    size_t cap_attempts;
    /* an open <property> without a value attribute: its text is the value */
    char *prop_name;
    int prop_depth;
    char prop_text[FM_JUNIT_TEXT];
    bool seen_root;
    fm_junit_info *info;
    fm_junit_case_fn fn;
    void *ctx;
} parser;

/* ---- Input ------------------------------------------------------------------------------------
 */

/*
 * Follow the markup through one chunk: count the attributes of each start tag (one '=' outside
 * quotes each) and stop at the first tag with more than MAX_ATTRIBUTES.  Comments, CDATA,
 * processing instructions and declarations are skipped.  The screen only has to be right for
 * well-formed input: anything it misreads is malformed, and libxml2 rejects it anyway.
 */
static bool screen(parser *p, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\n')
            p->sc_line++;
        switch (p->sc) {
        case SC_TEXT:
            if (c == '<')
                p->sc = SC_LT;
            break;
        case SC_LT:
            p->sc = c == '!' ? SC_BANG : c == '?' || c == '/' ? SC_PI : SC_TAG;
            p->sc_attrs = 0;
            p->sc_run = 0;
            p->sc_tag_line = p->sc_line;
            if (p->sc == SC_TAG && c == '>')
                p->sc = SC_TEXT;
            break;
        case SC_TAG:
            if (c == '"')
                p->sc = SC_DQ;
            else if (c == '\'')
                p->sc = SC_SQ;
            else if (c == '>')
                p->sc = SC_TEXT;
            else if (c == '=' && ++p->sc_attrs > MAX_ATTRIBUTES) {
                p->too_many_attrs = true;
                return false;
            }
            break;
        case SC_DQ:
            if (c == '"')
                p->sc = SC_TAG;
            break;
        case SC_SQ:
            if (c == '\'')
                p->sc = SC_TAG;
            break;
        case SC_BANG:
            p->sc = c == '-' ? SC_BANG2 : c == '[' ? SC_CDATA : c == '>' ? SC_TEXT : SC_DECL;
            break;
        case SC_BANG2:
            p->sc = c == '-' ? SC_COMMENT : c == '>' ? SC_TEXT : SC_DECL;
            break;
        case SC_COMMENT:
        case SC_CDATA:
        case SC_PI: {
            char closer = p->sc == SC_COMMENT ? '-' : p->sc == SC_CDATA ? ']' : '?';
            int need = p->sc == SC_PI ? 0 : 2; /* "-->", "]]>"; '>' ends a PI or end tag */
            if (c == '>' && p->sc_run >= need)
                p->sc = SC_TEXT;
            p->sc_run = c == closer ? p->sc_run + 1 : 0;
            break;
        }
        case SC_DECL:
            if (c == '>')
                p->sc = SC_TEXT;
            break;
        }
    }
    return true;
}

static int read_cb(void *ctx, char *buf, int len)
{
    parser *p = ctx;
    ssize_t got;
    if (p->too_many_attrs)
        return -1;
    do
        got = read(p->fd, buf, (size_t)len);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        p->read_failed = true;
        p->read_errno = errno;
        return -1;
    }
    if (got > 0 && EVP_DigestUpdate(p->md, buf, (size_t)got) != 1) {
        p->read_failed = true;
        p->read_errno = EIO;
        return -1;
    }
    if (!screen(p, buf, (size_t)got))
        return -1; /* libxml2 never sees the tag */
    p->bytes += (uint64_t)got;
    p->eof |= got == 0;
    return (int)got;
}

/* libxml2's messages that bypass the reader (encoding and I/O errors go to its global handlers,
 * which print to stderr) come here while a parse runs: the first error becomes ours. */
static void silent_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static int close_cb(void *ctx)
{
    (void)ctx; /* the caller owns the descriptor */
    return 0;
}

/* After the document: hash whatever the parser did not need to read (trailing bytes). */
static bool drain(parser *p)
{
    char buf[65536];
    int got;
    while ((got = read_cb(p, buf, (int)sizeof buf)) > 0)
        ;
    return got == 0;
}

static void error_cb(void *ctx, xmlErrorPtr e)
{
    parser *p = ctx;
    if (p->has_error || e == NULL || e->level < XML_ERR_ERROR)
        return;
    p->has_error = true;
    p->err_code = e->code;
    p->err_line = e->line;
    p->err_col = e->int2;
    snprintf(p->err_msg, sizeof p->err_msg, "%s", e->message ? e->message : "malformed XML");
    /* One line: libxml2 puts details on a second ("Bytes: 0xE9 0x22 ..."). */
    size_t n = strlen(p->err_msg);
    while (n > 0 && isspace((unsigned char)p->err_msg[n - 1]))
        p->err_msg[--n] = '\0';
    for (char *c = p->err_msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
}

/* ---- Small helpers ------------------------------------------------------------------------------
 */

static char *attr(xmlTextReaderPtr r, const char *name)
{
    return (char *)xmlTextReaderGetAttribute(r, (const xmlChar *)name);
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool says_timeout(const char *s)
{
    return s != NULL &&
           (contains_ci(s, "timeout") || contains_ci(s, "timed out") || contains_ci(s, "time out"));
}

/* "1.25" -> 1.25; empty, negative or junk -> NaN (a bad duration is not a reason to reject). */
static double parse_seconds(const char *s)
{
    if (s == NULL)
        return NAN;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (end != s && isspace((unsigned char)*end))
        end++;
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x) || x < 0)
        return NAN;
    return x;
}

static void copy_first(char *dst, const char *src)
{
    if (dst[0] == '\0' && src != NULL && src[0] != '\0')
        snprintf(dst, FM_JUNIT_TEXT, "%s", src);
}

/* Property names compare without case, with '.' and '-' read as '_' (os.name = OS_NAME). */
static bool name_is(const char *name, const char *const *list)
{
    for (; *list; list++) {
        const char *a = name, *b = *list;
        while (*a && *b) {
            char ca = (char)tolower((unsigned char)*a);
            if (ca == '.' || ca == '-')
                ca = '_';
            if (ca != *b)
                break;
            a++, b++;
        }
        if (*a == '\0' && *b == '\0')
            return true;
    }
    return false;
}

static const char *const run_names[] = {"ci_run",         "ci_run_id",          "run_id",
                                        "build_id",       "build_number",       "github_run_id",
                                        "ci_pipeline_id", "buildkite_build_id", NULL};
static const char *const host_names[] = {"host", "hostname", "ci_host", "runner_name", NULL};
static const char *const platform_names[] = {"platform", "ci_platform", "runner_os", "os",
                                             "os_name",  "target",      NULL};
static const char *const revision_names[] = {"revision",     "commit",           "git_commit",
                                             "git_sha",      "github_sha",       "ci_commit_sha",
                                             "vcs_revision", "build_vcs_number", NULL};

static void note_property(parser *p, const char *name, const char *value)
{
    if (name == NULL || value == NULL)
        return;
    if (name_is(name, run_names))
        copy_first(p->info->run, value);
    else if (name_is(name, host_names))
        copy_first(p->info->host, value);
    else if (name_is(name, platform_names))
        copy_first(p->info->platform, value);
    else if (name_is(name, revision_names))
        copy_first(p->info->revision, value);
}

/* A timestamp that is not a date of fm_hist_parse_time's grammar is as good as none. */
static void note_time(parser *p, const char *stamp)
{
    int64_t ns;
    if (stamp != NULL && fm_hist_parse_time(stamp, &ns) == FM_HIST_OK &&
        (!p->info->has_time || ns < p->info->time_ns)) {
        p->info->has_time = true;
        p->info->time_ns = ns;
    }
}

/* ---- Testcases
 * ------------------------------------------------------------------------------------ */

/*
 * A problem found in a node: its line (libxml2 keeps no column for nodes, and the parser's own
 * position may be a chunk ahead of the reader), or the parser's line:column when it has none.
 */
static fm_hist_status fail_at(parser *p, xmlTextReaderPtr r, const char *what)
{
    xmlNodePtr node = xmlTextReaderCurrentNode(r);
    long line = node != NULL && node->type == XML_ELEMENT_NODE ? xmlGetLineNo(node) : -1;
    p->has_error = true;
    p->err_line = line > 0 ? (int)line : xmlTextReaderGetParserLineNumber(r);
    p->err_col = line > 0 ? 0 : xmlTextReaderGetParserColumnNumber(r);
    snprintf(p->err_msg, sizeof p->err_msg, "%s", what);
    return FM_HIST_EPARSE;
}

static fm_hist_status start_case(parser *p, xmlTextReaderPtr r, int depth)
{
    char *name = attr(r, "name"), *cls = attr(r, "classname"), *t = attr(r, "time"),
         *status = attr(r, "status");
    fm_hist_status st = FM_HIST_OK;
    if (name == NULL || name[0] == '\0') {
        st = fail_at(p, r, "a testcase without a name");
        goto out;
    }
    bool with_class = cls != NULL && cls[0] != '\0' && strcmp(cls, name) != 0;
    /* flakemeter's own export: <testcase classname="CAMPAIGN" name="run N"> is run N of the one
     * test CAMPAIGN (fm_store_export.c), not a test of its own. */
    if (p->fm_export && with_class && strncmp(name, "run ", 4) == 0) {
        p->case_run = strdup(name);
        p->case_name = strdup(cls);
        if (p->case_run == NULL || p->case_name == NULL) {
            st = FM_HIST_ENOMEM;
            goto out;
        }
        goto named;
    }
    size_t len = strlen(name) + (with_class ? strlen(cls) + 2 : 0) + 1;
    p->case_name = malloc(len);
    if (p->case_name == NULL) {
        st = FM_HIST_ENOMEM;
        goto out;
    }
    if (with_class)
        snprintf(p->case_name, len, "%s::%s", cls, name);
    else
        snprintf(p->case_name, len, "%s", name);
named:
    p->in_case = true;
    p->case_depth = depth;
    p->case_seconds = parse_seconds(t);
    p->n_marks = 0;
    p->mark_depth = -1;
    p->case_status_skip = status != NULL && (strcasecmp(status, "notrun") == 0 ||
                                             strcasecmp(status, "disabled") == 0 ||
                                             strcasecmp(status, "skipped") == 0);
    p->case_status_fail =
        status != NULL && (strcasecmp(status, "fail") == 0 || strcasecmp(status, "failed") == 0);
    p->case_status_timeout = says_timeout(status);
out:
    xmlFree(name);
    xmlFree(cls);
    xmlFree(t);
    xmlFree(status);
    return st;
}

static bool mark_of(const char *el, mark_kind *kind)
{
    static const struct {
        const char *name;
        mark_kind kind;
    } table[] = {{"failure", MARK_FAILURE},
                 {"error", MARK_ERROR},
                 {"flakyFailure", MARK_FLAKY_FAILURE},
                 {"flakyError", MARK_FLAKY_ERROR},
                 {"rerunFailure", MARK_RERUN_FAILURE},
                 {"rerunError", MARK_RERUN_ERROR},
                 {"skipped", MARK_SKIPPED}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(el, table[i].name) == 0) {
            *kind = table[i].kind;
            return true;
        }
    return false;
}

static fm_hist_status add_mark(parser *p, xmlTextReaderPtr r, mark_kind kind, int depth)
{
    if (p->n_marks == p->cap_marks) {
        size_t cap = p->cap_marks ? 2 * p->cap_marks : 8;
        mark *grown = realloc(p->marks, cap * sizeof *grown);
        if (grown == NULL)
            return FM_HIST_ENOMEM;
        p->marks = grown;
        p->cap_marks = cap;
    }
    char *msg = attr(r, "message"), *type = attr(r, "type"), *t = attr(r, "time");
    p->marks[p->n_marks++] =
        (mark){kind, says_timeout(msg) || says_timeout(type), parse_seconds(t)};
    xmlFree(msg);
    xmlFree(type);
    xmlFree(t);
    if (kind != MARK_SKIPPED && !xmlTextReaderIsEmptyElement(r))
        p->mark_depth = depth;
    return FM_HIST_OK;
}

static bool is_main(mark_kind k)
{
    return k == MARK_FAILURE || k == MARK_ERROR;
}

static bool is_rerun(mark_kind k)
{
    return k == MARK_RERUN_FAILURE || k == MARK_RERUN_ERROR;
}

static fm_outcome outcome_of(const mark *m)
{
    if (m->timeout)
        return FM_OUTCOME_TIMEOUT;
    return m->kind == MARK_ERROR || m->kind == MARK_FLAKY_ERROR || m->kind == MARK_RERUN_ERROR
               ? FM_OUTCOME_ERROR
               : FM_OUTCOME_FAIL;
}

static fm_hist_status push_attempt(parser *p, size_t *n, fm_outcome o, double seconds)
{
    if (*n == p->cap_attempts) {
        size_t cap = p->cap_attempts ? 2 * p->cap_attempts : 8;
        fm_junit_attempt *grown = realloc(p->attempts, cap * sizeof *grown);
        if (grown == NULL)
            return FM_HIST_ENOMEM;
        p->attempts = grown;
        p->cap_attempts = cap;
    }
    p->attempts[(*n)++] = (fm_junit_attempt){o, seconds};
    return FM_HIST_OK;
}

/* Turn the marks of the closed testcase into attempts and hand it over. */
static fm_hist_status finish_case(parser *p)
{
    size_t n = 0;
    bool failed = false, own_times = false, skipped = p->case_status_skip;
    fm_hist_status st = FM_HIST_OK;
    for (size_t i = 0; i < p->n_marks && st == FM_HIST_OK; i++) {
        const mark *m = &p->marks[i];
        if (m->kind == MARK_SKIPPED) {
            skipped = true;
            continue;
        }
        failed |= is_main(m->kind) || is_rerun(m->kind);
        own_times |= !isnan(m->seconds);
        /* Consecutive failure/error marks are one attempt (call failure + teardown error). */
        if (n > 0 && is_main(m->kind) && i > 0 && is_main(p->marks[i - 1].kind)) {
            if (m->timeout)
                p->attempts[n - 1].outcome = FM_OUTCOME_TIMEOUT;
            continue;
        }
        /* A failure or error without its own time took the testcase's. */
        st = push_attempt(p, &n, outcome_of(m),
                          isnan(m->seconds) && is_main(m->kind) ? p->case_seconds : m->seconds);
    }
    if (st != FM_HIST_OK)
        return st;
    if (n == 0 && p->case_status_fail)
        st = push_attempt(p, &n, FM_OUTCOME_FAIL, NAN), failed = true;
    if (n == 0 && skipped) {
        p->info->skipped++;
        return st;
    }
    if (st == FM_HIST_OK && !failed) /* passed, possibly after flaky attempts */
        st = push_attempt(p, &n, FM_OUTCOME_PASS, n == 0 || own_times ? p->case_seconds : NAN);
    if (st != FM_HIST_OK)
        return st;
    if (n == 1)
        p->attempts[0].seconds = p->case_seconds;
    if (p->case_status_timeout && p->attempts[n - 1].outcome != FM_OUTCOME_PASS)
        p->attempts[n - 1].outcome = FM_OUTCOME_TIMEOUT;
    for (size_t i = 0; i < n; i++)
        p->info->timeouts += p->attempts[i].outcome == FM_OUTCOME_TIMEOUT;
    p->info->testcases++;
    p->info->attempts += n;
    fm_junit_case c = {p->case_name, n, p->attempts, p->case_run};
    return p->fn != NULL && p->fn(p->ctx, &c) != 0 ? FM_HIST_ECALLBACK : FM_HIST_OK;
}

static void close_case(parser *p)
{
    free(p->case_name);
    p->case_name = NULL;
    free(p->case_run);
    p->case_run = NULL;
    p->in_case = false;
    p->mark_depth = -1;
}

/* ---- The node loop ------------------------------------------------------------------------------
 */

static fm_hist_status on_element(parser *p, xmlTextReaderPtr r)
{
    const char *el = (const char *)xmlTextReaderConstLocalName(r);
    int depth = xmlTextReaderDepth(r);
    bool empty = xmlTextReaderIsEmptyElement(r);
    if (!empty)
        p->open_elements++;
    if (!p->seen_root) {
        p->seen_root = true;
        snprintf(p->root, sizeof p->root, "%s", el);
        if (strcmp(el, "testsuites") != 0 && strcmp(el, "testsuite") != 0) {
            char what[160];
            snprintf(what, sizeof what,
                     "not a JUnit XML report: the root element is <%.64s>, not <testsuites> or "
                     "<testsuite>",
                     el);
            return fail_at(p, r, what);
        }
    }
    if (p->in_case) {
        mark_kind kind;
        if (depth == p->case_depth + 1 && mark_of(el, &kind))
            return add_mark(p, r, kind, depth);
        return FM_HIST_OK;
    }
    if (strcmp(el, "testsuites") == 0 || strcmp(el, "testsuite") == 0) {
        char *ts = attr(r, "timestamp"), *host = attr(r, "hostname");
        if (strcmp(el, "testsuite") == 0)
            p->fm_export = false;
        note_time(p, ts);
        copy_first(p->info->host, host);
        xmlFree(ts);
        xmlFree(host);
    } else if (strcmp(el, "property") == 0) {
        char *name = attr(r, "name"), *value = attr(r, "value");
        if (name != NULL && strcmp(name, "flakemeter_version") == 0)
            p->fm_export = true;
        if (value != NULL || empty) {
            note_property(p, name, value);
            xmlFree(name);
        } else { /* <property name="x">value</property> */
            free(p->prop_name);
            p->prop_name = name != NULL ? strdup((char *)name) : NULL;
            xmlFree(name);
            p->prop_depth = depth;
            p->prop_text[0] = '\0';
        }
        xmlFree(value);
    } else if (strcmp(el, "testcase") == 0) {
        char *ts = attr(r, "timestamp");
        note_time(p, ts);
        xmlFree(ts);
        fm_hist_status st = start_case(p, r, depth);
        if (st == FM_HIST_OK && empty) {
            st = finish_case(p);
            close_case(p);
        }
        return st;
    }
    return FM_HIST_OK;
}

static fm_hist_status on_end(parser *p, xmlTextReaderPtr r)
{
    int depth = xmlTextReaderDepth(r);
    p->open_elements--;
    if (p->in_case && depth == p->mark_depth)
        p->mark_depth = -1;
    if (p->in_case && depth == p->case_depth) {
        fm_hist_status st = finish_case(p);
        close_case(p);
        return st;
    }
    if (p->prop_name != NULL && depth == p->prop_depth) {
        note_property(p, p->prop_name, p->prop_text);
        free(p->prop_name);
        p->prop_name = NULL;
    }
    return FM_HIST_OK;
}

static void on_text(parser *p, xmlTextReaderPtr r)
{
    const char *text = (const char *)xmlTextReaderConstValue(r);
    if (text == NULL)
        return;
    if (p->prop_name != NULL) {
        size_t have = strlen(p->prop_text);
        snprintf(p->prop_text + have, sizeof p->prop_text - have, "%s", text);
    }
    if (p->in_case && p->mark_depth >= 0 && p->n_marks > 0) {
        size_t len = strnlen(text, TEXT_SCAN_BYTES);
        if (memmem(text, len, GO_TIMEOUT_PANIC, strlen(GO_TIMEOUT_PANIC)) != NULL)
            p->marks[p->n_marks - 1].timeout = true;
    }
}

static fm_hist_status on_node(parser *p, xmlTextReaderPtr r)
{
    switch (xmlTextReaderNodeType(r)) {
    case XML_READER_TYPE_ELEMENT:
        return on_element(p, r);
    case XML_READER_TYPE_END_ELEMENT:
        return on_end(p, r);
    case XML_READER_TYPE_TEXT:
    case XML_READER_TYPE_CDATA:
        on_text(p, r);
        return FM_HIST_OK;
    case XML_READER_TYPE_DOCUMENT_TYPE:
        return fail_at(p, r, "a DOCTYPE is not allowed in a test report (entities are refused)");
    case XML_READER_TYPE_ENTITY_REFERENCE:
        return fail_at(p, r, "an entity reference is not allowed in a test report");
    default:
        return FM_HIST_OK;
    }
}

/*
 * The whole file was read, elements are still open, and libxml2 stopped within the last bytes:
 * the file was cut short (a killed CI job, a partial upload).  libxml2's own words depend on
 * where the cut falls ("Extra content at the end of the document", "AttValue: ' expected",
 * "Couldn't find end of Start Tag" ...), so say it plainly, at the end of the file.  A syntax
 * error earlier in the file keeps libxml2's message and position.
 */
#define TRUNCATION_SLACK 64
static bool truncated(const parser *p, xmlTextReaderPtr r)
{
    long consumed = xmlTextReaderByteConsumed(r);
    return p->eof && p->seen_root && p->open_elements > 0 && consumed >= 0 &&
           p->bytes - (uint64_t)consumed <= TRUNCATION_SLACK;
}

static void explain_truncation(parser *p, xmlTextReaderPtr r)
{
    p->err_line = xmlTextReaderGetParserLineNumber(r);
    p->err_col = xmlTextReaderGetParserColumnNumber(r);
    snprintf(p->err_msg, sizeof p->err_msg, "the file ends before <%s> is closed (truncated?)",
             p->root);
}

static fm_hist_status run_reader(parser *p, xmlTextReaderPtr r)
{
    fm_hist_status st = FM_HIST_OK;
    int rc;
    while (st == FM_HIST_OK && (rc = xmlTextReaderRead(r)) == 1)
        st = on_node(p, r);
    if (st != FM_HIST_OK)
        return st;
    if (p->too_many_attrs) {
        p->has_error = true;
        p->err_line = (int)p->sc_tag_line;
        p->err_col = 0;
        snprintf(p->err_msg, sizeof p->err_msg,
                 "an element with more than %d attributes (refused: a test report has a few)",
                 MAX_ATTRIBUTES);
        return FM_HIST_EPARSE;
    }
    if (p->read_failed)
        return FM_HIST_EIO;
    if (p->bytes == 0) {
        p->has_error = true;
        p->err_line = p->err_col = 1;
        snprintf(p->err_msg, sizeof p->err_msg, "the file is empty");
        return FM_HIST_EPARSE;
    }
    if (rc < 0 || p->has_error) {
        if (!p->has_error)
            fail_at(p, r, "malformed XML");
        else if (p->err_line <= 0) /* an encoding or I/O error: where the parser stopped */
            p->err_line = xmlTextReaderGetParserLineNumber(r), p->err_col = 0;
        if (p->has_error && truncated(p, r))
            explain_truncation(p, r);
        return FM_HIST_EPARSE;
    }
    if (!p->seen_root)
        return fail_at(p, r, "no root element");
    return drain(p) ? FM_HIST_OK : FM_HIST_EIO;
}

fm_hist_status fm_junit_parse_fd(int fd, const char *name, fm_junit_case_fn fn, void *ctx,
                                 fm_junit_info *info)
{
    parser p = {.fd = fd, .mark_depth = -1, .info = info, .fn = fn, .ctx = ctx, .sc_line = 1};
    fm_hist_status st = FM_HIST_ENOMEM;
    xmlTextReaderPtr r = NULL;
    /* Route libxml2's global error output into p for the parse (restored below). */
    xmlStructuredErrorFunc saved_serror = xmlStructuredError;
    void *saved_sctx = xmlStructuredErrorContext;
    xmlGenericErrorFunc saved_generic = xmlGenericError;
    void *saved_gctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(&p, error_cb);
    xmlSetGenericErrorFunc(NULL, silent_generic);
    memset(info, 0, sizeof *info);
    char *err = info->error;
    size_t errsize = sizeof info->error;
    p.md = EVP_MD_CTX_new();
    if (p.md == NULL || EVP_DigestInit_ex(p.md, EVP_sha256(), NULL) != 1)
        goto out;
    r = xmlReaderForIO(read_cb, close_cb, &p, name, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    if (r == NULL)
        goto out;
    xmlTextReaderSetStructuredErrorHandler(r, error_cb, &p);
    st = run_reader(&p, r);
    if (st == FM_HIST_OK) {
        unsigned len = 0;
        if (EVP_DigestFinal_ex(p.md, info->sha256, &len) != 1 || len != sizeof info->sha256)
            st = FM_HIST_ENOMEM;
        info->bytes = p.bytes;
    }
out:
    if (st == FM_HIST_EPARSE && p.err_col > 0)
        snprintf(err, errsize, "%d:%d: %s", p.err_line, p.err_col, p.err_msg);
    else if (st == FM_HIST_EPARSE)
        snprintf(err, errsize, "%d: %s", p.err_line, p.err_msg);
    else if (st == FM_HIST_EIO)
        snprintf(err, errsize, "read error: %s", strerror(p.read_errno ? p.read_errno : EIO));
    else if (st == FM_HIST_ENOMEM)
        snprintf(err, errsize, "out of memory");
    xmlFreeTextReader(r);
    xmlSetStructuredErrorFunc(saved_sctx, saved_serror);
    xmlSetGenericErrorFunc(saved_gctx, saved_generic);
    EVP_MD_CTX_free(p.md);
    free(p.case_name);
    free(p.case_run);
    free(p.prop_name);
    free(p.marks);
    free(p.attempts);
    return st;
}
