/*
 * cmd_run.c - `flakemeter run`: measure how flaky a workload or a command is.
 *
 * Parses the options, opens the store and the campaign, hands everything to the run engine
 * (launch/fm_run.c), then prints the verdict computed from the store, so a resumed campaign
 * reports all its runs.  Exit status: 0 done, 1 the store or the system failed (or
 * --require-below was not shown), 2 bad input (including a command that cannot be started, or
 * whose first runs all end in an --error-exit code), 130/143/129 after SIGINT/SIGTERM/SIGHUP.
 * Campaign identity (a new campaign per invocation unless --resume): cli_campaign.c.
 */
#include "cli_campaign.h"
#include "cli_picture.h"
#include "cli_verdict.h"
#include "fm_cli.h"
#include "fm_cross.h"
#include "fm_fingerprint.h"
#include "fm_run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: flakemeter run [OPTIONS] WORKLOAD [key=value ...]\n"
    "       flakemeter run [OPTIONS] -- COMMAND [ARG ...]\n"
    "\n"
    "Run a built-in workload ('flakemeter list') or any command many times, in parallel, record\n"
    "every run in a SQLite store, and report the failure probability and the retry count.\n";

struct run_args {
    fm_run_config cfg;
    fm_cond cond;
    fm_cond_rt cond_rt;
    bool cond_started;
    char **wl_argv; /* the workload and its key=value words (for --emulator) */
    int wl_argc;
    char **emu_argv;
    char *conditions; /* fm_cond_json */
    const char *db, *label, *plot;
    bool json, quiet, resume, force, allow_oversubscribe;
    double require_below; /* --require-below P0; 0: not given */
    struct run_regex {
        regex_t re;
        bool have;
    } fail_re, ignore_re, fail_if_re;
    char *fingerprint; /* fm_fingerprint of what runs */
    char label_buf[512], params[1024], command_json[4096], label_unique[540];
};

static int parse_regex(void *value, const char *text, const char *name)
{
    struct run_regex *r = value;
    if (r->have) /* given again: the last one counts */
        regfree(&r->re);
    r->have = false;
    int rc = regcomp(&r->re, text, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &r->re, msg, sizeof msg);
        return fm_cli_usage_error("%s: invalid regular expression '%s': %s", name, text, msg);
    }
    r->have = true;
    return 0;
}

