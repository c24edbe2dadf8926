/*
 * test_plot.c - fm_plot_intervals draws through gnuplot: an SVG holds every category, every
 * series and one error bar per point; a PNG has the PNG signature and the promised size; bad
 * input (extension, no points), a missing gnuplot and a gnuplot failure all return -1 with a
 * one-line reason and leave no file (nor a temporary one) behind.
 */
#include "fm_plot.h"
#include "fm_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/fmplot-test-XXXXXX";

static const char *path_in(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    *size = fread(buf, 1, (size_t)n, f);
    buf[*size] = '\0';
    fclose(f);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Nothing but the files named in keep[] is in the folder (no "*.tmp*" leftovers). */
static int only_files(int n_keep)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq %d", dir, n_keep);
    return system(cmd) == 0;
}

static const fm_plot_point points[] = {
    {"stress_aes", "aarch64", 12.0, 10.5, 13.9}, {"stress_aes", "riscv64", 20.0, 18.0, 23.0},
    {"stress_heap", "aarch64", 6.0, 5.1, 7.2},   {"stress_heap", "riscv64", 9.0, 8.0, 10.1},
    {"it's_quoted", "aarch64", 3.0, 2.0, 4.0},   {"it's_quoted", "riscv64", 4.0, 0.0, 5.0},
};
static const size_t n_points = sizeof points / sizeof points[0];

static void test_svg(void)
{
    fm_plot_style st = {"slowdown under QEMU", "emulated / native", true, false, 1.0};
    char err[256] = "";
    const char *svg = path_in("a.svg");
    CHECK(fm_plot_intervals(svg, &st, points, n_points, err, sizeof err) == 0, "svg: %s", err);
    size_t size = 0;
    char *text = slurp(svg, &size);
    CHECK(text != NULL && size > 1000, "svg written");
    if (text == NULL)
        return;
    CHECK(strstr(text, "<svg") != NULL, "an SVG document");
    CHECK(strstr(text, "stress_aes") != NULL && strstr(text, "stress_heap") != NULL,
          "categories drawn as written (no enhanced-text subscripts)");
    CHECK(strstr(text, "aarch64") != NULL && strstr(text, "riscv64") != NULL, "series in key");
    CHECK(strstr(text, "slowdown under QEMU") != NULL, "title");
    CHECK(count(text, "stress_aes") == 1, "each category once on the axis");
    free(text);
    CHECK(only_files(1), "no temporary file left");
}

static void test_png(void)
{
    fm_plot_point one[] = {{"cpus=1", NULL, 0.0, 0.0, 0.009}, {"cpus=2", NULL, 0.9, 0.86, 0.93}};
    fm_plot_style st = {"stress_recurse", "failure probability", false, true, 0};
    char err[256] = "";
    const char *png = path_in("b.png");
    CHECK(fm_plot_intervals(png, &st, one, 2, err, sizeof err) == 0, "png: %s", err);
    size_t size = 0;
    unsigned char *b = (unsigned char *)slurp(png, &size);
    CHECK(b != NULL && size > 24, "png written");
    if (b == NULL)
        return;
    CHECK(memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature");
    uint32_t w = (uint32_t)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    uint32_t h = (uint32_t)b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    CHECK(w == 960 && h == 540, "960x540, got %ux%u", w, h);
    free(b);
}

static void test_errors(void)
{
    fm_plot_style st = {"t", "y", false, false, 0};
    char err[256] = "";
    CHECK(fm_plot_intervals(path_in("c.pdf"), &st, points, n_points, err, sizeof err) ==
              FM_PLOT_EINVAL,
          "pdf refused");
    CHECK(strstr(err, ".png or .svg") != NULL, "says which: %s", err);
    CHECK(access(path_in("c.pdf"), F_OK) != 0, "no file");
    err[0] = '\0';
    CHECK(fm_plot_intervals(path_in("d.svg"), &st, points, 0, err, sizeof err) == FM_PLOT_EINVAL &&
              strstr(err, "nothing") != NULL,
          "no points: %s", err);
    err[0] = '\0';
    CHECK(fm_plot_intervals(path_in("no/such/dir/e.svg"), &st, points, n_points, err, sizeof err) ==
              FM_PLOT_EINVAL,
          "a missing folder is refused before gnuplot runs");
    CHECK(strstr(err, "cannot create a file beside") != NULL && strchr(err, '\n') == NULL,
          "one line: %s", err);
    char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent", 1);
    err[0] = '\0';
    CHECK(fm_plot_intervals(path_in("f.svg"), &st, points, n_points, err, sizeof err) ==
              FM_PLOT_ENOGNUPLOT,
          "no gnuplot");
    CHECK(strcmp(fm_plot_strerror(FM_PLOT_ENOGNUPLOT), "gnuplot not found") == 0, "strerror");
    CHECK(strstr(err, "install gnuplot-nox") != NULL, "what to install: %s", err);
    CHECK(access(path_in("f.svg"), F_OK) != 0, "no file without gnuplot");
    if (path != NULL)
        setenv("PATH", path, 1);
    free(path);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return perror("mkdtemp"), 2;
    test_svg();
    test_png();
    test_errors();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return fm_test_report("plot");
}
