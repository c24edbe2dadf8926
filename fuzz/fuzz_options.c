/*
 * fuzz_options.c - the option tables (cli/cli_options.c, fm_cli_options) and the number parsers
 * behind them, on arbitrary argv.  The input is NUL-separated words (argv[1..]); its first byte
 * picks what may follow the options.  A table with every kind of entry, as the commands declare
 * them: flags, strings, reals with open and closed ends, counts, a callback and a group.
 * Run with -close_fd_mask=3: every refusal prints its one line.
 */
#include "fm_cli.h"
#include "fuzz_util.h"

#include <assert.h>
#include <getopt.h>
#include <math.h>

static int take_list(void *value, const char *text, const char *name)
{
    (void)name;
    *(size_t *)value += strlen(text);
    return text[0] == 'x' ? FM_EXIT_USAGE : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool quiet = false, json = false;
    const char *db = NULL, *label = NULL;
    double confidence = 0.95, target = 0.01, timeout = 0;
    uint64_t runs = 1, seed = 0;
    size_t listed = 0;
    const struct fm_opt options[] = {
        FM_OPT_GROUP("Fuzzed:"),
        FM_OPT_BOOL('q', "quiet", &quiet, "print less"),
        FM_OPT_BOOL(0, "json", &json, "JSON"),
        FM_OPT_STRING(0, "db", &db, "PATH", "the store"),
        FM_OPT_STRING('l', "label", &label, "SUITE", "the suite"),
        FM_OPT_REAL('c', "confidence", &confidence, 0, 1, FM_OPT_OPEN, "C", "confidence"),
        FM_OPT_REAL(0, "target", &target, 0, 1, FM_OPT_LO_OPEN, "P", "target"),
        FM_OPT_REAL(0, "timeout", &timeout, 0, 1e9, FM_OPT_LO_OPEN, "S", "timeout"),
        FM_OPT_COUNT('n', "runs", &runs, 1, 1e12, "N", "runs"),
        FM_OPT_COUNT(0, "seed", &seed, 0, (double)(UINT64_MAX >> 11), "S", "seed"),
        FM_OPT_CALL(0, "pin", &listed, take_list, "LIST", "a list"),
        FM_OPT_END,
    };
    char *buf, *words[66];
    int n = fuzz_words(data + 1, size - 1, &buf, words + 1, 64);
    words[0] = "flakemeter";
    int modes[] = {FM_CLI_NO_OPERANDS, FM_CLI_OPERANDS, FM_CLI_COMMAND_FOLLOWS};
    optind = 0; /* glibc: a full re-initialisation of getopt */
    int rc = fm_cli_options(n + 1, words, options, "usage: fuzz [OPTIONS]\n", modes[data[0] % 3]);
    assert(rc == -1 || rc == FM_EXIT_OK || rc == FM_EXIT_USAGE);
    if (rc == -1)
        assert(optind >= 1 && optind <= n + 1);
    assert(confidence > 0 && confidence < 1 && target > 0 && target <= 1 && !isnan(timeout));
    assert(runs >= 1);
    free(buf);
    return 0;
}
