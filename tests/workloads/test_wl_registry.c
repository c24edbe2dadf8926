/*
 * test_wl_registry.c - the registry and the parameter contract.
 *
 * Asserts: every workload has a unique name, a summary, a unit and a run function; every
 * default lies in its range; presets apply; formatting the defaults and parsing the text back
 * gives the same values; each kind of bad input gives its status and a one-line explanation
 * naming the key and the accepted range; presets never override a key set by name, in either
 * order; a failed set leaves the args unchanged; declared races are exactly `race` and
 * `stress_recurse publish=late`; the --list table names every workload and parameter.
 */
#include "fm_test.h"
#include "fm_wl.h"

#include <stdlib.h>
#include <string.h>

static int set(struct fm_wl_args *a, const char *kv)
{
    const struct fm_wl_param *bad;
    return fm_wl_args_set(a, kv, &bad);
}

static void test_table_sane(void)
{
    CHECK(fm_wl_count() == 12, "12 workloads, got %zu", fm_wl_count());
    for (size_t i = 0; i < fm_wl_count(); i++) {
        const struct fm_wl_desc *wl = fm_wl_at(i);
        CHECK(wl->name && wl->summary && wl->unit && wl->upstream && wl->run, "entry %zu", i);
        CHECK(fm_wl_find(wl->name) == wl, "%s found by name", wl->name);
        CHECK(wl->n_params <= FM_WL_MAX_PARAMS, "%s: too many params", wl->name);
        for (size_t j = 0; j < wl->n_params; j++) {
            const struct fm_wl_param *p = &wl->params[j];
            CHECK(p->lo <= p->def && p->def <= p->hi, "%s.%s default in range", wl->name, p->key);
            CHECK(fm_wl_find_param(wl, p->key) == p, "%s.%s unique key", wl->name, p->key);
        }
        for (size_t j = 0; j < wl->n_presets; j++) {
            struct fm_wl_args a;
            char kv[64];
            fm_wl_args_init(&a, wl);
            snprintf(kv, sizeof kv, "preset=%s", wl->presets[j].name);
            CHECK(set(&a, kv) == FM_WL_OK, "%s %s applies", wl->name, kv);
        }
    }
    CHECK(fm_wl_find("nope") == NULL, "unknown name");
    CHECK(fm_wl_at(fm_wl_count()) == NULL, "index past the end");
}

/* Format the defaults, parse every key=value back into fresh args: identical values. */
static void test_round_trip(void)
{
    for (size_t i = 0; i < fm_wl_count(); i++) {
        const struct fm_wl_desc *wl = fm_wl_at(i);
        struct fm_wl_args a, b;
        char text[1024];
        fm_wl_args_init(&a, wl);
        fm_wl_args_init(&b, wl);
        fm_wl_args_format(&a, text, sizeof text);
        char *save = NULL;
        for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save))
            CHECK(set(&b, w) == FM_WL_OK, "%s: '%s' parses", wl->name, w);
        CHECK(memcmp(a.value, b.value, sizeof a.value) == 0, "%s: round trip", wl->name);
    }
}

static void expect_error(const char *name, const char *kv, int status, const char *words)
{
    const struct fm_wl_desc *wl = fm_wl_find(name);
    struct fm_wl_args a, before;
    const struct fm_wl_param *bad;
    char why[512], list[128];
    fm_wl_args_init(&a, wl);
    before = a;
    int rc = fm_wl_args_set(&a, kv, &bad);
    CHECK(rc == status, "%s %s: status %d (%s), expected %d", name, kv, rc, fm_wl_strerror(rc),
          status);
    CHECK(memcmp(&a, &before, sizeof a) == 0, "%s %s: args unchanged", name, kv);
    fm_wl_args_explain(wl, kv, rc, bad, why, sizeof why);
    CHECK(strchr(why, '\n') == NULL, "one line: %s", why);
    snprintf(list, sizeof list, "%s", words);
    char *save = NULL;
    for (char *w = strtok_r(list, "|", &save); w; w = strtok_r(NULL, "|", &save))
        CHECK(strstr(why, w) != NULL, "'%s' in message: %s", w, why);
}

