/*
 * fm_cond.c - run conditions as data: parsing "name=value", the JSON object the store keeps,
 * the short text people read, and the checks made before anything is applied (fm_cond.h).
 *
 * Invariants:
 *  - fm_cond_json is the one place the stored conditions string is made: keys in the order of
 *    fm_cond_names (all 9: cpus, pin, load, load_nice, quota, nice, emulator, launch, output;
 *    docs/store.md), only the conditions that were given, values normalised (a CPU list as
 *    "0,2-3", a quota with at most 12 significant digits), so equal conditions are equal strings.
 *  - fm_cond_check changes nothing: it reads /proc, /sys and PATH and, for a negative nice
 *    value, asks a throw-away child whether setpriority is allowed.
 * The application (cgroup, spinners, the child's part) is in fm_cond_apply.c.
 */
#include "fm_cond.h"
#include "fm_cross.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const fm_cond_names[] = {"cpus", "pin",      "load",   "load_nice", "quota",
                                     "nice", "emulator", "launch", "output",    NULL};

static const char *const launch_names[] = {"clone", "fork", "spawn", "shell"};
static const char *const output_names[] = {"pipe", "file", "null"};

const char *fm_cond_launch_name(fm_launch l)
{
    return (unsigned)l < 4 ? launch_names[l] : "?";
}

const char *fm_cond_output_name(fm_output o)
{
    return (unsigned)o < 3 ? output_names[o] : "?";
}

/* The index of value in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *value)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], value) == 0)
            return i;
    return -1;
}

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

bool fm_cond_is_name(const char *name)
{
    if (strcmp(name, "load-nice") == 0)
        return true;
    for (int i = 0; fm_cond_names[i]; i++)
        if (strcmp(name, fm_cond_names[i]) == 0)
            return true;
    return false;
}

static int parse_int(const char *name, const char *text, long lo, long hi, int *out, char *err,
                     size_t size)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        return fail(err, size, "%s: '%s' is not a whole number from %ld to %ld", name, text, lo,
                    hi);
    *out = (int)v;
    return 0;
}

/* A CPU list "0,2-3" into a set; every CPU below CPU_SETSIZE. */
static int parse_cpu_list(const char *text, cpu_set_t *set, char *err, size_t size)
{
    CPU_ZERO(set);
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0)
            break;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a)
                break;
            p = end;
        }
        if (b >= CPU_SETSIZE)
            return fail(err, size, "pin: CPU %ld is out of range (below %d)", b, CPU_SETSIZE);
        for (long c = a; c <= b; c++)
            CPU_SET((int)c, set);
        if (*p == ',' && p[1] != '\0')
            p++;
        else if (*p != '\0')
            break;
    }
    if (*p != '\0' || CPU_COUNT(set) == 0)
        return fail(err, size, "pin: '%s' is not a CPU list such as 0 or 0,2-3", text);
    return 0;
}

/* A set as "0,2-3". */
static void format_cpu_list(const cpu_set_t *set, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && len < size; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int d = c;
        while (d + 1 < CPU_SETSIZE && CPU_ISSET(d + 1, set))
            d++;
        len += (size_t)snprintf(buf + len, size - len, d > c ? "%s%d-%d" : "%s%d", len ? "," : "",
                                c, d);
        c = d;
    }
}

