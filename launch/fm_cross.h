/*
 * fm_cross.h - the emulated architectures: for each cross file in tools/cross/, the QEMU
 * user-mode emulator that runs its builds, what `uname -m` says under it, and the Debian
 * packages of its toolchain, plus where the cross-built fm-stress lives.  One table for
 * `run --emulator ARCH` (fm_cond.c) and `bench emu` (launch/fm_bench_emu.c), so both accept the
 * same names and run the same emulator (armhf and armel run under qemu-arm, not "qemu-armhf").
 * Never prints; a missing piece is one line in why saying what to install or build.
 */
#ifndef FM_CROSS_H
#define FM_CROSS_H

#include "fm_run_status.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;     /* "aarch64", "armhf", "armel", "riscv64", "mipsel", "mips" */
    const char *qemu;     /* "qemu-aarch64", "qemu-arm", ... */
    const char *machine;  /* what uname -m says under that QEMU: a prefix ("arm", "mips") */
    const char *packages; /* Debian packages of its cross toolchain */
} fm_cross_arch;

size_t fm_cross_count(void);
const fm_cross_arch *fm_cross_at(size_t index);
const fm_cross_arch *fm_cross_find(const char *name); /* NULL when unknown */

/* Where the build-cross-ARCH/ folders are: $FM_CROSS_DIR, else source_root, else ".". */
const char *fm_cross_dir(const char *source_root);

/*
 * The emulator of arch (in PATH) into qemu_path and CROSS_DIR/build-cross-ARCH/workloads/fm-stress
 * into fm_stress.  FM_RUN_OK, or FM_RUN_EUNAVAILABLE with one line in why naming what to install
 * or build.
 */
fm_run_status fm_cross_locate(const fm_cross_arch *arch, const char *cross_dir, char *qemu_path,
                              size_t qemu_size, char *fm_stress, size_t fm_stress_size, char *why,
                              size_t why_size);

#endif