static int parse_options(int argc, char **argv, struct run_args *a)
{
    fm_run_config *c = &a->cfg;
    uint64_t runs = (uint64_t)c->runs, jobs = (uint64_t)c->jobs, retries = c->retries;
    const struct fm_opt options[] = {
        FM_OPT_COUNT(
            'n', "runs", &runs, 1, (double)(INT64_MAX / 2), "N",
            "runs to make (default: until --duration, decided (at most 100000) or Ctrl-C)"),
        FM_OPT_REAL(0, "duration", &c->duration_s, 0, 1e9, FM_OPT_LO_OPEN, "S",
                    "stop starting runs after S seconds"),
        FM_OPT_COUNT('j', "jobs", &jobs, 1, 4096, "N",
                     "runs in parallel (default: number of CPUs)"),
        FM_OPT_RUN_LIMITS(c),
        FM_OPT_COUNT(0, "retries", &retries, 0, 1000, "R",
                     "after a failure retry at once, up to R more attempts"),
        FM_OPT_BOOL(0, "until-decided", &c->until_decided,
                    "stop when the attempt count for --target is pinned down"),
        FM_OPT_REAL('t', "target", &c->target, 0, 1, FM_OPT_OPEN, "T",
                    "all-fail probability for the retry count (default 1e-6)"),
        FM_OPT_REAL('c', "confidence", &c->confidence, 0, 1, FM_OPT_OPEN, "C",
                    "confidence level (default 0.95)"),
        FM_OPT_CALL(0, "fail-regex", &a->fail_re, parse_regex, "RE",
                    "count a failure only if the output matches RE"),
        FM_OPT_CALL(0, "ignore-regex", &a->ignore_re, parse_regex, "RE",
                    "do not count a failure whose output matches RE"),
        FM_OPT_CALL(0, "fail-if-output", &a->fail_if_re, parse_regex, "RE",
                    "count a run that exits 0 as failed when its output matches RE"),
        FM_OPT_CALL(0, "error-exit", c, fm_cli_parse_error_exit, "CODES",
                    "exit codes that mean a usage error, not a failure (e.g. 4 for pytest); "
                    "stop when the first runs all end so"),
        FM_OPT_STRING(0, "keep-output", &c->keep_dir, "DIR",
                      "keep the output of failing attempts (at most 100 files)"),
        FM_OPT_CALL(0, "shard", c, fm_cli_parse_shard, "I/N|IofN|auto",
                    "run indices = I mod N only (0-based I/N, 1-based IofN, or auto: Slurm, "
                    "Kubernetes, GitLab, Bazel; docs/scale.md); combine with 'merge'"),
        FM_OPT_GROUP("Run conditions (stored with the campaign; 'flakemeter sweep' varies them):"),
        FM_OPT_CONDITIONS(&a->cond),
        FM_OPT_BOOL(0, "allow-oversubscribe", &a->allow_oversubscribe,
                    "keep -j although the runs get fewer CPUs (--cpus, --pin, --quota)"),
        FM_OPT_GROUP(""),
        FM_OPT_STRING(0, "db", &a->db, "PATH",
                      "the store (default flakemeter.db), or a postgresql:// URL (docs/scale.md)"),
        FM_OPT_STRING('l', "label", &a->label, "NAME",
                      "campaign name (default: from the workload or command, with #2, #3 ... "
                      "for a new campaign of the same command)"),
        FM_OPT_BOOL(0, "resume", &a->resume,
                    "continue the campaign (--label, or the newest of the default label) "
                    "instead of starting a new one"),
        FM_OPT_BOOL(0, "force", &a->force,
                    "with --resume: continue although the executable changed"),
        FM_OPT_BOOL(0, "json", &a->json, "print the verdict as one JSON object"),
        FM_OPT_STRING(0, "plot", &a->plot, "FILE",
                      "also draw the retry curve (with "
                      "--until-decided: the running estimate) as SVG"),
        FM_OPT_BOOL('q', "quiet", &a->quiet, "no progress line"),
        FM_OPT_REAL(0, "require-below", &a->require_below, 0, 1, FM_OPT_OPEN, "P0",
                    "exit 0 only if the test is shown fixed: the exact one-sided upper bound at "
                    "--confidence is below P0 (as 'flakemeter plan'); else exit 1"),
        FM_OPT_END,
    };
    int rc = fm_cli_options(argc, argv, options, help, FM_CLI_COMMAND_FOLLOWS);
    c->runs = (int64_t)(runs || !c->until_decided || c->duration_s > 0 ? runs : FM_RUN_DECIDE_CAP);
    c->jobs = (int)jobs;
    c->retries = (unsigned)retries;
    return rc;
}

/* The workload and its key=value parameters. */
static int parse_workload(int argc, char **argv, struct run_args *a)
{
    const struct fm_wl_desc *wl = fm_wl_find(argv[0]);
    if (wl == NULL)
        return fm_cli_unknown_workload(argv[0], true);
    fm_wl_args_init(&a->cfg.wl_args, wl);
    int len = snprintf(a->label_buf, sizeof a->label_buf, "%s", wl->name);
    for (int i = 1; i < argc; i++) {
        const struct fm_wl_param *bad = NULL;
        int st = fm_wl_args_set(&a->cfg.wl_args, argv[i], &bad);
        if (st != FM_WL_OK) {
            char why[256];
            fm_wl_args_explain(wl, argv[i], st, bad, why, sizeof why);
            char *hint = strstr(why, "(see 'fm-stress --list')");
            if (hint) /* the library names fm-stress; here the table is 'flakemeter list' */
                snprintf(hint, sizeof why - (size_t)(hint - why),
                         "(see 'flakemeter list'; options go before the workload)");
            return fm_cli_usage_error("%s", why);
        }
        if (len < (int)sizeof a->label_buf)
            len += snprintf(a->label_buf + len, sizeof a->label_buf - (size_t)len, " %s", argv[i]);
    }
    fm_wl_args_format(&a->cfg.wl_args, a->params, sizeof a->params);
    return 0;
}

static int parse(int argc, char **argv, struct run_args *a)
{
    int rc = parse_options(argc, argv, a);
    if (rc >= 0 || (rc = fm_cli_picture_check(a->plot)) != 0)
        return rc;
    bool dashdash;
    if ((rc = fm_cli_what_to_run(argc, argv, &dashdash)) >= 0)
        return rc;
    if (dashdash) {
        a->cfg.argv = argv + optind;
        rc = fm_cli_describe_command(argv + optind, a->label_buf, sizeof a->label_buf,
                                     a->command_json, sizeof a->command_json);
    } else {
        rc = parse_workload(argc - optind, argv + optind, a);
        a->wl_argv = argv + optind;
        a->wl_argc = argc - optind;
    }
    if (rc)
        return rc;
    if (dashdash && a->cond.have_emulator)
        return fm_cli_usage_error("--emulator runs a built-in workload's cross-built fm-stress; "
                                  "for a command, put the emulator in the command");
    return -1; /* --keep-output: checked by fm_run_check, made by the engine */
}