static int set_emulator(fm_cond *c, const char *value, char *err, size_t size)
{
    size_t n = strlen(value);
    if (n == 0 || n >= sizeof c->emulator ||
        strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return fail(err, size, "emulator: '%s' is not an architecture name such as aarch64", value);
    memcpy(c->emulator, value, n + 1);
    c->have_emulator = true;
    return 0;
}

static int set_one(fm_cond *c, const char *name, const char *value, char *err, size_t size)
{
    if (strcmp(name, "cpus") == 0) {
        c->have_cpus = true;
        return parse_int("cpus", value, 1, CPU_SETSIZE, &c->cpus, err, size);
    }
    if (strcmp(name, "pin") == 0) {
        cpu_set_t set;
        if (parse_cpu_list(value, &set, err, size) != 0)
            return -1;
        format_cpu_list(&set, c->pin, sizeof c->pin);
        c->have_pin = true;
        return 0;
    }
    if (strcmp(name, "load") == 0) {
        c->have_load = true;
        return parse_int("load", value, 0, 1024, &c->load, err, size);
    }
    if (strcmp(name, "load_nice") == 0 || strcmp(name, "load-nice") == 0) {
        c->have_load_nice = true;
        return parse_int("load_nice", value, -20, 19, &c->load_nice, err, size);
    }
    if (strcmp(name, "nice") == 0) {
        c->have_nice = true;
        return parse_int("nice", value, -20, 19, &c->nice, err, size);
    }
    if (strcmp(name, "quota") == 0) {
        char *end;
        errno = 0;
        double q = strtod(value, &end);
        if (value[0] == '\0' || *end != '\0' || !(q >= 0.01 && q <= 1024))
            return fail(err, size,
                        "quota: '%s' is not a CPU share from 0.01 to 1024 (0.5 = half a CPU)",
                        value);
        c->quota = q;
        c->have_quota = true;
        return 0;
    }
    if (strcmp(name, "emulator") == 0)
        return set_emulator(c, value, err, size);
    if (strcmp(name, "launch") == 0) {
        int i = name_index(launch_names, 4, value);
        if (i < 0)
            return fail(err, size, "launch: '%s' is not clone, fork, spawn or shell", value);
        c->launch = (fm_launch)i;
        c->have_launch = true;
        return 0;
    }
    if (strcmp(name, "output") == 0) {
        int i = name_index(output_names, 3, value);
        if (i < 0)
            return fail(err, size, "output: '%s' is not pipe, file or null", value);
        c->output = (fm_output)i;
        c->have_output = true;
        return 0;
    }
    return fail(err, size,
                "'%s' is not a run condition (cpus, pin, load, load_nice, quota, nice, "
                "emulator, launch, output)",
                name);
}

fm_run_status fm_cond_set(fm_cond *c, const char *name, const char *value, char *err, size_t size)
{
    return set_one(c, name, value, err, size) == 0 ? FM_RUN_OK : FM_RUN_EINVAL;
}

/* ---- the stored object and its text --------------------------------------------------------- */

static json_t *cond_object(const fm_cond *c)
{
    json_t *o = json_object();
    if (c->have_cpus)
        json_object_set_new(o, "cpus", json_integer(c->cpus));
    if (c->have_pin)
        json_object_set_new(o, "pin", json_string(c->pin));
    if (c->have_load)
        json_object_set_new(o, "load", json_integer(c->load));
    if (c->have_load_nice)
        json_object_set_new(o, "load_nice", json_integer(c->load_nice));
    if (c->have_quota)
        json_object_set_new(o, "quota", json_real(c->quota));
    if (c->have_nice)
        json_object_set_new(o, "nice", json_integer(c->nice));
    if (c->have_emulator)
        json_object_set_new(o, "emulator", json_string(c->emulator));
    if (c->have_launch)
        json_object_set_new(o, "launch", json_string(fm_cond_launch_name(c->launch)));
    if (c->have_output)
        json_object_set_new(o, "output", json_string(fm_cond_output_name(c->output)));
    return o;
}

char *fm_cond_json(const fm_cond *c)
{
    return fm_cond_json_extra(c, NULL, NULL);
}

char *fm_cond_json_extra(const fm_cond *c, const char *key, const char *value)
{
    json_t *o = cond_object(c);
    if (key != NULL && value != NULL)
        json_object_set_new(o, key, json_string(value));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(o);
    return text;
}

/* "name=value ..." of a JSON object's members, in their order. */
static const char *describe_object(json_t *o, char *buf, size_t size)
{
    size_t len = 0;
    const char *key;
    json_t *v;
    buf[0] = '\0';
    json_object_foreach(o, key, v)
    {
        if (len >= size)
            break;
        const char *sep = len ? " " : "";
        if (json_is_string(v))
            len +=
                (size_t)snprintf(buf + len, size - len, "%s%s=%s", sep, key, json_string_value(v));
        else if (json_is_integer(v))
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%lld", sep, key,
                                    (long long)json_integer_value(v));
        else if (json_is_number(v))
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%.12g", sep, key,
                                    json_number_value(v));
    }
    return buf;
}

int fm_cond_cpu_limit(const fm_cond_rt *rt)
{
    const fm_cond *c = rt->cond;
    int limit = c->have_cpus || c->have_pin ? CPU_COUNT(&rt->mask) : 0;
    if (c->have_quota) {
        int q = (int)ceil(c->quota - 1e-9);
        q = q < 1 ? 1 : q;
        limit = limit == 0 || q < limit ? q : limit;
    }
    return limit;
}

int fm_cond_fit_jobs(const fm_cond_rt *rt, int jobs, bool allow, char *note, size_t note_size)
{
    int limit = fm_cond_cpu_limit(rt);
    char what[256];
    if (note_size > 0)
        note[0] = '\0';
    if (limit <= 0 || jobs <= limit)
        return jobs;
    fm_cond_describe(rt->cond, what, sizeof what);
    if (allow) {
        snprintf(note, note_size,
                 "-j %d kept for %s (--allow-oversubscribe): attempts share fewer CPUs than they "
                 "are many and measure preemption",
                 jobs, what);
        return jobs;
    }
    snprintf(note, note_size,
             "-j lowered to %d for %s: %d attempts on %d CPU%s measure preemption, not placement; "
             "--allow-oversubscribe to keep it",
             limit, what, jobs, limit, limit == 1 ? "" : "s");
    return limit;
}

