/*
 * test_store_export.c - JSON, CSV and JUnit XML exports, each parsed back.
 *
 * A store holds two campaigns of seeded retry chains; one label has a comma, a quote and a
 * byte that is not UTF-8.  Asserts:
 *  - JSON parses with jansson: schema 1, two campaigns, the right number of runs in each, the
 *    command embedded as an array, seeds (decimal strings) equal to the generated 64-bit seeds,
 *    exit_code null where the outcome has none; a label selects one campaign.
 *  - CSV: the header row, one row per run, the odd label quoted per RFC 4180.
 *  - JUnit parses with libxml2: one <testsuites>, one <testsuite> per campaign whose tests,
 *    failures and errors attributes match the chains, one <testcase> per chain, and exactly the
 *    <flakyFailure>/<flakyError>, <failure>/<error> and <rerunFailure>/<rerunError> elements the
 *    surefire mapping gives (counted here from the generated chains); crash and timeout
 *    messages say so.
 *  - An unknown label is ENOENT; a write error (/dev/full) is EIO.
 */
#include "store_util.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

enum { CHAINS_A = 400, CHAINS_B = 25 };
static const char label_b[] = "b,\"q\" \xff";

/* Element counts the JUnit file must have, from the chains themselves. */
typedef struct {
    int64_t runs, tests, failures, errors;
    int64_t flaky_failure, flaky_error, failure, error, rerun_failure, rerun_error;
    int64_t crash_msgs, timeout_msgs;
} expect;

static void expect_chain(expect *e, const fm_run_record *r, int n)
{
    e->runs += n;
    e->tests++;
    bool passed = r[n - 1].outcome == FM_OUTCOME_PASS;
    for (int i = 0; i < n; i++) {
        fm_outcome o = r[i].outcome;
        if (o == FM_OUTCOME_PASS || (passed && n == 1))
            continue;
        bool err = o == FM_OUTCOME_ERROR;
        e->crash_msgs += o == FM_OUTCOME_CRASH;
        e->timeout_msgs += o == FM_OUTCOME_TIMEOUT;
        if (passed)
            *(err ? &e->flaky_error : &e->flaky_failure) += 1;
        else if (i == 0)
            *(err ? &e->error : &e->failure) += 1;
        else
            *(err ? &e->rerun_error : &e->rerun_failure) += 1;
    }
    if (!passed)
        *(r[0].outcome == FM_OUTCOME_ERROR ? &e->errors : &e->failures) += 1;
}

static void fill(fm_store *s, const char *label, int64_t chains, uint64_t seed, expect *e,
                 uint64_t *seeds)
{
    fm_campaign_info c = su_campaign(label, "[\"./t\",\"--flag\"]");
    int64_t id;
    bool existed;
    CHECK(fm_store_campaign(s, &c, &id, &existed) == FM_STORE_OK, "campaign");
    size_t k = 0;
    for (int64_t i = 0; i < chains; i++) {
        uint64_t rng = seed ^ (uint64_t)i * 0x100000001b3ULL;
        fm_run_record rows[SU_MAX_ATTEMPTS];
        int n = su_chain(&rng, i, rows);
        for (int j = 0; j < n; j++) {
            CHECK(fm_store_add_run(s, id, &rows[j]) == FM_STORE_OK, "add");
            if (seeds != NULL)
                seeds[k++] = rows[j].seed;
        }
        expect_chain(e, rows, n);
    }
}

static char *export_to_memory(fm_store *s, const char *label, fm_export_format fmt,
                              fm_store_status *st)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    *st = fm_store_export(s, label, fmt, f);
    fclose(f);
    return buf;
}

