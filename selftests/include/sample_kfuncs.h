/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF programs of selftests/progs see of the kernel and of the Rust sample module
 * (kernel-sample, kfunc_sample.ko): generated/kfunc_sample.h, which `cargo xtask selftests`
 * generates from BTF (it is not in git; xtask/src/selftests.rs, header()):
 *
 *   bpftool -B vmlinux btf dump file kfunc_sample.ko format c > kfunc_sample.bpftool.h
 *   btfids-post annotate kfunc_sample.bpftool.h kfunc_sample.ko -o generated/kfunc_sample.h
 *   btfids-post annotate --check generated/kfunc_sample.h kfunc_sample.ko
 *
 * with bpftool built from the 7.3 tree, the args build of the module (as btfids-post left
 * it) and the patched kernel's vmlinux. bpftool prints every type of vmlinux and of the
 * module and one `extern ... __weak __ksym` prototype per FUNC with a bpf_kfunc decl tag:
 * the module's kfuncs and vmlinux's (bpf_task_from_pid, bpf_obj_new_impl, ...). It prints
 * nothing per argument; btfids-post annotate writes each argument's facts from the
 * module's extended set8 after the parameter, in the words of #[kfunc(...)], and the
 * function flags after the declaration: in bpf_sample_refcount's prototype the parameter
 * `hint` is followed by the comment `nullable`, in bpf_sample_transfer's `src` by `release`
 * and the declaration by `flags: release` (the generated file shows them as C comments).
 *
 * (`u32___2`: the module is built out of tree, so its BTF is split on a distilled base,
 * into which typedefs are not distilled: the module carries its own copy of u32, and
 * bpftool names the second one u32___2. The same type.)
 *
 * Written here is only what cannot be generated:
 * - this include, with a message when the file is not there (kernel/ctest/parity/run.sh
 *   compiles these programs too: run `cargo xtask selftests` once first);
 * - a pragma: 7.3's BTF has anonymous members of tagged struct types (`struct ns_tree;`
 *   inside a struct; the kernel is built with -fms-extensions). xtask compiles the programs
 *   with -fms-extensions, as bpftool's Makefile does for its own programs; a compile
 *   without it (parity/run.sh) gets one "declaration does not declare anything" warning
 *   per such member, silenced below (no program uses those types);
 * - alignment: the module's BTF describes its Rust types (struct SampleObj, struct
 *   bpf_iter_sample) by name and size only, so bpftool prints them as `long: 64` padding,
 *   whose C alignment is 1. The verifier needs an iterator state on 8-byte aligned stack
 *   slots (the Rust type is #[repr(C, align(8))]): progs/iter.bpf.c declares its iterator
 *   variables aligned(8).
 */
#ifndef __SAMPLE_KFUNCS_H__
#define __SAMPLE_KFUNCS_H__

#if !__has_include("generated/kfunc_sample.h")
#error "selftests/include/generated/kfunc_sample.h is generated from BTF: run `cargo xtask selftests` first"
#endif

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wmissing-declarations"
#include "generated/kfunc_sample.h"
#pragma clang diagnostic pop

#endif
