/*
 * fm_wl.h - libfmwl: seeded threaded workloads that flakemeter measures.
 *
 * A workload is a named, parameterised piece of work that passes or fails.  The ports reproduce
 * MicroPython's flaky thread stress tests (tests/thread/stress_*.py and friends); the calibration
 * workloads fail with a known law and are the ground truth for the statistics.
 *
 * Contract:
 *  - Every input derives from the 64-bit seed (seed 0 gives the upstream inputs, e.g. an all-zero
 *    AES key), so two runs differ only by thread interleaving and timing - which is exactly what
 *    the ports stress - or, for the calibration workloads, by the run index and attempt.
 *  - fm_wl_run() may be called again and again in one process; it frees what it allocates and
 *    joins every thread it starts.  A crash stays a crash: the runner forks a process per run.
 *  - The library never prints.  Functions return a status (FM_WL_OK = 0 or a negative
 *    enum fm_wl_status); fm_wl_strerror() turns it into text.
 */
#ifndef FM_WL_H
#define FM_WL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FM_WL_API __attribute__((visibility("default")))

/* Status codes of the library; negative, so callers can test `< 0`. */
enum fm_wl_status {
    FM_WL_OK = 0,
    FM_WL_EUNKNOWN = -1, /* no workload of that name */
    FM_WL_EKEY = -2,     /* unknown parameter key */
    FM_WL_ESYNTAX = -3,  /* argument is not key=value */
    FM_WL_ENUMBER = -4,  /* value is not a number (or not a whole number) */
    FM_WL_ERANGE = -5,   /* value outside the parameter's range */
    FM_WL_ECHOICE = -6,  /* value is not one of the parameter's choices */
    FM_WL_ENOMEM = -7,   /* out of memory */
    FM_WL_ETHREAD = -8,  /* a thread could not be created or joined */
    FM_WL_ECRYPTO = -9,  /* the OpenSSL cipher failed */
};

/* Text for a status code (never NULL). */
FM_WL_API const char *fm_wl_strerror(int status);

enum fm_wl_param_kind {
    FM_WL_INT,    /* whole number in [lo, hi] */
    FM_WL_REAL,   /* real number in [lo, hi] */
    FM_WL_CHOICE, /* index into choices[] */
};

/* One named parameter.  A choice parameter stores the index of the chosen word. */
struct fm_wl_param {
    const char *key;
    enum fm_wl_param_kind kind;
    double def, lo, hi;         /* for FM_WL_CHOICE: index of the default, 0, n_choices - 1 */
    const char *const *choices; /* NULL-terminated, FM_WL_CHOICE only */
    const char *help;           /* one line */
};

/* A named set of values ("threads=2 loops=2") applied by `preset=NAME`. */
struct fm_wl_preset {
    const char *name;
    const char *values;
    const char *help;
};

#define FM_WL_MAX_PARAMS 12

struct fm_wl_args;
struct fm_wl_result;

/* Which runs are declared data races (excluded from ThreadSanitizer runs). */
enum fm_wl_race {
    FM_WL_RACE_NONE,   /* never */
    FM_WL_RACE_ALWAYS, /* every run */
    FM_WL_RACE_CHOICE, /* when choice parameter race_key has the value race_value */
};

/* A workload: its table entry in the registry. */
struct fm_wl_desc {
    const char *name;
    const char *summary;  /* one line */
    const char *upstream; /* the upstream test it ports, or "calibration" */
    const char *unit;     /* what work counts, e.g. "blocks" */
    const struct fm_wl_param *params;
    size_t n_params;
    const struct fm_wl_preset *presets; /* may be NULL */
    size_t n_presets;
    enum fm_wl_race race;
    const char *race_key, *race_value;
    /* Runs once; returns FM_WL_OK with the outcome in *res, or an error status. */
    int (*run)(const struct fm_wl_args *args, struct fm_wl_result *res);
};

