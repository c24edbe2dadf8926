/*
 * fm_suite.c - discovering a suite's tests through its runner (fm_suite.h).
 *
 * Discovery runs the runner's listing once (posix_spawnp, stdout and stderr through pipes,
 * both bounded), then parses the listing with the adapter's parser; parsers take the whole
 * text and never run anything, so they are tested and fuzzed alone (fm_suite_parse_list).
 * Strings are built with clamped snprintf into exact-size allocations.
 */
#include "fm_suite.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define LIST_MAX (16u << 20) /* bytes of a listing kept */
#define ERR_KEEP 4096        /* bytes of a failing runner's stderr kept for the message */

static const char *const kind_names[] = {"pytest", "ctest",       "gtest",  "go",
                                         "cargo",  "micropython", "generic"};

const char *fm_suite_kind_name(fm_suite_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof *kind_names ? kind_names[kind] : "?";
}

fm_run_status fm_suite_kind_parse(const char *name, fm_suite_kind *kind)
{
    for (size_t i = 0; name != NULL && i < sizeof kind_names / sizeof *kind_names; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *kind = (fm_suite_kind)i;
            return FM_RUN_OK;
        }
    return FM_RUN_EINVAL;
}

static fm_run_status fail(char *err, size_t size, fm_run_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static fm_run_status fail(char *err, size_t size, fm_run_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (size > 0)
        vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- growable arrays of strings --------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strv;

static bool strv_push(strv *s, const char *text, size_t len)
{
    if (s->n + 1 >= s->cap) { /* keep room for a NULL terminator */
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        s->v = v, s->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return false;
    memcpy(copy, text, len);
    copy[len] = '\0';
    s->v[s->n++] = copy;
    s->v[s->n] = NULL;
    return true;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (strv){0};
}

static bool strv_push_s(strv *s, const char *text)
{
    return strv_push(s, text, strlen(text));
}

void fm_suite_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; ids != NULL && i < n; i++)
        free(ids[i]);
    free(ids);
}

/* ---- parsers of listings ------------------------------------------------------------------ */

/* Next line of text from *p (without its \n and a trailing \r); false at the end. */
static bool next_line(const char **p, const char **line, size_t *len)
{
    if (**p == '\0')
        return false;
    const char *nl = strchr(*p, '\n');
    size_t n = nl ? (size_t)(nl - *p) : strlen(*p);
    *line = *p;
    *len = n > 0 && (*p)[n - 1] == '\r' ? n - 1 : n;
    *p += n + (nl != NULL);
    return true;
}

static bool starts(const char *line, size_t len, const char *prefix)
{
    size_t k = strlen(prefix);
    return len >= k && memcmp(line, prefix, k) == 0;
}

static bool parse_pytest(const char *text, strv *ids)
{
    const char *p = text, *line;
    size_t len;
    while (next_line(&p, &line, &len)) {
        if (len == 0)
            break; /* the summary ("3 tests collected in 0.01s") follows a blank line */
        if (memmem(line, len, "::", 2) != NULL && !isspace((unsigned char)line[0]) &&
            !starts(line, len, "ERROR") && !strv_push(ids, line, len))
            return false;
    }
    return true;
}

static bool parse_gtest(const char *text, strv *ids)
{
    const char *p = text, *line;
    size_t len;
    char suite[1024] = "";
    while (next_line(&p, &line, &len)) {
        const char *hash = memchr(line, '#', len);
        size_t n = hash ? (size_t)(hash - line) : len;
        while (n > 0 && line[n - 1] == ' ')
            n--;
        if (n == 0)
            continue;
        if (line[0] != ' ' && line[n - 1] == '.') { /* "Suite." or "Prefix/Suite/0." */
            snprintf(suite, sizeof suite, "%.*s", (int)n, line);
            continue;
        }
        if (line[0] == ' ' && suite[0] != '\0') {
            size_t s = 0;
            while (s < n && line[s] == ' ')
                s++;
            char id[2048];
            int w = snprintf(id, sizeof id, "%s%.*s", suite, (int)(n - s), line + s);
            if (w < 0 || (size_t)w >= sizeof id || !strv_push_s(ids, id))
                return false;
        }
    }
    return true;
}

static bool parse_go(const char *text, strv *ids)
{
    const char *p = text, *line;
    size_t len;
    while (next_line(&p, &line, &len)) {
        bool name =
            starts(line, len, "Test") || starts(line, len, "Example") || starts(line, len, "Fuzz");
        for (size_t i = 0; name && i < len; i++)
            name = isalnum((unsigned char)line[i]) || line[i] == '_';
        if (name && !strv_push(ids, line, len))
            return false;
    }
    return true;
}

static bool parse_cargo(const char *text, strv *ids)
{
    const char *p = text, *line;
    size_t len;
    while (next_line(&p, &line, &len))
        if (len > 6 && memcmp(line + len - 6, ": test", 6) == 0 && !strv_push(ids, line, len - 6))
            return false;
    return true;
}

static bool parse_lines(const char *text, strv *ids)
{
    const char *p = text, *line;
    size_t len;
    while (next_line(&p, &line, &len)) {
        size_t s = 0;
        while (s < len && isspace((unsigned char)line[s]))
            s++;
        while (len > s && isspace((unsigned char)line[len - 1]))
            len--;
        if (len > s && !strv_push(ids, line + s, len - s))
            return false;
    }
    return true;
}

static fm_run_status parse_ctest(const char *text, strv *ids, char *err, size_t size)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je), *tests;
    if (root == NULL)
        return fail(err, size, FM_RUN_EINVAL, "ctest --show-only=json-v1: line %d: %s", je.line,
                    je.text);
    fm_run_status st = FM_RUN_OK;
    if (!json_is_array(tests = json_object_get(root, "tests")))
        st = fail(err, size, FM_RUN_EINVAL, "ctest --show-only=json-v1: no \"tests\" array");
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (st != FM_RUN_OK)
            break;
        if (name == NULL || name[0] == '\0')
            st = fail(err, size, FM_RUN_EINVAL, "ctest --show-only=json-v1: test %zu has no name",
                      i);
        else if (!strv_push_s(ids, name))
            st = FM_RUN_ENOMEM;
    }
    json_decref(root);
    return st;
}