static void test_json(fm_store *s, const expect *ea, const expect *eb, const uint64_t *seeds)
{
    fm_store_status st;
    char *text = export_to_memory(s, NULL, FM_EXPORT_JSON, &st);
    CHECK(st == FM_STORE_OK, "json export: %s", fm_store_errmsg(s));
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    CHECK(root != NULL, "JSON parses: %s (line %d)", err.text, err.line);
    json_t *camps = json_object_get(root, "campaigns");
    CHECK(json_integer_value(json_object_get(root, "schema")) == FM_STORE_SCHEMA, "schema");
    CHECK(json_array_size(camps) == 2, "two campaigns");
    json_t *a = json_array_get(camps, 0), *b = json_array_get(camps, 1);
    json_t *runs_a = json_object_get(a, "runs");
    CHECK((int64_t)json_array_size(runs_a) == ea->runs, "runs of a: %zu, want %lld",
          json_array_size(runs_a), (long long)ea->runs);
    CHECK((int64_t)json_array_size(json_object_get(b, "runs")) == eb->runs, "runs of b");
    CHECK(json_is_array(json_object_get(a, "command")), "command embedded as an array");
    CHECK(strcmp(json_string_value(json_object_get(b, "label")), "b,\"q\" ?") == 0,
          "non-UTF-8 byte replaced: %s", json_string_value(json_object_get(b, "label")));
    size_t bad_seeds = 0, null_exits = 0;
    for (size_t i = 0; i < json_array_size(runs_a); i++) {
        json_t *r = json_array_get(runs_a, i);
        const char *seed = json_string_value(json_object_get(r, "seed"));
        bad_seeds += seed == NULL || strtoull(seed, NULL, 10) != seeds[i];
        const char *outcome = json_string_value(json_object_get(r, "outcome"));
        bool has_exit = !json_is_null(json_object_get(r, "exit_code"));
        null_exits += has_exit != (strcmp(outcome, "pass") == 0 || strcmp(outcome, "fail") == 0);
    }
    CHECK(bad_seeds == 0, "%zu seeds differ", bad_seeds);
    CHECK(null_exits == 0, "%zu exit codes present where they should be null or vice versa",
          null_exits);
    json_decref(root);
    free(text);

    text = export_to_memory(s, "a", FM_EXPORT_JSON, &st);
    root = json_loads(text, 0, &err);
    CHECK(st == FM_STORE_OK && json_array_size(json_object_get(root, "campaigns")) == 1,
          "a label selects one campaign");
    json_decref(root);
    free(text);
}

static void test_csv(fm_store *s, const expect *ea, const expect *eb)
{
    fm_store_status st;
    char *text = export_to_memory(s, NULL, FM_EXPORT_CSV, &st);
    CHECK(st == FM_STORE_OK, "csv export");
    static const char header[] = "label,run_index,attempt,seed,outcome,exit_code,signal,"
                                 "core_dumped,start_ns,wall_ns,user_us,sys_us,max_rss_kb\n";
    CHECK(strncmp(text, header, sizeof header - 1) == 0, "header row");
    int64_t lines = 0, quoted = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    CHECK(lines == 1 + ea->runs + eb->runs, "rows: %lld, want %lld", (long long)lines - 1,
          (long long)(ea->runs + eb->runs));
    for (char *p = strstr(text, "\n\"b,\"\"q\"\" ?\",0,1,"); p != NULL;
         p = strstr(p + 1, "\n\"b,\"\"q\"\" ?\","))
        quoted++;
    CHECK(quoted == eb->runs, "quoted label rows: %lld", (long long)quoted);
    free(text);
}

static int64_t count_elements(xmlNode *node, const char *name)
{
    int64_t n = 0;
    for (; node != NULL; node = node->next)
        if (node->type == XML_ELEMENT_NODE) {
            n += strcmp((const char *)node->name, name) == 0;
            n += count_elements(node->children, name);
        }
    return n;
}

/* Failure-like elements whose message contains word. */
static int64_t count_messages(xmlNode *node, const char *word)
{
    int64_t n = 0;
    for (; node != NULL; node = node->next)
        if (node->type == XML_ELEMENT_NODE) {
            xmlChar *m = xmlGetProp(node, BAD_CAST "message");
            n += m != NULL && strstr((const char *)m, word) != NULL;
            xmlFree(m);
            n += count_messages(node->children, word);
        }
    return n;
}

static int64_t int_attr(xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetProp(node, BAD_CAST name);
    int64_t x = v != NULL ? strtoll((const char *)v, NULL, 10) : -1;
    xmlFree(v);
    return x;
}

static void check_suite(xmlNode *suite, const expect *e, const char *what)
{
    CHECK(int_attr(suite, "tests") == e->tests, "%s tests", what);
    CHECK(int_attr(suite, "failures") == e->failures, "%s failures %lld, want %lld", what,
          (long long)int_attr(suite, "failures"), (long long)e->failures);
    CHECK(int_attr(suite, "errors") == e->errors, "%s errors", what);
    CHECK(count_elements(suite->children, "testcase") == e->tests, "%s testcases", what);
}

/*
 * Every <testcase> of a suite names that suite's campaign (issue 14, item 18: the export's
 * context kept a pointer to the campaign of a finished iteration; a testcase written through a
 * stale one would name another campaign, and ASan's use-after-scope check would see the read).
 */
