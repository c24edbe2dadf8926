/*
 * wl_expect.c - runs fm-stress as a separate process, COUNT times, and checks every outcome.
 *
 *   wl_expect [--has TOKEN]... [--env NAME=VALUE]... MODE COUNT FM_STRESS [ARGS...]
 *
 * MODE is what each run must do:
 *   pass          exit 0, one stdout line "NAME PASS ..."
 *   fail          exit 1, one stdout line "NAME FAIL ... -- reason"
 *   segv          killed by SIGSEGV (a crash stays a crash)
 *   usage:A,B     exit 2, nothing on stdout, exactly one stderr line containing A and B
 *   list          exit 0, stdout contains every TOKEN given with --has (and nothing on stderr)
 *   some-segv     a run killed by SIGSEGV within COUNT runs; the runs before it pass
 *   some-fail     a run that fails (exit 1) within COUNT runs; the runs before it pass
 *   pass-or-segv  every run passes or is killed by SIGSEGV (nothing else: no hang, no FAIL)
 * --has TOKEN requires the token in stdout of every run the mode looks at (e.g. blocks=6270);
 * in the some-* modes only in the run that fails.
 * Each run is a fresh process, as the flakemeter runner does it.  Exit 0 when all checks hold;
 * otherwise the first broken check is printed and the exit status is 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HAS 16
#define OUT_MAX 65536

struct outcome {
    int status; /* from waitpid */
    char out[OUT_MAX], err[OUT_MAX];
};

struct plan {
    const char *mode;
    long count;
    const char *has[MAX_HAS];
    int n_has;
    char **argv; /* fm-stress and its arguments */
};

static void slurp(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
}

/* Run argv once with stdout and stderr captured. */
static int run_once(char **argv, struct outcome *o)
{
    FILE *out = tmpfile(), *err = tmpfile();
    int rc = -1;
    if (out == NULL || err == NULL)
        goto done;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        goto done;
    if (pid == 0) {
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &o->status, 0) != pid)
        goto done;
    slurp(out, o->out, sizeof o->out);
    slurp(err, o->err, sizeof o->err);
    rc = 0;
done:
    if (out)
        fclose(out);
    if (err)
        fclose(err);
    return rc;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int exited(const struct outcome *o, int code)
{
    return WIFEXITED(o->status) && WEXITSTATUS(o->status) == code;
}

static int segv(const struct outcome *o)
{
    return WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGSEGV;
}

/* One result line "NAME WORD ..." with every --has token. */
static const char *check_line(const struct plan *p, const struct outcome *o, const char *word,
                              int use_has)
{
    static char why[256];
    char head[128];
    snprintf(head, sizeof head, "%s %s ", p->argv[1], word);
    if (count_lines(o->out) != 1 || strncmp(o->out, head, strlen(head)) != 0) {
        snprintf(why, sizeof why, "expected one line starting '%s'", head);
        return why;
    }
    for (int i = 0; use_has && i < p->n_has; i++) {
        if (strstr(o->out, p->has[i]) == NULL) {
            snprintf(why, sizeof why, "result line lacks '%s'", p->has[i]);
            return why;
        }
    }
    return NULL;
}

/* In the some-* and pass-or-segv modes, --has applies to the runs looked for, not passes. */
static const char *check_pass(const struct plan *p, const struct outcome *o, int use_has)
{
    return exited(o, 0) ? check_line(p, o, "PASS", use_has) : "expected exit status 0 (pass)";
}

static const char *check_fail(const struct plan *p, const struct outcome *o)
{
    if (!exited(o, 1))
        return "expected exit status 1 (failed check)";
    const char *why = check_line(p, o, "FAIL", 1);
    return why ? why : (strstr(o->out, " -- ") ? NULL : "FAIL line has no ' -- reason'");
}