fm_run_status fm_suite_parse_list(fm_suite_kind kind, const char *text, char ***out, size_t *n,
                                  char *err, size_t size)
{
    strv ids = {0};
    fm_run_status st = FM_RUN_OK;
    bool ok = true;
    switch (kind) {
    case FM_SUITE_PYTEST:
        ok = parse_pytest(text, &ids);
        break;
    case FM_SUITE_CTEST:
        st = parse_ctest(text, &ids, err, size);
        break;
    case FM_SUITE_GTEST:
        ok = parse_gtest(text, &ids);
        break;
    case FM_SUITE_GO:
        ok = parse_go(text, &ids);
        break;
    case FM_SUITE_CARGO:
        ok = parse_cargo(text, &ids);
        break;
    case FM_SUITE_MICROPYTHON:
    case FM_SUITE_GENERIC:
        ok = parse_lines(text, &ids);
        break;
    }
    if (!ok)
        st = FM_RUN_ENOMEM;
    for (size_t i = 0; st == FM_RUN_OK && i < ids.n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids.v[i], ids.v[j]) == 0) {
                st = fail(err, size, FM_RUN_EINVAL, "the %s listing names '%s' twice",
                          fm_suite_kind_name(kind), ids.v[i]);
                break;
            }
    if (st != FM_RUN_OK) {
        strv_free(&ids);
        return st;
    }
    *out = ids.v, *n = ids.n;
    return FM_RUN_OK;
}

/* ---- running a listing -------------------------------------------------------------------- */

static char *joined(char *const *argv)
{
    size_t len = 1;
    for (size_t i = 0; argv[i]; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *p = s;
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        int w = snprintf(p, len - (size_t)(p - s), "%s%s", i ? " " : "", argv[i]);
        p += w > 0 ? w : 0;
    }
    return s;
}