/* The values of one run: workload, parameters, seed and the runner's run index and attempt. */
struct fm_wl_args {
    const struct fm_wl_desc *wl;
    double value[FM_WL_MAX_PARAMS];
    uint32_t explicit_mask; /* parameters set by name (a preset does not override them) */
    uint64_t seed;
    uint64_t run;     /* FLAKEMETER_RUN: index of the run, 0 when standalone */
    uint64_t attempt; /* FLAKEMETER_ATTEMPT: 1 for a first try, 2... for retries */
};

#define FM_WL_REASON_MAX 160

/* Outcome of one run. */
struct fm_wl_result {
    bool passed;
    char reason[FM_WL_REASON_MAX]; /* one line; empty when passed */
    uint64_t work;                 /* measured work, in the workload's unit */
};

/* Registry: every workload, in a fixed order. */
FM_WL_API size_t fm_wl_count(void);
FM_WL_API const struct fm_wl_desc *fm_wl_at(size_t index);
FM_WL_API const struct fm_wl_desc *fm_wl_find(const char *name);

/* Parameters and their text. */
FM_WL_API const struct fm_wl_param *fm_wl_find_param(const struct fm_wl_desc *wl, const char *key);
/* "an integer in [1, 1000]", "a number in [0, 1]", "one of: portable, openssl". */
FM_WL_API const char *fm_wl_param_range(const struct fm_wl_param *p, char *buf, size_t size);
/* The value of p held in args, as text ("10", "0.25", "on"). */
FM_WL_API const char *fm_wl_param_text(const struct fm_wl_args *args, const struct fm_wl_param *p,
                                       char *buf, size_t size);

/* Defaults for wl, seed 0, run 0, attempt 1. */
FM_WL_API void fm_wl_args_init(struct fm_wl_args *args, const struct fm_wl_desc *wl);
/*
 * Set one parameter from "key=value" (or the key "preset").  On error *bad points at the
 * offending parameter (NULL for a syntax error or an unknown key) and args is unchanged.
 */
FM_WL_API int fm_wl_args_set(struct fm_wl_args *args, const char *assignment,
                             const struct fm_wl_param **bad);
/*
 * One line (no newline) explaining why fm_wl_args_set(assignment) returned status, naming the
 * key and the accepted values, e.g. "threads: 0 is out of range; expected an integer in [1,
 * 1000]".  bad is what fm_wl_args_set stored.  Returns buf.
 */
FM_WL_API const char *fm_wl_args_explain(const struct fm_wl_desc *wl, const char *assignment,
                                         int status, const struct fm_wl_param *bad, char *buf,
                                         size_t size);
/* Read a parameter by key; the key must exist (choice parameters give the index). */
FM_WL_API double fm_wl_args_get(const struct fm_wl_args *args, const char *key);
/* "threads=10 loops=5 ...": every parameter with its value; returns buf. */
FM_WL_API const char *fm_wl_args_format(const struct fm_wl_args *args, char *buf, size_t size);
/* True when this run is a declared data race (ThreadSanitizer is expected to report it). */
FM_WL_API bool fm_wl_declared_race(const struct fm_wl_args *args);

/*
 * The table `fm-stress --list` and `flakemeter list` print: one workload, or all of them.
 * Like snprintf: writes at most size bytes (NUL-terminated when size > 0) and returns the
 * length of the whole text, so a call with (NULL, 0) sizes the buffer.
 */
FM_WL_API size_t fm_wl_format_desc(const struct fm_wl_desc *wl, char *buf, size_t size);
FM_WL_API size_t fm_wl_format_table(char *buf, size_t size);

/*
 * The result line of a run (no newline), as fm-stress prints it:
 *   NAME PASS|FAIL UNIT=WORK seed=S run=N attempt=A key=value ... [-- reason]
 */
FM_WL_API const char *fm_wl_format_result(const struct fm_wl_args *args,
                                          const struct fm_wl_result *res, char *buf, size_t size);

/* Run the workload once, in this process. */
FM_WL_API int fm_wl_run(const struct fm_wl_args *args, struct fm_wl_result *res);

/* True when libfmwl was built with OpenSSL (impl=openssl available). */
FM_WL_API bool fm_wl_have_openssl(void);

#endif
