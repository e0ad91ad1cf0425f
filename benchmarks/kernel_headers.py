"""The headers on THREAD_SIZE's include path in the synthetic tree, and how they change.

In: a ``Closure`` (the few facts that vary from tag to tag).
Out: the text of every header that kstack, or gcc, reads to fold THREAD_SIZE
under the x86_64 configs, and the three kinds of change the history makes to
them: touches that cannot change THREAD_SIZE, comment-only edits in a header of
the chain, and real value changes.

All text here is written for the benchmark; it is shaped like a modern x86
tree (``asm/page.h`` -> ``asm/page_types.h`` -> ``asm/page_64_types.h``) but
copies none of the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LINUX = "include/linux"
ASM = "arch/x86/include/asm"
PAGE_SHIFT = 12


# --- the closure: every header kstack (and gcc) reads for THREAD_SIZE --------------


@dataclass
class Closure:
    """The state of the headers on THREAD_SIZE's include path."""

    base_order: int = 2
    kasan_order: int = 1
    #: unrelated defines that closure touches added to linux/types.h
    types_extra: list[str] = field(default_factory=list)
    compiler_level: int = 1
    thread_info_flags: list[str] = field(default_factory=list)
    page64_decls: list[str] = field(default_factory=list)
    #: comment-only edits: a block above a definition and a trailing comment on it
    note: dict[str, list[str]] = field(default_factory=dict)
    trailing: dict[str, str] = field(default_factory=dict)

    def thread_size(self, config: str) -> int:
        order = self.base_order + (self.kasan_order if config == "kasan" else 0)
        return (1 << PAGE_SHIFT) << order

    def files(self) -> dict[str, bytes]:
        return {path: render(self).encode() for path, render in CLOSURE.items()}


def _note(closure: Closure, path: str) -> str:
    return "".join(line + "\n" for line in closure.note.get(path, []))


def _trailing(closure: Closure, path: str) -> str:
    text = closure.trailing.get(path)
    return f"\t/* {text} */" if text else ""


def _kconfig_h(c: Closure) -> str:
    return """\
#ifndef _LINUX_KCONFIG_H
#define _LINUX_KCONFIG_H

/* The build writes the chosen options here; a source tree has no copy. */
#include <generated/autoconf.h>

/*
 * Option tests usable in C expressions: an option set to 1 turns the
 * pasted name into a macro holding a comma, which moves the 1 into the
 * slot that the picker returns.
 */
#define __opt_comma_1 ,
#define __opt_pick(junk, value, ...) value
#define __opt_test(maybe_comma) __opt_pick(maybe_comma 1, 0, 0)
#define __opt_paste(value) __opt_test(__opt_comma_##value)
#define IS_BUILTIN(option) __opt_paste(option)
#define IS_MODULE(option) __opt_paste(option##_MODULE)
#define IS_ENABLED(option) (IS_BUILTIN(option) || IS_MODULE(option))

#endif /* _LINUX_KCONFIG_H */
"""


def _types_h(c: Closure) -> str:
    extra = "".join(line + "\n" for line in c.types_extra)
    return f"""\
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

#include <uapi/linux/types.h>

#ifndef __ASSEMBLY__

#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]
#define BITS_TO_LONGS(nr) (((nr) + __BITS_PER_LONG - 1) / __BITS_PER_LONG)

typedef __u32 __kernel_dev_t;
typedef __kernel_dev_t dev_t;
typedef unsigned short umode_t;
typedef _Bool bool;
typedef unsigned long uintptr_t;
typedef __u64 u64;
typedef __u32 u32;
typedef __u16 u16;
typedef __u8 u8;
typedef long long loff_t;
typedef u64 phys_addr_t;
typedef phys_addr_t resource_size_t;

struct list_head {{
	struct list_head *next, *prev;
}};

struct hlist_node {{
	struct hlist_node *next, **pprev;
}};

{extra}
#endif /* __ASSEMBLY__ */
#endif /* _LINUX_TYPES_H */
"""


def _uapi_types_h(c: Closure) -> str:
    return """\
#ifndef _UAPI_LINUX_TYPES_H
#define _UAPI_LINUX_TYPES_H

#include <asm/types.h>

#ifndef __ASSEMBLY__
#define __bitwise
typedef __u16 __bitwise __le16;
typedef __u32 __bitwise __le32;
typedef __u64 __bitwise __le64;
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#endif /* __ASSEMBLY__ */
#endif /* _UAPI_LINUX_TYPES_H */
"""


