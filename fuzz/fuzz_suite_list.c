/*
 * fuzz_suite_list.c - the parsers of runners' test listings (launch/fm_suite.c,
 * fm_suite_parse_list): the first byte picks the runner, the rest is its output.  Every id
 * returned must be a non-empty NUL-terminated string, and no two equal.
 */
#include "fm_suite.h"
#include "fuzz_util.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fm_suite_kind kind = (fm_suite_kind)(data[0] % 7);
    char *s = fuzz_cstr(data + 1, size - 1);
    if (s == NULL)
        return 0;
    char **ids = NULL, err[256];
    size_t n = 0;
    if (fm_suite_parse_list(kind, s, &ids, &n, err, sizeof err) == FM_RUN_OK) {
        for (size_t i = 0; i < n; i++) {
            assert(ids[i] != NULL && ids[i][0] != '\0');
            for (size_t j = 0; j < i; j++)
                assert(strcmp(ids[i], ids[j]) != 0);
        }
        fm_suite_free_ids(ids, n);
    } else {
        assert(strchr(err, '\n') == NULL);
    }
    free(s);
    return 0;
}