/* Run argv, collect stdout (at most LIST_MAX) and the start of stderr; exit status in *status. */
static fm_run_status capture(char *const *argv, char **out, char *errbuf, int *status, char *err,
                             size_t size)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    fm_run_status st = FM_RUN_OK;
    posix_spawn_file_actions_t fa;
    bool fa_ok = false;
    size_t len = 0, cap = 65536, elen = 0;
    char *buf = malloc(cap);
    pid_t pid = -1;
    errbuf[0] = '\0';
    if (buf == NULL) {
        st = FM_RUN_ENOMEM;
        goto out;
    }
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        posix_spawn_file_actions_init(&fa) != 0) {
        st = fail(err, size, FM_RUN_ESYSTEM, "cannot list the tests: %s", strerror(errno));
        goto out;
    }
    fa_ok = true;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (rc != 0) {
        st = fail(err, size, FM_RUN_ESTART, "cannot start '%s' to list the tests: %s", argv[0],
                  strerror(rc));
        pid = -1;
        goto out;
    }
    close(po[1]), close(pe[1]);
    po[1] = pe[1] = -1;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            st = fail(err, size, FM_RUN_ESYSTEM, "cannot list the tests: %s", strerror(errno));
            goto out;
        }
        if (fds[0].revents) {
            if (len + 1 == cap && cap < LIST_MAX + 1) {
                char *b = realloc(buf, cap * 2 > LIST_MAX + 1 ? LIST_MAX + 1 : cap * 2);
                if (b == NULL) {
                    st = FM_RUN_ENOMEM;
                    goto out;
                }
                buf = b, cap = cap * 2 > LIST_MAX + 1 ? LIST_MAX + 1 : cap * 2;
            }
            char sink[4096];
            ssize_t r = len + 1 < cap ? read(po[0], buf + len, cap - 1 - len)
                                      : read(po[0], sink, sizeof sink);
            if (r <= 0)
                fds[0].fd = -1;
            else if (len + 1 < cap)
                len += (size_t)r;
        }
        if (fds[1].revents) {
            char tmp[4096];
            ssize_t r = read(pe[0], tmp, sizeof tmp);
            if (r <= 0)
                fds[1].fd = -1;
            else if (elen + 1 < ERR_KEEP) {
                size_t k = (size_t)r < ERR_KEEP - 1 - elen ? (size_t)r : ERR_KEEP - 1 - elen;
                memcpy(errbuf + elen, tmp, k);
                elen += k;
                errbuf[elen] = '\0';
            }
        }
    }
    buf[len] = '\0';
out:
    if (pid > 0)
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    if (st != FM_RUN_OK) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    return st;
}

/* The first line of text that says something (for a runner's error). */
static void first_line(const char *text, char *out, size_t size)
{
    const char *p = text, *line;
    size_t len;
    out[0] = '\0';
    while (next_line(&p, &line, &len))
        if (len > 0) {
            snprintf(out, size, ": %.*s", (int)(len > 200 ? 200 : len), line);
            return;
        }
}

/* ---- per-test commands -------------------------------------------------------------------- */

static bool is_path(const char *s)
{
    struct stat sb;
    return s[0] != '-' && (strstr(s, "::") != NULL || stat(s, &sb) == 0);
}

/* Is argv[i] the runner itself (pytest, pytest-3, py.test; run-tests.py)? */
static bool is_runner(const char *arg, fm_suite_kind kind)
{
    const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
    if (kind == FM_SUITE_MICROPYTHON)
        return strcmp(base, "run-tests.py") == 0;
    return strcmp(base, "pytest") == 0 || strcmp(base, "pytest-3") == 0 ||
           strcmp(base, "py.test") == 0;
}

/*
 * CMD with its path operands dropped (pytest, micropython): everything up to the runner
 * (python3 -m pytest, ./run-tests.py), then only what is not a path, so that the one test
 * appended is all that runs.  Option values that are paths must be written --opt=PATH.
 */
static bool program_and_options(char *const *argv, fm_suite_kind kind, strv *out)
{
    size_t runner = 0;
    for (size_t i = 0; argv[i]; i++)
        if (is_runner(argv[i], kind)) {
            runner = i;
            break;
        }
    for (size_t i = 0; argv[i]; i++)
        if ((i <= runner || !is_path(argv[i])) && !strv_push_s(out, argv[i]))
            return false;
    return true;
}

/* A CMake regular expression that matches exactly s. */
static char *cmake_exact(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *r = malloc(2 * n + 3);
    if (r == NULL)
        return NULL;
    r[k++] = '^';
    for (size_t i = 0; i < n; i++) {
        if (strchr("^$.*+?()[]\\|{}", s[i]) != NULL)
            r[k++] = '\\';
        r[k++] = s[i];
    }
    r[k++] = '$';
    r[k] = '\0';
    return r;
}

/* 'id' quoted for sh -c. */
static char *sh_quote(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (q == NULL)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++)
        if (*p == '\'')
            memcpy(o, "'\\''", 4), o += 4;
        else
            *o++ = *p;
    *o++ = '\'';
    *o = '\0';
    return q;
}