def _uapi_asm_types_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_TYPES_H
#define _ASM_X86_TYPES_H

#include <asm-generic/types.h>

#endif /* _ASM_X86_TYPES_H */
"""


def _generic_types_h(c: Closure) -> str:
    return """\
#ifndef _ASM_GENERIC_TYPES_H
#define _ASM_GENERIC_TYPES_H
/* Every architecture uses long long for 64-bit integers. */
#include <asm-generic/int-ll64.h>

#endif /* _ASM_GENERIC_TYPES_H */
"""


def _int_ll64_h(c: Closure) -> str:
    return """\
#ifndef _ASM_GENERIC_INT_LL64_H
#define _ASM_GENERIC_INT_LL64_H

#include <asm/bitsperlong.h>

#ifndef __ASSEMBLY__
typedef signed char __s8;
typedef unsigned char __u8;
typedef signed short __s16;
typedef unsigned short __u16;
typedef signed int __s32;
typedef unsigned int __u32;
__extension__ typedef signed long long __s64;
__extension__ typedef unsigned long long __u64;
#endif /* __ASSEMBLY__ */

#endif /* _ASM_GENERIC_INT_LL64_H */
"""


def _bitsperlong_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_BITSPERLONG_H
#define _ASM_X86_BITSPERLONG_H

#if defined(__x86_64__) && !defined(__ILP32__)
# define __BITS_PER_LONG 64
#else
# define __BITS_PER_LONG 32
#endif

#endif /* _ASM_X86_BITSPERLONG_H */
"""


def _compiler_h(c: Closure) -> str:
    return f"""\
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#include <linux/compiler_types.h>

/* bumped whenever the helpers below change shape */
#define __COMPILER_HELPERS_LEVEL {c.compiler_level}

#ifndef __ASSEMBLY__
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define barrier()	__asm__ __volatile__("" : : : "memory")
#define __must_be_array(a) 0
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]) + __must_be_array(arr))
#endif /* __ASSEMBLY__ */

#endif /* _LINUX_COMPILER_H */
"""


def _compiler_types_h(c: Closure) -> str:
    return """\
#ifndef _LINUX_COMPILER_TYPES_H
#define _LINUX_COMPILER_TYPES_H

#ifndef __ASSEMBLY__
# define __user
# define __kernel
# define __iomem
# define __percpu
# define __rcu
#endif

#ifdef __GNUC__
#include <linux/compiler-gcc.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif

#endif /* _LINUX_COMPILER_TYPES_H */
"""


def _compiler_gcc_h(c: Closure) -> str:
    return """\
#ifndef _LINUX_COMPILER_GCC_H
#define _LINUX_COMPILER_GCC_H

#define GCC_VERSION (__GNUC__ * 10000 + __GNUC_MINOR__ * 100 + __GNUC_PATCHLEVEL__)

#if GCC_VERSION < 50100
# error Sorry, this synthetic tree wants gcc 5.1 or newer
#endif

#define __noreturn	__attribute__((__noreturn__))
#define __packed	__attribute__((__packed__))
#define __aligned(x)	__attribute__((__aligned__(x)))

#endif /* _LINUX_COMPILER_GCC_H */
"""


def _linux_const_h(c: Closure) -> str:
    return """\
#ifndef _LINUX_CONST_H
#define _LINUX_CONST_H

#include <vdso/const.h>

#define UL(x)		(_UL(x))
#define ULL(x)		(_ULL(x))

#endif /* _LINUX_CONST_H */
"""


def _vdso_const_h(c: Closure) -> str:
    return """\
#ifndef __VDSO_CONST_H
#define __VDSO_CONST_H

#include <uapi/linux/const.h>

#endif /* __VDSO_CONST_H */
"""


def _uapi_const_h(c: Closure) -> str:
    return """\
/* Constants usable from both C and assembly. */
#ifndef _UAPI_LINUX_CONST_H
#define _UAPI_LINUX_CONST_H

/*
 * The assembler has no integer suffixes: _AC(1, UL) is plain 1 there
 * and (1UL) in C.
 */
#ifdef __ASSEMBLY__
#define _AC(X,Y)	X
#define _AT(T,X)	X
#else
#define __AC(X,Y)	(X##Y)
#define _AC(X,Y)	__AC(X,Y)
#define _AT(T,X)	((T)(X))
#endif

#define _UL(x)		(_AC(x, UL))
#define _ULL(x)		(_AC(x, ULL))

#define _BITUL(x)	(_UL(1) << (x))
#define _BITULL(x)	(_ULL(1) << (x))

#endif /* _UAPI_LINUX_CONST_H */
"""