const char *fm_cond_describe(const fm_cond *c, char *buf, size_t size)
{
    json_t *o = cond_object(c);
    describe_object(o, buf, size);
    json_decref(o);
    return buf;
}

const char *fm_cond_describe_json(const char *text, char *buf, size_t size)
{
    buf[0] = '\0';
    json_t *o = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (json_is_object(o))
        describe_object(o, buf, size);
    json_decref(o);
    return buf;
}

/* ---- checks --------------------------------------------------------------------------------- */

static int check_cpus(const fm_cond *c, fm_cond_rt *rt, char *err, size_t size)
{
    cpu_set_t allowed;
    char have[256];
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return fail(err, size, "cannot read this process's CPUs: %s", strerror(errno));
    format_cpu_list(&allowed, have, sizeof have);
    if (c->have_cpus && c->have_pin)
        return fail(err, size, "cpus and pin exclude each other: give one");
    CPU_ZERO(&rt->mask);
    if (c->have_cpus) {
        if (c->cpus > CPU_COUNT(&allowed))
            return fail(err, size, "cpus=%d: only %d CPU%s available here (%s)", c->cpus,
                        CPU_COUNT(&allowed), CPU_COUNT(&allowed) == 1 ? " is" : "s are", have);
        for (int cpu = 0, n = 0; cpu < CPU_SETSIZE && n < c->cpus; cpu++)
            if (CPU_ISSET(cpu, &allowed)) {
                CPU_SET(cpu, &rt->mask);
                n++;
            }
    }
    if (c->have_pin) {
        char e2[64];
        if (parse_cpu_list(c->pin, &rt->mask, e2, sizeof e2) != 0)
            return fail(err, size, "%s", e2);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &rt->mask) && !CPU_ISSET(cpu, &allowed))
                return fail(err, size, "pin=%s: CPU %d is not available here (%s)", c->pin, cpu,
                            have);
    }
    return 0;
}

/* May this process's children take nice value `nice`?  (Raising priority needs privilege.) */
static int check_nice(const char *name, int nice, char *err, size_t size)
{
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (nice >= now || errno != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0)
        _exit(setpriority(PRIO_PROCESS, 0, nice) == 0 ? 0 : 1);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail(err, size,
                    "%s=%d: not permitted to raise the priority above nice %d "
                    "(needs CAP_SYS_NICE or RLIMIT_NICE)",
                    name, nice, now);
    return 0;
}

static int check_emulator(const fm_cond *c, const char *source_root, fm_cond_rt *rt, char *err,
                          size_t size)
{
    const fm_cross_arch *arch = fm_cross_find(c->emulator);
    char why[4600];
    if (arch == NULL)
        return fail(err, size,
                    "emulator=%s: not an emulated architecture (aarch64, armhf, armel, "
                    "riscv64, mipsel, mips)",
                    c->emulator);
    if (fm_cross_locate(arch, fm_cross_dir(source_root), rt->qemu, sizeof rt->qemu,
                        rt->cross_stress, sizeof rt->cross_stress, why, sizeof why) != 0)
        return fail(err, size, "emulator=%s: %s", c->emulator, why);
    return 0;
}

int fm_cgroup_check(fm_cond_rt *rt, char *err, size_t size); /* fm_cond_apply.c */

static int check_all(const fm_cond *c, const char *source_root, fm_cond_rt *rt, char *err,
                     size_t size)
{
    memset(rt, 0, sizeof *rt);
    rt->cond = c;
    rt->procs_fd = -1;
    if (check_cpus(c, rt, err, size) != 0)
        return -1;
    if (c->have_nice && check_nice("nice", c->nice, err, size) != 0)
        return -1;
    if (c->have_load_nice && c->have_load && c->load > 0 &&
        check_nice("load_nice", c->load_nice, err, size) != 0)
        return -1;
    if (c->have_emulator && check_emulator(c, source_root, rt, err, size) != 0)
        return -1;
    if (c->have_quota && fm_cgroup_check(rt, err, size) != 0)
        return -1;
    if (c->launch == FM_LAUNCH_SHELL && c->workload && !c->have_emulator)
        return fail(err, size,
                    "launch=shell runs a command through /bin/sh -c; a built-in workload is "
                    "forked (run it as '-- fm-stress NAME ...' to start it through a shell)");
    if (c->output == FM_OUTPUT_NULL && c->output_needed)
        return fail(err, size,
                    "output=null keeps no output, which --fail-regex, --ignore-regex, "
                    "--fail-if-output and --keep-output read (use output=pipe or file)");
    rt->per_run = c->have_cpus || c->have_pin || c->have_nice || c->have_quota;
    return 0;
}

fm_run_status fm_cond_check(const fm_cond *c, const char *source_root, fm_cond_rt *rt, char *err,
                            size_t size)
{
    return check_all(c, source_root, rt, err, size) == 0 ? FM_RUN_OK : FM_RUN_EUNAVAILABLE;
}