static int open_campaign(struct run_args *a, fm_store **store)
{
    char why[800]; /* checked before the store is opened: a refusal leaves nothing behind */
    fm_run_status ck = fm_run_check(&a->cfg, why, sizeof why);
    if (ck != FM_RUN_OK)
        return ck == FM_RUN_EINVAL ? fm_cli_usage_error("%s", why) : fm_cli_fail("%s", why);
    int rc = fm_cli_open_shared_store(a->db, true, store);
    if (rc != 0)
        return rc;
    bool wl = a->cfg.wl_args.wl != NULL || a->cond.have_emulator;
    const char *label;
    fm_cli_campaign_ask ask = {a->label,  a->label_buf, a->db,           NULL,
                               a->resume, a->force,     a->label_unique, sizeof a->label_unique};
    if ((rc = fm_cli_campaign_label(&ask, *store, &label)) != 0)
        return rc;
    /* What runs: the command's executable (as PATH finds it), the cross-built fm-stress under
     * an emulator, else this flakemeter (its built-in workloads). */
    const char *exe = !wl                     ? a->cfg.argv[0]
                      : a->cond.have_emulator ? a->cond_rt.cross_stress
                                              : "/proc/self/exe";
    a->fingerprint = fm_fingerprint(exe);
    if (a->fingerprint == NULL)
        return fm_cli_fail("cannot read '%s' for its fingerprint: %s", exe, strerror(errno));
    ask.fingerprint = a->fingerprint;
    if (a->resume && (rc = fm_cli_campaign_check_resume(&ask, *store, label)) != 0)
        return rc;
    /* The arch the runs execute on: the emulated one under --emulator or a qemu-ARCH command. */
    const char *arch = a->cond.have_emulator ? a->cond.emulator
                       : !wl                 ? fm_cross_command_arch(a->cfg.argv[0])
                                             : NULL;
    fm_campaign_info info = {.label = label,
                             .kind = wl ? "workload" : "command",
                             .command =
                                 wl ? a->cfg.wl_args.wl ? a->cfg.wl_args.wl->name : a->wl_argv[0]
                                    : a->command_json,
                             .params = wl ? a->params : "",
                             .arch = arch,
                             .conditions = a->conditions,
                             .fingerprint = a->fingerprint};
    bool existed;
    fm_store_status st = fm_store_campaign(*store, &info, &a->cfg.campaign, &existed);
    if (st == FM_STORE_ECONFLICT)
        return fm_cli_usage_error("--resume: campaign '%s' in %s was made with another "
                                  "command, parameters or conditions; choose another label",
                                  info.label, a->db);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot create the campaign: %s", fm_store_errmsg(*store));
    a->cfg.label = info.label;
    return 0;
}

static int report(struct run_args *a, fm_store *store, const fm_run_report *rep)
{
    fm_verdict v;
    fm_store_status st =
        fm_verdict_compute(store, a->cfg.campaign, a->cfg.target, a->cfg.confidence, &v);
    if (st != FM_STORE_OK)
        return fm_cli_fail("cannot read the results: %s", fm_store_errmsg(store));
    fm_verdict_context ctx = {.label = a->cfg.label,
                              .db = a->db,
                              .report = rep,
                              .until_decided = a->cfg.until_decided,
                              .conditions = a->conditions,
                              .keep_dir = a->cfg.keep_dir};
    int rc = a->json ? fm_cli_print_json(fm_cli_verdict_json(&v, &ctx))
                     : (fm_cli_verdict_print(&v, &ctx), FM_EXIT_OK);
    if (rc == FM_EXIT_OK && a->plot)
        rc = fm_cli_picture(store,
                            a->cfg.until_decided ? FM_REPORT_PIC_RUNNING : FM_REPORT_PIC_RETRY,
                            a->cfg.label, a->db, a->cfg.target, a->cfg.confidence, a->plot);
    return rc;
}

