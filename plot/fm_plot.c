/*
 * fm_plot.c - interval plots drawn by gnuplot, run as a program (fm_plot.h).
 *
 * The plot is written as a gnuplot script into a private temporary folder, gnuplot runs it with
 * its stderr captured there too, and the picture is written beside the target and renamed over
 * it only when gnuplot succeeded: a failed plot never leaves a half-written file at the path
 * (common/fm_target.h: a link is written through and kept, a device or FIFO written directly).
 *
 * Layout: categories keep their order of first appearance along x at 0, 1, 2...; with S
 * series, series s sits at x + (s - (S-1)/2) * 0.6/S so that the bars of one category stand
 * side by side and never overlap.  Each series is one gnuplot datablock drawn "with yerrorbars".
 * Text reaches gnuplot only inside single-quoted strings (where '' is a quote) with enhanced
 * text off, so labels such as "stress_aes" or "p=0.1" are drawn as written.
 */
#include "fm_plot.h"
#include "fm_target.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static fm_plot_status fail(fm_plot_status st, char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static fm_plot_status fail(fm_plot_status st, char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return st;
}

/* Write s as a gnuplot single-quoted string. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s != NULL && *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('\'', f);
}

static const char *nonnull(const char *s)
{
    return s != NULL ? s : "";
}

/* Index of s in names[0..n), adding it when absent. */
static size_t intern(const char **names, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    names[*n] = s;
    return (*n)++;
}

typedef struct {
    const char **cats, **series;
    size_t n_cats, n_series, longest_cat;
} layout;

static int make_layout(const fm_plot_point *p, size_t n, layout *l)
{
    l->cats = calloc(n, sizeof *l->cats);
    l->series = calloc(n, sizeof *l->series);
    if (l->cats == NULL || l->series == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *c = nonnull(p[i].category);
        intern(l->cats, &l->n_cats, c);
        intern(l->series, &l->n_series, nonnull(p[i].series));
        if (strlen(c) > l->longest_cat)
            l->longest_cat = strlen(c);
    }
    return 0;
}

static double shown(const fm_plot_style *st, double v)
{
    return st->percent ? 100.0 * v : v;
}

static void write_axes(FILE *f, const fm_plot_style *st, const layout *l)
{
    fputs("set termoption noenhanced\nset title ", f);
    put_quoted(f, nonnull(st->title));
    fputs("\nset ylabel ", f);
    put_quoted(f, nonnull(st->ylabel));
    fprintf(f, "\nset grid ytics\nset border 3\nset tics nomirror\nset xrange [-0.6:%g]\n",
            (double)l->n_cats - 0.4);
    fputs("set xtics (", f);
    for (size_t i = 0; i < l->n_cats; i++) {
        fputs(i ? ", " : "", f);
        put_quoted(f, l->cats[i]);
        fprintf(f, " %zu", i);
    }
    fputs(")\n", f);
    if (l->n_cats * (l->longest_cat + 2) > 90)
        fputs("set xtics rotate by -30 left\n", f);
    if (st->log_y)
        fputs("set logscale y\n", f);
    else if (st->percent)
        fputs("set yrange [0:*]\n", f);
    if (st->percent)
        fputs("set format y '%g%%'\n", f);
    if (st->y_reference > 0)
        fprintf(f, "set arrow from graph 0, first %.17g to graph 1, first %.17g nohead dt 2\n",
                shown(st, st->y_reference), shown(st, st->y_reference));
    if (l->n_series > 1 || *l->series[0] != '\0')
        fputs("set key outside bottom center horizontal\n", f);
    else
        fputs("unset key\n", f);
}

