/*
 * fm_cross.c - the table of emulated architectures and where their builds are (fm_cross.h).
 * The machine prefixes were read from fm-stress's machine= field under each QEMU (armel
 * reports armv7l: QEMU's default ARM CPU is an ARMv7 even for an ARMv5 soft-float build).
 */
#include "fm_cross.h"
#include "fm_run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const fm_cross_arch arches[] = {
    {"aarch64", "qemu-aarch64", "aarch64", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross"},
    {"armhf", "qemu-arm", "arm", "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"},
    {"armel", "qemu-arm", "arm", "gcc-arm-linux-gnueabi libc6-dev-armel-cross"},
    {"riscv64", "qemu-riscv64", "riscv64", "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"},
    {"mipsel", "qemu-mipsel", "mips", "gcc-mipsel-linux-gnu libc6-dev-mipsel-cross"},
    {"mips", "qemu-mips", "mips", "gcc-mips-linux-gnu libc6-dev-mips-cross"},
};

size_t fm_cross_count(void)
{
    return sizeof arches / sizeof arches[0];
}

const fm_cross_arch *fm_cross_at(size_t index)
{
    return index < fm_cross_count() ? &arches[index] : NULL;
}

const fm_cross_arch *fm_cross_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < fm_cross_count(); i++)
        if (strcmp(arches[i].name, name) == 0)
            return &arches[i];
    return NULL;
}

const char *fm_cross_dir(const char *source_root)
{
    const char *dir = getenv("FM_CROSS_DIR");
    if (dir != NULL && *dir != '\0')
        return dir;
    return source_root != NULL && *source_root != '\0' ? source_root : ".";
}

fm_run_status fm_cross_locate(const fm_cross_arch *arch, const char *cross_dir, char *qemu_path,
                              size_t qemu_size, char *fm_stress, size_t fm_stress_size, char *why,
                              size_t why_size)
{
    if (fm_run_which(arch->qemu, qemu_path, qemu_size) != 0) {
        snprintf(why, why_size, "%s not found (apt-get install qemu-user)", arch->qemu);
        return FM_RUN_EUNAVAILABLE;
    }
    int n = snprintf(fm_stress, fm_stress_size, "%s/build-cross-%s/workloads/fm-stress", cross_dir,
                     arch->name);
    if (n < 0 || (size_t)n >= fm_stress_size || access(fm_stress, X_OK) != 0) {
        snprintf(why, why_size,
                 "no cross build %s (apt-get install %s, then tools/cross/build.sh %s)", fm_stress,
                 arch->packages, arch->name);
        return FM_RUN_EUNAVAILABLE;
    }
    return FM_RUN_OK;
}