def _page_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_PAGE_H
#define _ASM_X86_PAGE_H

#include <linux/types.h>

#ifdef __KERNEL__

#include <asm/page_types.h>

#ifdef CONFIG_X86_64
#include <asm/page_64.h>
#else
#include <asm/page_32.h>
#endif

#ifndef __ASSEMBLY__
struct page;

#define __va(x)		((void *)((unsigned long)(x) + PAGE_OFFSET))
#define __pa(x)		((unsigned long)(x) - PAGE_OFFSET)
#define virt_to_page(kaddr)	((struct page *)0 + (__pa(kaddr) >> PAGE_SHIFT))
#endif /* __ASSEMBLY__ */

#endif /* __KERNEL__ */
#endif /* _ASM_X86_PAGE_H */
"""


def _page_types_h(c: Closure) -> str:
    path = f"{ASM}/page_types.h"
    return f"""\
#ifndef _ASM_X86_PAGE_TYPES_H
#define _ASM_X86_PAGE_TYPES_H

#include <linux/const.h>
#include <linux/types.h>

/* 4 KiB pages */
#define PAGE_SHIFT		{PAGE_SHIFT}
{_note(c, path)}#define PAGE_SIZE		(_AC(1,UL) << PAGE_SHIFT){_trailing(c, path)}
#define PAGE_MASK		(~(PAGE_SIZE-1))

#define HPAGE_SHIFT		21
#define HPAGE_SIZE		(_AC(1,UL) << HPAGE_SHIFT)

#define PAGE_OFFSET		((unsigned long)__PAGE_OFFSET)

#ifdef CONFIG_X86_64
#include <asm/page_64_types.h>
#else
#include <asm/page_32_types.h>
#endif

#endif /* _ASM_X86_PAGE_TYPES_H */
"""


def _page_64_types_h(c: Closure) -> str:
    path = f"{ASM}/page_64_types.h"
    return f"""\
#ifndef _ASM_X86_PAGE_64_TYPES_H
#define _ASM_X86_PAGE_64_TYPES_H

/* KASAN's redzones make every frame larger: its stacks are twice the size. */
#ifdef CONFIG_KASAN
#define KASAN_STACK_ORDER {c.kasan_order}
#else
#define KASAN_STACK_ORDER 0
#endif

{_note(c, path)}#define THREAD_SIZE_ORDER	({c.base_order} + KASAN_STACK_ORDER){_trailing(c, path)}
#define THREAD_SIZE		(PAGE_SIZE << THREAD_SIZE_ORDER)

#define EXCEPTION_STACK_ORDER	(1 + KASAN_STACK_ORDER)
#define EXCEPTION_STKSZ		(PAGE_SIZE << EXCEPTION_STACK_ORDER)

#define IRQ_STACK_ORDER		(2 + KASAN_STACK_ORDER)
#define IRQ_STACK_SIZE		(PAGE_SIZE << IRQ_STACK_ORDER)

#define __PAGE_OFFSET_BASE	_AC(0xffff888000000000, UL)
#define __PAGE_OFFSET		__PAGE_OFFSET_BASE
#define __START_KERNEL_map	_AC(0xffffffff80000000, UL)

#define KERNEL_IMAGE_SIZE	(1024 * 1024 * 1024)

#endif /* _ASM_X86_PAGE_64_TYPES_H */
"""


def _page_32_types_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_PAGE_32_TYPES_H
#define _ASM_X86_PAGE_32_TYPES_H

#define __PAGE_OFFSET		_AC(0xC0000000, UL)

#define THREAD_SIZE_ORDER	1
#define THREAD_SIZE		(PAGE_SIZE << THREAD_SIZE_ORDER)

#define IRQ_STACK_SIZE		THREAD_SIZE

#endif /* _ASM_X86_PAGE_32_TYPES_H */
"""