/* usage:A,B - exit 2, empty stdout, one stderr line containing each comma-separated part. */
static const char *check_usage(const char *spec, const struct outcome *o)
{
    static char why[256];
    if (!exited(o, 2))
        return "expected exit status 2 (bad arguments)";
    if (o->out[0] != '\0')
        return "expected nothing on stdout";
    if (count_lines(o->err) != 1)
        return "expected exactly one line on stderr";
    char parts[256];
    snprintf(parts, sizeof parts, "%s", spec);
    char *save = NULL;
    for (char *w = strtok_r(parts, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (strstr(o->err, w) == NULL) {
            snprintf(why, sizeof why, "stderr line lacks '%s'", w);
            return why;
        }
    }
    return NULL;
}

static const char *check_list(const struct plan *p, const struct outcome *o)
{
    static char why[256];
    if (!exited(o, 0) || o->err[0] != '\0')
        return "expected exit status 0 and an empty stderr";
    for (int i = 0; i < p->n_has; i++) {
        if (strstr(o->out, p->has[i]) == NULL) {
            snprintf(why, sizeof why, "output lacks '%s'", p->has[i]);
            return why;
        }
    }
    return NULL;
}

/* Check one outcome against the mode; *hit counts the runs a some-* mode looks for. */
static const char *check(const struct plan *p, const struct outcome *o, long *hit)
{
    const char *m = p->mode;
    if (strcmp(m, "pass") == 0)
        return check_pass(p, o, 1);
    if (strcmp(m, "fail") == 0)
        return check_fail(p, o);
    if (strcmp(m, "segv") == 0)
        return segv(o) ? NULL : "expected death by SIGSEGV";
    if (strncmp(m, "usage:", 6) == 0)
        return check_usage(m + 6, o);
    if (strcmp(m, "list") == 0)
        return check_list(p, o);
    if (strcmp(m, "pass-or-segv") == 0)
        return segv(o) ? (++*hit, NULL) : check_pass(p, o, 0);
    if (strcmp(m, "some-segv") == 0 && segv(o))
        return (++*hit, NULL);
    if (strcmp(m, "some-fail") == 0 && exited(o, 1))
        return (++*hit, check_fail(p, o));
    if (strncmp(m, "some-", 5) == 0)
        return check_pass(p, o, 0);
    return "unknown mode";
}

static void report(const struct plan *p, long run, const char *why, const struct outcome *o)
{
    fprintf(stderr, "wl_expect: run %ld of %ld:", run + 1, p->count);
    for (char **a = p->argv; *a; a++)
        fprintf(stderr, " %s", *a);
    fprintf(stderr, "\n  %s\n  status 0x%x\n  stdout: %s\n  stderr: %s\n", why, o->status, o->out,
            o->err);
}

static int parse(int argc, char **argv, struct plan *p)
{
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--has") == 0 && p->n_has < MAX_HAS)
            p->has[p->n_has++] = argv[i + 1];
        else if (strcmp(argv[i], "--env") == 0)
            putenv(argv[i + 1]);
        else
            return -1;
    }
    if (argc - i < 3)
        return -1;
    p->mode = argv[i];
    p->count = strtol(argv[i + 1], NULL, 10);
    p->argv = argv + i + 2;
    return p->count > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct outcome o;
    struct plan p = {.n_has = 0};
    long hit = 0;
    if (parse(argc, argv, &p) != 0) {
        fputs("usage: wl_expect [--has TOKEN]... [--env NAME=VALUE]... MODE COUNT FM_STRESS "
              "[ARGS...]\n",
              stderr);
        return 2;
    }
    long runs = 0;
    int some = strncmp(p.mode, "some-", 5) == 0;
    for (; runs < p.count && !(some && hit); runs++) {
        const char *why = run_once(p.argv, &o) ? "cannot run the program" : check(&p, &o, &hit);
        if (why) {
            report(&p, runs, why, &o);
            return 1;
        }
    }
    if (some && hit == 0) {
        fprintf(stderr, "wl_expect: %s: none of %ld runs did\n", p.mode, p.count);
        return 1;
    }
    printf("wl_expect: %ld runs as expected (%s)\n", runs, p.mode);
    if (some || strcmp(p.mode, "pass-or-segv") == 0)
        printf("wl_expect: %ld of %ld runs hit (crashed or failed)\n", hit, runs);
    return 0;
}
