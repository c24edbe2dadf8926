/*
 * cli_io.c - the Unix conventions every command shares for files and names: "-" is standard
 * input or output, a file the tool writes appears whole (a temporary file beside it renamed over
 * it, by common/fm_target.h's rule: devices, FIFOs and terminals are written directly, links
 * written through and kept) with the mode open(2) would give it (0666 & ~umask), and an
 * unknown workload name gets a "did you mean" from libfmwl's registry.
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

int fm_cli_output_open(fm_cli_output *out, const char *opt, const char *path)
{
    *out = (fm_cli_output){.path = path, .opt = opt, .target = {.fd = -1}};
    if (fm_cli_is_stdio(path)) {
        out->f = stdout;
        return 0;
    }
    char err[512];
    fm_target_status st = fm_target_open(&out->target, path, 0, err, sizeof err);
    if (st == FM_TARGET_EINVAL)
        return fm_cli_usage_error("%s: %s", opt, err);
    if (st != FM_TARGET_OK)
        return fm_cli_fail("%s: %s", opt, err);
    out->f = fdopen(out->target.fd, "w");
    if (out->f == NULL) {
        int e = errno;
        fm_target_discard(&out->target);
        return fm_cli_fail("%s: cannot write '%s': %s", opt, path, strerror(e));
    }
    return 0;
}

int fm_cli_output_close(fm_cli_output *out, bool failed)
{
    int rc = 0;
    if (out->f == stdout || out->f == NULL) /* fm_cli_finish flushes and reports stdout */
        return 0;
    if (fclose(out->f) != 0 && !failed)
        rc = fm_cli_fail("%s: cannot write '%s': %s", out->opt, out->path, strerror(errno));
    out->f = NULL;
    out->target.fd = -1; /* fclose closed it */
    char err[512];
    if (failed || rc != 0)
        fm_target_discard(&out->target);
    else if (fm_target_commit(&out->target, err, sizeof err) != FM_TARGET_OK)
        rc = fm_cli_fail("%s: %s", out->opt, err);
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
