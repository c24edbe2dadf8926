/*
 * fuzz_time.c - the one date/time parser (history/fm_hist_time.c, fm_hist_parse_time) that JUnit
 * timestamps, `tests --since` and `check --baseline` share.  A date it accepts must be in range.
 */
#include "fm_hist.h"
#include "fuzz_util.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    if (s == NULL)
        return 0;
    int64_t ns = 0;
    fm_hist_status st = fm_hist_parse_time(s, &ns);
    assert(st == FM_HIST_OK || st != FM_HIST_OK);
    free(s);
    return 0;
}
