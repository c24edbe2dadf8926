/*
 * fuzz_wl_args.c - key=value workload arguments (workloads/fm_wl_args.c).  The first byte picks
 * a workload, the rest is NUL-separated assignments, applied in order as `run WORKLOAD k=v ...`
 * applies them; after each, the args must still format, and a refusal must explain itself.
 */
#include "fm_wl.h"
#include "fuzz_util.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_wl = fm_wl_count();
    if (n_wl == 0)
        return 0;
    const struct fm_wl_desc *wl = fm_wl_at(data[0] % n_wl);
    char *buf, *words[33];
    int n = fuzz_words(data + 1, size - 1, &buf, words, 32);
    struct fm_wl_args args;
    fm_wl_args_init(&args, wl);
    for (int i = 0; i < n; i++) {
        const struct fm_wl_param *bad = NULL;
        int st = fm_wl_args_set(&args, words[i], &bad);
        char text[1024];
        if (st != 0) {
            fm_wl_args_explain(wl, words[i], st, bad, text, sizeof text);
            assert(strchr(text, '\n') == NULL);
        }
        fm_wl_args_format(&args, text, sizeof text);
        fm_wl_declared_race(&args);
        for (size_t k = 0; k < wl->n_params; k++)
            fm_wl_param_text(&args, &wl->params[k], text, sizeof text);
    }
    free(buf);
    return 0;
}