static void test_bad_input(void)
{
    expect_error("stress_aes", "threads", FM_WL_ESYNTAX, "threads|key=value");
    expect_error("stress_aes", "=3", FM_WL_ESYNTAX, "key=value");
    expect_error("stress_aes", "thread=3", FM_WL_EKEY, "thread|threads, loops");
    expect_error("stress_aes", "threads=abc", FM_WL_ENUMBER, "threads|abc|[0, 1000]");
    expect_error("stress_aes", "threads=1.5", FM_WL_ENUMBER, "threads|1.5|integer");
    expect_error("stress_aes", "threads=", FM_WL_ENUMBER, "threads|[0, 1000]");
    expect_error("stress_aes", "threads=1001", FM_WL_ERANGE, "threads|1001|[0, 1000]");
    expect_error("stress_aes", "threads=-1", FM_WL_ERANGE, "threads|-1|[0, 1000]");
    expect_error("stress_aes", "threads=99999999999999999999", FM_WL_ERANGE, "threads");
    expect_error("stress_aes", "impl=fast", FM_WL_ECHOICE, "impl|fast|portable");
    expect_error("stress_aes", "preset=slow", FM_WL_ECHOICE, "preset|slow|coverage");
    expect_error("bernoulli", "p=1.5", FM_WL_ERANGE, "p|1.5|[0, 1]");
    expect_error("bernoulli", "p=nan", FM_WL_ENUMBER, "p|nan");
    expect_error("bernoulli", "preset=x", FM_WL_ECHOICE, "preset|(none)");
    expect_error("stress_recurse", "publish=never", FM_WL_ECHOICE, "publish|early, late");
}

static void test_presets_yield_to_names(void)
{
    const struct fm_wl_desc *wl = fm_wl_find("stress_aes");
    const char *orders[2][2] = {{"threads=3", "preset=coverage"}, {"preset=coverage", "threads=3"}};
    for (int k = 0; k < 2; k++) {
        struct fm_wl_args a;
        fm_wl_args_init(&a, wl);
        CHECK(set(&a, orders[k][0]) == FM_WL_OK && set(&a, orders[k][1]) == FM_WL_OK, "order %d",
              k);
        CHECK(fm_wl_args_get(&a, "threads") == 3, "order %d: threads set by name wins", k);
        CHECK(fm_wl_args_get(&a, "loops") == 2, "order %d: preset sets loops", k);
        CHECK(fm_wl_args_get(&a, "contention") == 1, "order %d: preset sets contention", k);
        CHECK(fm_wl_args_get(&a, "calls") == 16, "order %d: preset sets calls (issue 18)", k);
        CHECK(fm_wl_args_get(&a, "scan") == 8192, "order %d: preset sets scan (issue 18)", k);
    }
}

static void test_declared_races(void)
{
    for (size_t i = 0; i < fm_wl_count(); i++) {
        const struct fm_wl_desc *wl = fm_wl_at(i);
        struct fm_wl_args a;
        fm_wl_args_init(&a, wl);
        int want = strcmp(wl->name, "race") == 0;
        CHECK(fm_wl_declared_race(&a) == want, "%s at defaults", wl->name);
    }
    struct fm_wl_args a;
    fm_wl_args_init(&a, fm_wl_find("stress_recurse"));
    set(&a, "publish=late");
    CHECK(fm_wl_declared_race(&a), "stress_recurse publish=late is a declared race");
}

static void test_table_text(void)
{
    size_t n = fm_wl_format_table(NULL, 0);
    char *text = malloc(n + 1);
    CHECK(text && fm_wl_format_table(text, n + 1) == n && strlen(text) == n, "sizing call");
    for (size_t i = 0; text && i < fm_wl_count(); i++) {
        const struct fm_wl_desc *wl = fm_wl_at(i);
        CHECK(strstr(text, wl->name) != NULL, "%s listed", wl->name);
        for (size_t j = 0; j < wl->n_params; j++)
            CHECK(strstr(text, wl->params[j].key) != NULL, "%s.%s listed", wl->name,
                  wl->params[j].key);
    }
    CHECK(text && strstr(text, "preset=coverage") != NULL, "preset listed");
    CHECK(text && strstr(text, "declared data race when publish=late") != NULL, "race noted");
    char small[16];
    CHECK(fm_wl_format_table(small, sizeof small) == n && strlen(small) == 15, "truncates");
    free(text);
}

int main(void)
{
    test_table_sane();
    test_round_trip();
    test_bad_input();
    test_presets_yield_to_names();
    test_declared_races();
    test_table_text();
    return fm_test_report("test_wl_registry");
}