/* One datablock per series: x, estimate, lower, upper. */
static void write_data(FILE *f, const fm_plot_style *st, const fm_plot_point *p, size_t n,
                       const layout *l)
{
    double width = 0.6 / (double)l->n_series;
    for (size_t s = 0; s < l->n_series; s++) {
        fprintf(f, "$s%zu << EOD\n", s);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(nonnull(p[i].series), l->series[s]) != 0)
                continue;
            size_t c = 0;
            while (strcmp(l->cats[c], nonnull(p[i].category)) != 0)
                c++;
            double x = (double)c + ((double)s - ((double)l->n_series - 1) / 2) * width;
            double lo = p[i].lower, hi = p[i].upper;
            if (st->log_y && !(lo > 0)) /* a zero lower bound has no place on a log axis */
                lo = p[i].estimate > 0 ? p[i].estimate / 1e3 : NAN;
            fprintf(f, "%.6f %.17g %.17g %.17g\n", x, shown(st, p[i].estimate), shown(st, lo),
                    shown(st, hi));
        }
        fputs("EOD\n", f);
    }
    fputs("plot ", f);
    for (size_t s = 0; s < l->n_series; s++) {
        fprintf(f, "%s$s%zu using 1:2:3:4 with yerrorbars pt 7 ps 1.2 lw 1.5 title ", s ? ", " : "",
                s);
        put_quoted(f, l->series[s]);
    }
    fputc('\n', f);
}

static const char *terminal_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return NULL;
    if (strcmp(dot, ".png") == 0)
        return "pngcairo size 960,540 font 'sans,10'";
    if (strcmp(dot, ".svg") == 0)
        return "svg size 960,540 font 'sans,10' background '#ffffff'";
    return NULL;
}

/* The first line of gnuplot's stderr that says what went wrong. */
static void first_error_line(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    char line[512], last[512] = "";
    out[0] = '\0';
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "rror") != NULL || strstr(line, "annot") != NULL) {
            snprintf(out, size, "%s", line);
            break;
        }
        if (*line != '\0' && strspn(line, " ^") != strlen(line))
            snprintf(last, sizeof last, "%s", line);
    }
    if (*out == '\0')
        snprintf(out, size, "%s", last);
    if (f != NULL)
        fclose(f);
}

/* Run gnuplot on script with stderr to errpath; FM_PLOT_OK when it exited 0. */
static fm_plot_status run_gnuplot(const char *script, const char *errpath, char *err, size_t size)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *argv[] = {"gnuplot", (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT)
        return fail(FM_PLOT_ENOGNUPLOT, err, size,
                    "gnuplot not found: install gnuplot-nox (Debian) to draw plots");
    if (rc != 0)
        return fail(FM_PLOT_ESYSTEM, err, size, "cannot start gnuplot: %s", strerror(rc));
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR)
            return fail(FM_PLOT_ESYSTEM, err, size, "cannot wait for gnuplot: %s", strerror(errno));
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
        return 0;
    char line[400];
    first_error_line(errpath, line, sizeof line);
    return fail(FM_PLOT_EGNUPLOT, err, size, "gnuplot failed: %s", *line ? line : "no message");
}

