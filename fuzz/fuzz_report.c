/*
 * fuzz_report.c - one reader of history/fm_hist_report*.c (TAP, go test -json, MicroPython, CTest,
 * pytest, Wine) on arbitrary bytes; built once per reader with -DFUZZ_FORMATS="A, B" (byte 0
 * of the input picks among them when there are two, e.g. CTest's console and LastTest.log).
 * Also runs detection on the same bytes.  Checks beyond "no crash, no leak, no UB": every
 * attempt has a non-empty test name and one outcome; an accepted report's attempts add up and
 * all its bytes were read; a refusal is one line.
 */
#include "fm_hist_report.h"
#include "fuzz_util.h"

#include <assert.h>

static int on_case(void *ctx, const fm_junit_case *c)
{
    size_t *n = ctx;
    assert(c->test != NULL && c->test[0] != '\0' && c->n_attempts == 1);
    fm_outcome o = c->attempts[0].outcome; /* what a report can say */
    assert(o == FM_OUTCOME_PASS || o == FM_OUTCOME_FAIL || o == FM_OUTCOME_ERROR ||
           o == FM_OUTCOME_TIMEOUT);
    *n += c->n_attempts;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fm_hist_report_format formats[] = {FUZZ_FORMATS};
    size_t n_formats = sizeof formats / sizeof formats[0];
    fm_hist_report_format f = formats[0];
    if (n_formats > 1) {
        if (size == 0)
            return 0;
        f = formats[data[0] % n_formats];
        data++, size--;
    }
    int fd = fuzz_memfd(data, size);
    if (fd < 0)
        return 0;
    char why[512];
    fm_hist_report_format d = fm_hist_report_detect(fd, why, sizeof why);
    if (d == FM_HIST_REPORT_UNKNOWN)
        assert(strchr(why, '\n') == NULL && why[0] != '\0');
    lseek(fd, 0, SEEK_SET);
    fm_junit_info info;
    size_t attempts = 0;
    fm_hist_status st = fm_hist_report_parse_fd(fd, f, on_case, &attempts, &info);
    if (st == FM_HIST_OK)
        assert(info.attempts == attempts && info.bytes == size);
    else
        assert(strchr(info.error, '\n') == NULL && info.error[0] != '\0');
    close(fd);
    return 0;
}
