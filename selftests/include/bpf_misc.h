/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test annotations for the per-argument kfunc flags selftests, in the style of
 * tools/testing/selftests/bpf/progs/bpf_misc.h: each is a BTF decl tag on the
 * program's function, read back from the object's BTF by selftests/runner/runner.c.
 *
 * Two kernel variants run the same programs:
 *   args    patched kernel, module built with extended set8 (per-argument flags)
 *   legacy  unpatched kernel, module built with `btfids-post --legacy-set8`
 *           (function flags only: the control)
 *
 * __success / __failure / __msg(m) / __retval(n) apply to both variants unless a
 * variant-specific annotation is present, which then replaces them for that variant:
 *   __success_args  __failure_args  __msg_args(m)  __retval_args(n)
 *   __success_legacy __failure_legacy __msg_legacy(m) __retval_legacy(n)
 * __msg: substrings expected in the verifier log, in order of appearance.
 * __retval: expected BPF_PROG_TEST_RUN return value of an accepted program
 *   (programs without one are loaded but not run).
 * __flag_arg(name): the per-argument flag the test exercises (for the matrix).
 * __description(text): one-line description printed by the runner.
 * __unsafe_legacy: the program is loaded but never run in the legacy variant
 *   (an acceptance there would mean the verifier let something unsafe through).
 */
#ifndef __KFUNC_ARGS_BPF_MISC_H__
#define __KFUNC_ARGS_BPF_MISC_H__

/* The kernel's and the sample module's types and kfuncs, generated from BTF. */
#include "sample_kfuncs.h"
#include <bpf/bpf_helpers.h>

#define XSTR(s) STR(s)
#define STR(s) #s

#define __tag(s)		__attribute__((btf_decl_tag(s)))

#define __success		__tag("comment:test_expect_success")
#define __failure		__tag("comment:test_expect_failure")
#define __msg(m)		__tag("comment:test_expect_msg=" XSTR(__COUNTER__) "=" m)
#define __retval(v)		__tag("comment:test_retval=" #v)

#define __success_args		__tag("comment:test_expect_success_args")
#define __failure_args		__tag("comment:test_expect_failure_args")
#define __msg_args(m)		__tag("comment:test_expect_msg_args=" XSTR(__COUNTER__) "=" m)
#define __retval_args(v)	__tag("comment:test_retval_args=" #v)

#define __success_legacy	__tag("comment:test_expect_success_legacy")
#define __failure_legacy	__tag("comment:test_expect_failure_legacy")
#define __msg_legacy(m)		__tag("comment:test_expect_msg_legacy=" XSTR(__COUNTER__) "=" m)
#define __retval_legacy(v)	__tag("comment:test_retval_legacy=" #v)

#define __flag_arg(f)		__tag("comment:test_flag=" #f)
#define __description(d)	__tag("comment:test_description=" d)
#define __unsafe_legacy		__tag("comment:test_unsafe_legacy")

char _license[] SEC("license") = "GPL";

#endif