static void check_classnames(xmlNode *suite, const char *what)
{
    xmlChar *name = xmlGetProp(suite, BAD_CAST "name");
    int64_t n = 0, wrong = 0;
    for (xmlNode *c = suite->children; c != NULL && name != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "testcase") != 0)
            continue;
        xmlChar *cls = xmlGetProp(c, BAD_CAST "classname");
        n++;
        wrong += cls == NULL || xmlStrcmp(cls, name) != 0;
        xmlFree(cls);
    }
    CHECK(name != NULL && n > 0 && wrong == 0, "%s: %lld of %lld testcases name another campaign",
          what, (long long)wrong, (long long)n);
    xmlFree(name);
}

static void test_junit(fm_store *s, const expect *ea, const expect *eb)
{
    fm_store_status st;
    char *text = export_to_memory(s, NULL, FM_EXPORT_JUNIT, &st);
    CHECK(st == FM_STORE_OK, "junit export: %s", fm_store_errmsg(s));
    xmlDoc *doc = xmlReadMemory(text, (int)strlen(text), "junit.xml", NULL, XML_PARSE_NONET);
    CHECK(doc != NULL, "JUnit XML parses");
    if (doc == NULL) {
        free(text);
        return;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    CHECK(strcmp((const char *)root->name, "testsuites") == 0, "root is <testsuites>");
    CHECK(count_elements(root->children, "testsuite") == 2, "two testsuites");
    xmlNode *suite[2] = {NULL, NULL};
    int k = 0;
    for (xmlNode *n = root->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && k < 2)
            suite[k++] = n;
    check_suite(suite[0], ea, "a");
    check_suite(suite[1], eb, "b");
    check_classnames(suite[0], "a");
    check_classnames(suite[1], "b");
    xmlChar *na = xmlGetProp(suite[0], BAD_CAST "name"),
            *nb = xmlGetProp(suite[1], BAD_CAST "name");
    CHECK(na && nb && xmlStrcmp(na, nb) != 0, "the two suites have their own names");
    xmlFree(na);
    xmlFree(nb);
    CHECK(int_attr(root, "tests") == ea->tests + eb->tests, "total tests");
    struct {
        const char *name;
        int64_t want;
    } el[] = {
        {"flakyFailure", ea->flaky_failure + eb->flaky_failure},
        {"flakyError", ea->flaky_error + eb->flaky_error},
        {"failure", ea->failure + eb->failure},
        {"error", ea->error + eb->error},
        {"rerunFailure", ea->rerun_failure + eb->rerun_failure},
        {"rerunError", ea->rerun_error + eb->rerun_error},
    };
    for (size_t i = 0; i < sizeof el / sizeof el[0]; i++) {
        int64_t got = count_elements(root, el[i].name);
        CHECK(got == el[i].want, "<%s>: %lld, want %lld", el[i].name, (long long)got,
              (long long)el[i].want);
        CHECK(el[i].want > 0, "the data exercises <%s>", el[i].name);
    }
    CHECK(count_messages(root, "crashed: killed by signal 11 (SIGSEGV)") ==
              ea->crash_msgs + eb->crash_msgs,
          "crash messages");
    CHECK(count_messages(root, "timed out") == ea->timeout_msgs + eb->timeout_msgs,
          "timeout messages");
    xmlFreeDoc(doc);
    free(text);
}

static void test_errors(fm_store *s)
{
    fm_store_status st;
    free(export_to_memory(s, "nope", FM_EXPORT_CSV, &st));
    CHECK(st == FM_STORE_ENOENT, "unknown label: %s", fm_store_strerror(st));
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        CHECK(fm_store_export(s, NULL, FM_EXPORT_JSON, full) == FM_STORE_EIO, "/dev/full");
        fclose(full);
    }
}

int main(void)
{
    su_mkdir();
    fm_store *s;
    expect ea = {0}, eb = {0};
    uint64_t *seeds = malloc(CHAINS_A * SU_MAX_ATTEMPTS * sizeof *seeds);
    CHECK(fm_store_open(su_path("ex.db"), true, &s) == FM_STORE_OK, "create");
    fill(s, "a", CHAINS_A, 11, &ea, seeds);
    fill(s, label_b, CHAINS_B, 12, &eb, NULL);
    /* Unflushed rows: export commits them first. */
    test_json(s, &ea, &eb, seeds);
    test_csv(s, &ea, &eb);
    test_junit(s, &ea, &eb);
    test_errors(s);
    CHECK(fm_store_close(s) == FM_STORE_OK, "close");
    free(seeds);
    xmlCleanupParser();
    su_rmdir();
    return fm_test_report("store_export");
}