def _page_64_h(c: Closure) -> str:
    decls = "".join(line + "\n" for line in c.page64_decls)
    return f"""\
#ifndef _ASM_X86_PAGE_64_H
#define _ASM_X86_PAGE_64_H

#include <asm/page_64_types.h>

#ifndef __ASSEMBLY__
extern unsigned long max_pfn;
extern unsigned long phys_base;

static inline unsigned long __phys_addr_nodebug(unsigned long x)
{{
	return x - __START_KERNEL_map + phys_base;
}}

void clear_page(void *page);
void copy_page(void *to, void *from);
{decls}#endif /* !__ASSEMBLY__ */

#endif /* _ASM_X86_PAGE_64_H */
"""


def _page_32_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_PAGE_32_H
#define _ASM_X86_PAGE_32_H

#include <asm/page_32_types.h>

#ifndef __ASSEMBLY__
void clear_page(void *page);
#endif

#endif /* _ASM_X86_PAGE_32_H */
"""


def _percpu_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_PERCPU_H
#define _ASM_X86_PERCPU_H

#ifdef CONFIG_X86_64
#define __percpu_seg		gs
#else
#define __percpu_seg		fs
#endif

#define PER_CPU_VAR(var)	%__percpu_seg:var

#endif /* _ASM_X86_PERCPU_H */
"""


def _thread_info_h(c: Closure) -> str:
    flags = "".join(line + "\n" for line in c.thread_info_flags)
    return f"""\
#ifndef _ASM_X86_THREAD_INFO_H
#define _ASM_X86_THREAD_INFO_H

#include <linux/compiler.h>
#include <asm/page.h>
#include <asm/percpu.h>
#include <asm/types.h>

/* Room kept between the top of the stack and the first frame. */
#ifdef CONFIG_X86_32
# define TOP_OF_KERNEL_STACK_PADDING 8
#else
# define TOP_OF_KERNEL_STACK_PADDING 0
#endif

#ifndef __ASSEMBLY__
struct thread_info {{
	unsigned long		flags;
	unsigned long		syscall_work;
	u32			status;
	u32			cpu;
}};
#endif

/* thread information flags */
#define TIF_NOTIFY_RESUME	1
#define TIF_SIGPENDING		2
#define TIF_NEED_RESCHED	3
#define TIF_SINGLESTEP		4
#define TIF_SSBD		5
#define TIF_SPEC_IB		9
#define TIF_USER_RETURN_NOTIFY	11
#define TIF_UPROBE		12
#define TIF_PATCH_PENDING	13
#define TIF_NOCPUID		15
#define TIF_NOTSC		16
#define TIF_NOTIFY_SIGNAL	17
#define TIF_MEMDIE		20
#define TIF_POLLING_NRFLAG	21
#define TIF_IO_BITMAP		22
#define TIF_FORCED_TF		24
{flags}
#define _TIF_NOTIFY_RESUME	(1 << TIF_NOTIFY_RESUME)
#define _TIF_SIGPENDING		(1 << TIF_SIGPENDING)
#define _TIF_NEED_RESCHED	(1 << TIF_NEED_RESCHED)

#endif /* _ASM_X86_THREAD_INFO_H */
"""


def _percpu_defs_h(c: Closure) -> str:
    return """\
#ifndef _LINUX_PERCPU_DEFS_H
#define _LINUX_PERCPU_DEFS_H

#define PER_CPU_BASE_SECTION ".data..percpu"
#define DECLARE_PER_CPU(type, name) extern __percpu type name
#define DEFINE_PER_CPU(type, name) __percpu type name

#endif /* _LINUX_PERCPU_DEFS_H */
"""


def _cpu_entry_area_h(c: Closure) -> str:
    return """\
#ifndef _ASM_X86_CPU_ENTRY_AREA_H
#define _ASM_X86_CPU_ENTRY_AREA_H

#include <linux/percpu-defs.h>
#include <asm/page.h>

#ifdef CONFIG_X86_64
/* The IST stacks, in the order their slots appear in the entry area. */
enum exception_stack_ordering {
	ESTACK_DF,
	ESTACK_NMI,
	ESTACK_DB,
	ESTACK_MCE,
	ESTACK_VC,
	ESTACK_VC2,
	N_EXCEPTION_STACKS
};

struct exception_stacks {
	char stacks[N_EXCEPTION_STACKS][EXCEPTION_STKSZ];
};
#endif

#endif /* _ASM_X86_CPU_ENTRY_AREA_H */
"""


