#!/usr/bin/env bash
# The loop people run today to get THREAD_SIZE per tag: check out each tag in
# one work tree, ask gcc for every macro the stack headers define (kbuild's
# include path, the config in generated/autoconf.h), then let gcc fold
# THREAD_SIZE by compiling `unsigned long long v = THREAD_SIZE;` against them.
#
# usage: shell_loop.sh WORKTREE OUTPUT
#   WORKTREE  a clone of the repository (it is checked out tag by tag)
#   OUTPUT    gets one line per (tag, config): "TAG CONFIG VALUE" ("-" if undefined)
set -euo pipefail

tree=$1
output=$2
configs=(default kasan)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# generated/autoconf.h as kbuild writes it, one directory per config
for config in "${configs[@]}"; do
    mkdir -p "$scratch/$config/generated"
    {
        echo '#define CONFIG_X86 1'
        echo '#define CONFIG_X86_64 1'
        echo '#define CONFIG_64BIT 1'
        echo '#define CONFIG_PAGE_SHIFT 12'
        if [ "$config" = kasan ]; then
            echo '#define CONFIG_KASAN 1'
            echo '#define CONFIG_KASAN_GENERIC 1'
        fi
    } >"$scratch/$config/generated/autoconf.h"
done
printf '#include <asm/page.h>\n#include <asm/thread_info.h>\n' >"$scratch/entry.c"

# what the compiler predefines for x86_64, which -undef took away
target=(-D__KERNEL__ -D__x86_64__ -D__x86_64 -D__LP64__ -D_LP64 -D__linux__
    -D__GNUC__=12 -D__GNUC_MINOR__=2 -D__GNUC_PATCHLEVEL__=0
    -D__CHAR_BIT__=8 -D__SIZEOF_INT__=4 -D__SIZEOF_LONG__=8 -D__SIZEOF_POINTER__=8
    -D__ORDER_LITTLE_ENDIAN__=1234 -D__BYTE_ORDER__=__ORDER_LITTLE_ENDIAN__)

cd "$tree"
: >"$output"
for tag in $(git tag -l 'v*' | sort -V); do
    git checkout -q "$tag"
    for config in "${configs[@]}"; do
        gcc -E -dM -undef -nostdinc "${target[@]}" \
            -I arch/x86/include -I "$scratch/$config" -I include \
            -I arch/x86/include/uapi -I include/uapi \
            -include linux/kconfig.h "$scratch/entry.c" >"$scratch/macros.h"
        if ! grep -q '^#define THREAD_SIZE ' "$scratch/macros.h"; then
            echo "$tag $config -" >>"$output"
            continue
        fi
        value=$(printf '#include "%s"\nunsigned long long v = THREAD_SIZE;\n' "$scratch/macros.h" |
            gcc -w -S -o - -x c - | awk '$1 == ".quad" { print $2; exit }')
        echo "$tag $config $value" >>"$output"
    done
done
