/*
 * cli_io.c - the Unix conventions every command shares for files and names: "-" is standard
 * input or output, a file the tool writes appears whole (a temporary file beside it renamed over
 * it) with the mode open(2) would give it (0666 & ~umask), and an unknown workload name gets a
 * "did you mean" from libfmwl's registry.
 */
#include "fm_cli.h"
#include "fm_plot.h"
#include "fm_wl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fm_cli_is_stdio(const char *path)
{
    return path != NULL && strcmp(path, "-") == 0;
}

/* 0666 & ~umask: umask can only be read by setting it, so set it back at once. */
static mode_t creation_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

int fm_cli_output_open(fm_cli_output *out, const char *opt, const char *path)
{
    *out = (fm_cli_output){.path = path, .opt = opt};
    if (fm_cli_is_stdio(path)) {
        out->f = stdout;
        return 0;
    }
    size_t len = strlen(path) + sizeof ".tmp-XXXXXX";
    out->temp = malloc(len);
    if (out->temp == NULL)
        return fm_cli_fail("out of memory");
    snprintf(out->temp, len, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(out->temp); /* 0600: made readable as a created file would be, below */
    int err = errno;
    if (fd >= 0 && fchmod(fd, creation_mode()) != 0)
        err = errno, close(fd), unlink(out->temp), fd = -1;
    out->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (out->f == NULL) {
        if (fd >= 0)
            err = errno, close(fd), unlink(out->temp);
        free(out->temp);
        out->temp = NULL;
        /* A directory that does not exist or cannot be written: the path given is wrong. */
        int rc = err == ENOENT || err == ENOTDIR || err == EACCES || err == EROFS ? FM_EXIT_USAGE
                                                                                  : FM_EXIT_FAIL;
        (rc == FM_EXIT_USAGE ? fm_cli_usage_error : fm_cli_fail)(
            "%s: cannot create a file beside '%s': %s", opt, path, strerror(err));
        return rc;
    }
    return 0;
}

int fm_cli_output_close(fm_cli_output *out, bool failed)
{
    int rc = 0;
    if (out->f == stdout) /* fm_cli_finish flushes and reports stdout */
        return 0;
    if (out->f == NULL)
        return 0;
    if (fclose(out->f) != 0 && !failed)
        rc = fm_cli_fail("%s: cannot write '%s': %s", out->opt, out->path, strerror(errno));
    if (!failed && rc == 0 && rename(out->temp, out->path) != 0)
        rc = fm_cli_fail("%s: cannot write '%s': %s", out->opt, out->path, strerror(errno));
    if (failed || rc != 0)
        unlink(out->temp);
    free(out->temp);
    out->temp = NULL;
    out->f = NULL;
    return rc;
}

int fm_cli_unknown_workload(const char *name, bool command_hint)
{
    size_t n = fm_wl_count();
    const char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; names != NULL && i < n; i++)
        names[i] = fm_wl_at(i)->name;
    const char *near = names != NULL ? fm_cli_suggest(name, names, n) : NULL;
    char mean[96] = "";
    if (near != NULL)
        snprintf(mean, sizeof mean, "; did you mean '%s'?", near);
    free(names);
    return fm_cli_usage_error("unknown workload '%s'%s (see 'flakemeter list'%s)", name, mean,
                              command_hint ? "; a command goes after '--'" : "");
}

int fm_cli_check_plot(const char *path)
{
    if (path == NULL)
        return 0;
    if (fm_cli_is_stdio(path))
        return fm_cli_usage_error("--plot: a picture does not go to standard output (it has the "
                                  "text); give a FILE.png or FILE.svg");
    char err[512];
    fm_plot_status st = fm_plot_check(path, err, sizeof err);
    if (st == FM_PLOT_OK)
        return 0;
    if (st == FM_PLOT_EINVAL)
        return fm_cli_usage_error("--plot: %s", err);
    return fm_cli_fail("--plot: %s", err); /* gnuplot missing: this machine, not the input */
}

int fm_cli_start_error(int err, const char *message)
{
    switch (err) {
    case ENOENT:
    case EACCES:
    case ENOEXEC:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case EPERM:
        return fm_cli_usage_error("%s", message); /* the command named is wrong */
    default:
        return fm_cli_fail("%s", message); /* a limit of this machine: not the input */
    }
}