CLOSURE = {
    f"{LINUX}/kconfig.h": _kconfig_h,
    f"{LINUX}/types.h": _types_h,
    f"{LINUX}/compiler.h": _compiler_h,
    f"{LINUX}/compiler_types.h": _compiler_types_h,
    f"{LINUX}/compiler-gcc.h": _compiler_gcc_h,
    f"{LINUX}/const.h": _linux_const_h,
    f"{LINUX}/percpu-defs.h": _percpu_defs_h,
    "include/vdso/const.h": _vdso_const_h,
    "include/uapi/linux/const.h": _uapi_const_h,
    "include/uapi/linux/types.h": _uapi_types_h,
    "include/uapi/asm-generic/types.h": _generic_types_h,
    "include/uapi/asm-generic/int-ll64.h": _int_ll64_h,
    "arch/x86/include/uapi/asm/types.h": _uapi_asm_types_h,
    "arch/x86/include/uapi/asm/bitsperlong.h": _bitsperlong_h,
    f"{ASM}/page.h": _page_h,
    f"{ASM}/page_types.h": _page_types_h,
    f"{ASM}/page_64_types.h": _page_64_types_h,
    f"{ASM}/page_32_types.h": _page_32_types_h,
    f"{ASM}/page_64.h": _page_64_h,
    f"{ASM}/page_32.h": _page_32_h,
    f"{ASM}/percpu.h": _percpu_h,
    f"{ASM}/thread_info.h": _thread_info_h,
    f"{ASM}/cpu_entry_area.h": _cpu_entry_area_h,
}
#: the headers that hold part of THREAD_SIZE's chain (comment-only edits go here)
CHAIN = {f"{ASM}/page_64_types.h": "THREAD_SIZE_ORDER", f"{ASM}/page_types.h": "PAGE_SIZE"}
#: files outside the closure that keep a root-level tree kernel-shaped
OTHER_FILES = {
    "Makefile": "VERSION = 4\nPATCHLEVEL = 0\nSUBLEVEL = 0\nNAME = Synthetic Bench\n",
    "arch/x86/Kconfig": "config X86_64\n\tdef_bool y\n\nconfig PAGE_SHIFT\n\tint\n\tdefault 12\n",
    "lib/Kconfig.kasan": 'config KASAN\n\tbool "KASAN: dynamic memory safety error detector"\n',
    "README": "A synthetic tree for the kstack benchmark.\n",
}


# --- the changes a tag makes to the closure ------------------------------------------


def closure_touch(closure: Closure, event: int) -> str:
    """A closure header changes in a way that cannot change THREAD_SIZE; returns which."""
    kind = event % 4
    if kind == 0:
        closure.types_extra = [*closure.types_extra[-7:], f"#define __TYPES_SLACK_{event}\t{event}"]
        return f"{LINUX}/types.h"
    if kind == 1:
        closure.compiler_level += 1
        return f"{LINUX}/compiler.h"
    if kind == 2:
        flag = f"#define TIF_SPARE_{event}\t\t{32 + event % 31}"
        closure.thread_info_flags = [*closure.thread_info_flags[-5:], flag]
        return f"{ASM}/thread_info.h"
    closure.page64_decls = [*closure.page64_decls[-5:], f"void page_helper_{event}(void *page);"]
    return f"{ASM}/page_64.h"


def comment_touch(closure: Closure, event: int) -> str:
    """Only comments change in a header of the chain; a block above moves lines."""
    path = list(CHAIN)[event % len(CHAIN)]
    name = CHAIN[path]
    kind = (event // len(CHAIN)) % 3
    if kind == 0:  # a new block above the definition: every line below moves
        words = [f"/*\n * {name}: revised note {event}."]
        words += [f" * (line {i} of the explanation)" for i in range(event % 4)]
        closure.note[path] = [*words, " */"]
    elif kind == 1 and closure.note.get(path):  # the same lines, other words
        closure.note[path] = [line.replace("note", "remark") for line in closure.note[path]]
        closure.note[path][0] = f"/*\n * {name}: reworded at event {event}."
    else:  # a trailing comment on the definition's own line
        closure.trailing[path] = f"see the stack notes, event {event}"
    return path


def value_touch(closure: Closure, event: int) -> str:
    """A stack value changes: THREAD_SIZE_ORDER's base, or KASAN_STACK_ORDER."""
    if event % 2 == 0:
        closure.base_order = 3 - closure.base_order  # 2 <-> 1
    else:
        closure.kasan_order = 1 - closure.kasan_order
    return f"{ASM}/page_64_types.h"