static fm_run_status test_command(const fm_suite_spec *spec, const char *id, strv *cmd)
{
    char *const *a = spec->argv;
    char *tmp = NULL;
    bool ok = true;
    switch (spec->kind) {
    case FM_SUITE_PYTEST:
        ok = program_and_options(a, spec->kind, cmd) && strv_push_s(cmd, "-p") &&
             strv_push_s(cmd, "no:cacheprovider") && strv_push_s(cmd, id);
        break;
    case FM_SUITE_MICROPYTHON:
        ok = program_and_options(a, spec->kind, cmd) && strv_push_s(cmd, id);
        break;
    case FM_SUITE_CTEST:
        for (size_t i = 0; ok && a[i]; i++)
            ok = strv_push_s(cmd, a[i]);
        ok = ok && (tmp = cmake_exact(id)) != NULL && strv_push_s(cmd, "-R") &&
             strv_push_s(cmd, tmp) && strv_push_s(cmd, "--no-tests=error") &&
             strv_push_s(cmd, "--output-on-failure");
        break;
    case FM_SUITE_GTEST: {
        for (size_t i = 0; ok && a[i]; i++)
            ok = strv_push_s(cmd, a[i]);
        size_t n = strlen(id) + sizeof "--gtest_filter=";
        ok = ok && (tmp = malloc(n)) != NULL;
        if (ok)
            snprintf(tmp, n, "--gtest_filter=%s", id);
        ok = ok && strv_push_s(cmd, tmp);
        break;
    }
    case FM_SUITE_GO: {
        for (size_t i = 0; ok && a[i]; i++)
            ok = strv_push_s(cmd, a[i]);
        size_t n = strlen(id) + 3;
        ok = ok && (tmp = malloc(n)) != NULL;
        if (ok)
            snprintf(tmp, n, "^%s$", id);
        ok =
            ok && strv_push_s(cmd, "-count=1") && strv_push_s(cmd, "-run") && strv_push_s(cmd, tmp);
        break;
    }
    case FM_SUITE_CARGO: {
        bool dashes = false;
        for (size_t i = 0; ok && a[i]; i++)
            ok = strv_push_s(cmd, a[i]), dashes |= strcmp(a[i], "--") == 0;
        ok = ok && (dashes || strv_push_s(cmd, "--")) && strv_push_s(cmd, "--exact") &&
             strv_push_s(cmd, id);
        break;
    }
    case FM_SUITE_GENERIC: {
        char *q = sh_quote(id);
        size_t n = strlen(spec->each) + 1, k = 0;
        for (const char *p = spec->each; q && (p = strstr(p, "{}")) != NULL; p += 2)
            n += strlen(q);
        ok = q != NULL && (tmp = malloc(n)) != NULL;
        for (const char *p = spec->each; ok && *p;)
            if (p[0] == '{' && p[1] == '}')
                k += (size_t)snprintf(tmp + k, n - k, "%s", q), p += 2;
            else
                tmp[k++] = *p++;
        if (ok)
            tmp[k] = '\0';
        free(q);
        ok = ok && strv_push_s(cmd, "/bin/sh") && strv_push_s(cmd, "-c") && strv_push_s(cmd, tmp);
        break;
    }
    }
    free(tmp);
    return ok ? FM_RUN_OK : FM_RUN_ENOMEM;
}

/* The listing command of an adapter (micropython has none: its operands are the tests). */
static bool list_command(const fm_suite_spec *spec, strv *cmd)
{
    char *const *a = spec->argv;
    bool ok = true, dashes = false;
    if (spec->kind == FM_SUITE_GENERIC)
        return strv_push_s(cmd, "/bin/sh") && strv_push_s(cmd, "-c") &&
               strv_push_s(cmd, spec->list_command);
    for (size_t i = 0; ok && a[i]; i++)
        ok = strv_push_s(cmd, a[i]), dashes |= strcmp(a[i], "--") == 0;
    switch (spec->kind) {
    case FM_SUITE_PYTEST:
        return ok && strv_push_s(cmd, "--collect-only") && strv_push_s(cmd, "-q");
    case FM_SUITE_CTEST:
        return ok && strv_push_s(cmd, "--show-only=json-v1");
    case FM_SUITE_GTEST:
        return ok && strv_push_s(cmd, "--gtest_list_tests");
    case FM_SUITE_GO:
        return ok && strv_push_s(cmd, "-list") && strv_push_s(cmd, ".");
    case FM_SUITE_CARGO:
        return ok && (dashes || strv_push_s(cmd, "--")) && strv_push_s(cmd, "--list") &&
               strv_push_s(cmd, "--format") && strv_push_s(cmd, "terse");
    default:
        return ok;
    }
}