fm_plot_status fm_plot_intervals(const char *path, const fm_plot_style *style,
                                 const fm_plot_point *points, size_t n_points, char *err,
                                 size_t err_size)
{
    const char *terminal = path != NULL ? terminal_for(path) : NULL;
    if (terminal == NULL)
        return fail(FM_PLOT_EINVAL, err, err_size, "plot file '%s' must end in .png or .svg",
                    nonnull(path));
    if (n_points == 0)
        return fail(FM_PLOT_EINVAL, err, err_size, "nothing to plot");
    char dir[] = "/tmp/fmplot-XXXXXX", script[64], errpath[64];
    layout l = {0};
    fm_target target = {.fd = -1};
    fm_plot_status ret = FM_PLOT_ESYSTEM;
    if (make_layout(points, n_points, &l) != 0) {
        ret = fail(FM_PLOT_ENOMEM, err, err_size, "out of memory");
        goto out;
    }
    /* The picture's file by common/fm_target.h's rule; gnuplot writes it by name. */
    fm_target_status ts = fm_target_open(&target, path, 0, err, err_size);
    if (ts != FM_TARGET_OK) {
        ret = ts == FM_TARGET_EINVAL   ? FM_PLOT_EINVAL
              : ts == FM_TARGET_ENOMEM ? FM_PLOT_ENOMEM
                                       : FM_PLOT_ESYSTEM;
        goto out;
    }
    close(target.fd);
    target.fd = -1;
    if (mkdtemp(dir) == NULL) {
        ret = fail(FM_PLOT_ESYSTEM, err, err_size, "cannot make a temporary folder: %s",
                   strerror(errno));
        goto out;
    }
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    FILE *f = fopen(script, "w");
    if (f == NULL) {
        ret = fail(FM_PLOT_ESYSTEM, err, err_size, "cannot write the plot script: %s",
                   strerror(errno));
        goto out_dir;
    }
    fprintf(f, "set terminal %s\nset output ", terminal);
    put_quoted(f, fm_target_path(&target));
    fputc('\n', f);
    write_axes(f, style, &l);
    write_data(f, style, points, n_points, &l);
    fputs("set output\n", f);
    if (fclose(f) != 0) {
        ret = fail(FM_PLOT_ESYSTEM, err, err_size, "cannot write the plot script: %s",
                   strerror(errno));
        goto out_dir;
    }
    ret = run_gnuplot(script, errpath, err, err_size);
    if (ret == FM_PLOT_OK && fm_target_commit(&target, err, err_size) != FM_TARGET_OK)
        ret = FM_PLOT_ESYSTEM;
out_dir:
    unlink(script);
    unlink(errpath);
    rmdir(dir);
out:
    fm_target_discard(&target); /* a failed plot: the temporary picture removed */
    free(l.cats);
    free(l.series);
    return ret;
}

/* gnuplot as posix_spawnp would find it: an executable "gnuplot" in a PATH directory. */
static bool gnuplot_on_path(void)
{
    const char *path = getenv("PATH");
    if (path == NULL || *path == '\0')
        path = "/bin:/usr/bin";
    char file[4096];
    for (const char *p = path; *p != '\0';) {
        size_t len = strcspn(p, ":");
        snprintf(file, sizeof file, "%.*s/gnuplot", len > 0 ? (int)len : 1, len > 0 ? p : ".");
        if (access(file, X_OK) == 0)
            return true;
        p += len + (p[len] == ':');
    }
    return false;
}

fm_plot_status fm_plot_check(const char *path, char *err, size_t err_size)
{
    if (path == NULL || terminal_for(path) == NULL)
        return fail(FM_PLOT_EINVAL, err, err_size, "plot file '%s' must end in .png or .svg",
                    nonnull(path));
    size_t len = strlen(path);
    char *dir = malloc(len + 2);
    if (dir == NULL)
        return fail(FM_PLOT_ENOMEM, err, err_size, "out of memory");
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        snprintf(dir, len + 2, "%.*s", (int)(slash - path), path);
    struct stat sb;
    fm_plot_status ret = FM_PLOT_OK;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        ret = fail(FM_PLOT_EINVAL, err, err_size, "cannot write '%s': no folder '%s'", path, dir);
    else if (access(dir, W_OK) != 0)
        ret = fail(FM_PLOT_EINVAL, err, err_size, "cannot write '%s': folder '%s': %s", path, dir,
                   strerror(errno));
    else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        ret = fail(FM_PLOT_EINVAL, err, err_size, "cannot write '%s': it is a folder", path);
    else if (!gnuplot_on_path())
        ret = fail(FM_PLOT_ENOGNUPLOT, err, err_size,
                   "gnuplot not found: install gnuplot-nox (Debian) to draw plots");
    free(dir);
    return ret;
}

const char *fm_plot_strerror(fm_plot_status status)
{
    switch (status) {
    case FM_PLOT_OK:
        return "success";
    case FM_PLOT_EINVAL:
        return "invalid argument";
    case FM_PLOT_ENOGNUPLOT:
        return "gnuplot not found";
    case FM_PLOT_EGNUPLOT:
        return "gnuplot failed";
    case FM_PLOT_ESYSTEM:
        return "system call failed";
    case FM_PLOT_ENOMEM:
        return "out of memory";
    }
    return "unknown status";
}
