/*
 * cmd_bench.c - `flakemeter bench`: benchmarks that answer questions about CI machines.
 *
 * Only routes: like the top-level command table, one table of {name, function, summary} builds
 * `flakemeter bench --help` and dispatches to the sub-subcommand, which parses its own options
 * (cmd_bench_emu.c).  Messages then name "bench NAME".
 */
#include "fm_cli.h"

#include <stdio.h>
#include <string.h>

static const struct fm_cmd benches[] = {
    {"emu", cmd_bench_emu, "slowdown of the workloads under QEMU user mode, and CI timeouts"},
};

static const size_t n_benches = sizeof benches / sizeof benches[0];

static void usage(FILE *out)
{
    fputs("usage: flakemeter bench NAME [OPTIONS]\n"
          "\n"
          "benchmarks:\n",
          out);
    for (size_t i = 0; i < n_benches; i++)
        fprintf(out, "  %-6s %s\n", benches[i].name, benches[i].summary);
    fputs("\n'flakemeter bench NAME --help' describes one.\n", out);
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2)
        return fm_cli_usage_error("which benchmark? expected one of: emu (see 'flakemeter bench "
                                  "--help')");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return FM_EXIT_OK;
    }
    for (size_t i = 0; i < n_benches; i++) {
        if (strcmp(argv[1], benches[i].name) == 0) {
            static char name[32];
            snprintf(name, sizeof name, "bench %s", benches[i].name);
            fm_cli_cmd = name;
            return benches[i].run(argc - 1, argv + 1);
        }
    }
    return fm_cli_usage_error("unknown benchmark '%s'; expected one of: emu", argv[1]);
}