/* micropython: the test files its operands name (a directory: its *.py, sorted). */
static fm_run_status micropython_tests(char *const *argv, strv *ids, char *err, size_t size)
{
    for (size_t i = 1; argv[i]; i++) {
        struct stat sb;
        if (argv[i][0] == '-' || stat(argv[i], &sb) != 0 ||
            is_runner(argv[i], FM_SUITE_MICROPYTHON))
            continue;
        if (!S_ISDIR(sb.st_mode)) {
            if (!strv_push_s(ids, argv[i]))
                return FM_RUN_ENOMEM;
            continue;
        }
        struct dirent **names = NULL;
        int n = scandir(argv[i], &names, NULL, alphasort);
        if (n < 0)
            return fail(err, size, FM_RUN_ESYSTEM, "cannot list %s: %s", argv[i], strerror(errno));
        fm_run_status st = FM_RUN_OK;
        for (int k = 0; k < n; k++) {
            size_t len = strlen(names[k]->d_name);
            if (st == FM_RUN_OK && len > 3 && strcmp(names[k]->d_name + len - 3, ".py") == 0) {
                char path[4096];
                int w = snprintf(path, sizeof path, "%s%s%s", argv[i],
                                 argv[i][strlen(argv[i]) - 1] == '/' ? "" : "/", names[k]->d_name);
                if (w < 0 || (size_t)w >= sizeof path)
                    st = fail(err, size, FM_RUN_EINVAL, "a path under %s is too long", argv[i]);
                else if (!strv_push_s(ids, path))
                    st = FM_RUN_ENOMEM;
            }
            free(names[k]);
        }
        free(names);
        if (st != FM_RUN_OK)
            return st;
    }
    return FM_RUN_OK;
}

void fm_suite_free(fm_suite *s)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        free(s->tests[i].id);
        for (size_t k = 0; s->tests[i].argv && s->tests[i].argv[k]; k++)
            free(s->tests[i].argv[k]);
        free(s->tests[i].argv);
    }
    if (s != NULL) {
        free(s->tests);
        *s = (fm_suite){0};
    }
}

fm_run_status fm_suite_discover(const fm_suite_spec *spec, fm_suite *out, char *err, size_t size)
{
    *out = (fm_suite){0};
    strv cmd = {0};
    char **ids = NULL, *text = NULL, *line = NULL, errbuf[ERR_KEEP];
    size_t n = 0;
    fm_run_status st = FM_RUN_OK;
    if (spec->kind == FM_SUITE_GENERIC ? spec->list_command == NULL || spec->each == NULL
                                       : spec->argv == NULL || spec->argv[0] == NULL)
        return fail(err, size, FM_RUN_EINVAL, "no %s command to list the tests with",
                    fm_suite_kind_name(spec->kind));
    if (spec->kind == FM_SUITE_MICROPYTHON) {
        strv v = {0};
        st = micropython_tests(spec->argv, &v, err, size);
        ids = v.v, n = v.n;
        if (st != FM_RUN_OK)
            goto out;
    } else {
        int status = 0;
        if (!list_command(spec, &cmd)) {
            st = FM_RUN_ENOMEM;
            goto out;
        }
        if ((st = capture(cmd.v, &text, errbuf, &status, err, size)) != FM_RUN_OK)
            goto out;
        line = joined(cmd.v);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char first[256];
            first_line(errbuf[0] ? errbuf : text, first, sizeof first);
            st = fail(err, size, FM_RUN_ESTART, "'%s' %s %d%s", line ? line : cmd.v[0],
                      WIFEXITED(status) ? "exited with" : "was killed by signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), first);
            goto out;
        }
        if ((st = fm_suite_parse_list(spec->kind, text, &ids, &n, err, size)) != FM_RUN_OK)
            goto out;
    }
    out->tests = calloc(n ? n : 1, sizeof *out->tests);
    if (out->tests == NULL) {
        st = FM_RUN_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (spec->filter != NULL && regexec(spec->filter, ids[i], 0, NULL, 0) != 0)
            continue;
        strv c = {0};
        if ((st = test_command(spec, ids[i], &c)) != FM_RUN_OK) {
            strv_free(&c);
            goto out;
        }
        out->tests[out->n].id = ids[i];
        out->tests[out->n].argv = c.v;
        ids[i] = NULL;
        out->n++;
    }
    if (out->n == 0)
        st = fail(err, size, FM_RUN_EINVAL, "%s lists no test%s%s", fm_suite_kind_name(spec->kind),
                  spec->filter ? " that the filter keeps" : "",
                  spec->kind == FM_SUITE_MICROPYTHON ? " (give test files or directories)" : "");
out:
    fm_suite_free_ids(ids, n);
    strv_free(&cmd);
    free(text);
    free(line);
    return st;
}
