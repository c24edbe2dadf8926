/*
 * fuzz_junit.c - the JUnit XML reader (history/fm_junit.c) on arbitrary bytes.
 * Every callback is taken; the result must be OK or a one-line error, never a crash or a leak.
 */
#include "fm_junit.h"
#include "fuzz_util.h"

#include <assert.h>

static int on_case(void *ctx, const fm_junit_case *c)
{
    size_t *n = ctx;
    assert(c->test != NULL && c->test[0] != '\0' && c->n_attempts > 0);
    *n += c->n_attempts;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd(data, size);
    if (fd < 0)
        return 0;
    fm_junit_info info;
    size_t attempts = 0;
    fm_hist_status st = fm_junit_parse_fd(fd, "fuzz.xml", on_case, &attempts, &info);
    if (st == FM_HIST_OK)
        assert(info.attempts == attempts && info.bytes == size);
    else
        assert(strchr(info.error, '\n') == NULL);
    close(fd);
    return 0;
}