/* Check the conditions (bad input: exit 2, nothing done), then put them in place. */
static int setup_conditions(struct run_args *a)
{
    char err[512], text[256];
    a->conditions = fm_cond_json(&a->cond);
    if (a->conditions == NULL)
        return fm_cli_fail("out of memory");
    size_t len = strlen(a->label_buf);
    if (*fm_cond_describe(&a->cond, text, sizeof text)) /* default label: "bernoulli [cpus=1]" */
        snprintf(a->label_buf + len, sizeof a->label_buf - len, " [%s]", text);
    a->cond.workload = a->wl_argv != NULL; /* what fm_cond_check refuses: shell, output=null */
    a->cond.output_needed =
        a->cfg.fail_regex || a->cfg.ignore_regex || a->cfg.fail_if_output || a->cfg.keep_dir;
    if (fm_cond_check(&a->cond, FM_SOURCE_ROOT, &a->cond_rt, err, sizeof err) != FM_RUN_OK)
        return fm_cli_usage_error("--%s", err);
    a->cfg.jobs = fm_cli_fit_jobs("run", &a->cond_rt, a->cfg.jobs, a->allow_oversubscribe);
    if (a->cond.have_emulator) { /* the workload becomes qemu-ARCH CROSS-FM-STRESS NAME k=v ... */
        a->emu_argv =
            fm_cli_emulator_argv(a->cond_rt.qemu, a->cond_rt.cross_stress, a->wl_argv, a->wl_argc);
        if (a->emu_argv == NULL)
            return fm_cli_fail("out of memory");
        a->cfg.argv = a->emu_argv;
        a->cfg.wl_args.wl = NULL; /* stored as the workload; run as a command */
    }
    if (fm_cond_start(&a->cond_rt, err, sizeof err) != FM_RUN_OK)
        return fm_cli_fail("%s", err);
    a->cond_started = true;
    a->cfg.cond = &a->cond_rt;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a = {.db = "flakemeter.db"};
    fm_run_config_init(&a.cfg);
    fm_store *store = NULL;
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        goto out;
    a.cfg.fail_regex = a.fail_re.have ? &a.fail_re.re : NULL;
    a.cfg.ignore_regex = a.ignore_re.have ? &a.ignore_re.re : NULL;
    a.cfg.fail_if_output = a.fail_if_re.have ? &a.fail_if_re.re : NULL;
    if ((rc = setup_conditions(&a)) != 0 || (rc = open_campaign(&a, &store)) != 0)
        goto out;
    a.cfg.store = store;
    fm_cli_progress prog;
    fm_cli_progress_init(&prog, a.cfg.confidence);
    if (!a.quiet) {
        a.cfg.progress = fm_cli_progress_cb;
        a.cfg.progress_ctx = &prog;
    }
    fm_run_report rep;
    fm_run_status st = fm_run_campaign(&a.cfg, &rep);
    if (st == FM_RUN_EINVAL) {
        rc = fm_cli_usage_error("%s", rep.error);
        goto out;
    }
    if (st != FM_RUN_OK) {
        rc = fm_cli_fail("%s", rep.error);
        goto out;
    }
    /* Nothing but start errors (one per parallel slot at most): the command cannot run here. */
    bool only_errors = rep.counts.attempts == rep.counts.by_outcome[FM_OUTCOME_ERROR];
    if (rep.stop == FM_STOP_ERROR && only_errors && rep.error[0]) {
        /* a command that does not exist: 2; a system limit (EMFILE, EAGAIN, ENOMEM): 1 */
        rc = rep.usage_error ? fm_cli_usage_error("%s", rep.error)
                             : fm_cli_start_error(rep.start_errno, rep.error);
        goto out;
    }
    if (rep.stop == FM_STOP_ERROR)
        fm_cli_fail("%s", rep.error);
    rc = fm_cli_run_exit_status(&rep, report(&a, store, &rep));
    if (rc == FM_EXIT_OK && a.require_below > 0)
        rc = fm_cli_require_below(store, a.cfg.campaign, a.cfg.confidence, a.require_below, a.json);
    if (rep.stop == FM_STOP_ERROR && rc == FM_EXIT_OK)
        rc = FM_EXIT_FAIL;
out:
    if (a.cond_started)
        fm_cond_stop(&a.cond_rt);
    free(a.emu_argv);
    free(a.conditions);
    free(a.fingerprint);
    if (store && fm_store_close(store) != FM_STORE_OK && rc == FM_EXIT_OK)
        rc = fm_cli_fail("cannot close the store");
    struct run_regex *res[] = {&a.fail_re, &a.ignore_re, &a.fail_if_re};
    for (size_t i = 0; i < 3; i++)
        if (res[i]->have)
            regfree(&res[i]->re);
    return rc;
}
