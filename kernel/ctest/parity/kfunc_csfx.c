// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_csfx: the C twin of kernel-sample's kfunc set, written the Linux 7.3 way:
 * function flags in a legacy set8 (BTF_KFUNCS_START / BTF_ID_FLAGS) and every fact about
 * a single argument spelled as a parameter-name suffix (__nullable, __sz, __k, __str, ...).
 * Pointer arguments without a suffix are trusted, the default since 7.0 (the function
 * flag that asked for it is gone); 7.3 spells a nullable memory argument of a size pair
 * __nullable (6.12: __opt).
 *
 * kfunc_cargs.c is the same module converted to per-argument flags: plain parameter
 * names, an extended set (BTF_KFUNCS_ARGS_START / BTF_ID_FLAGS_ARGS) with the KF_PARAM_*
 * flag each suffix stood for. The function bodies are the same (parity_body.h); only
 * the parameter names and the set differ. kernel/ctest/parity/run.sh loads the same BPF
 * programs against both and requires the same verdicts and verifier messages.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include <linux/refcount.h>

/* Parameter names: the suffixed spelling. */
#define P_HINT		hint__nullable
#define P_LEN		len__sz
#define P_FACTOR	factor__k
#define P_NAME		name__str
#define P_OPT_DATA	data__nullable
#define P_FILL_LEN	len__szk
#define P_IGN		p__ign
#define P_MAP		m__map
#define P_SO_DATA	data__nullable
#define P_SO_LEN	len__sz
#define P_COOKIE	cookie__ign
#define P_MAPARG	map__map
#define P_ITER	it__iter
#define P_DYNPTR	d__uninit
#define P_RC_OBJ	obj__refcounted_kptr
#define P_ALLOC_OBJ	obj__alloc
#define P_PEEK_HINT	hint__nullable
#define P_SB_LEN	data_len__sz
#define PARITY_MODULE	"kfunc_csfx"

#include "parity_body.h"

BTF_KFUNCS_START(parity_set)
BTF_ID_FLAGS(func, bpf_sample_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_sample_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_sample_get, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_sample_refcount)
BTF_ID_FLAGS(func, bpf_sample_transfer, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_sample_sum)
BTF_ID_FLAGS(func, bpf_sample_scale)
BTF_ID_FLAGS(func, bpf_sample_name_len)
BTF_ID_FLAGS(func, bpf_sample_sleep, KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_sample_live_refs)
BTF_ID_FLAGS(func, bpf_sample_sum_opt)
BTF_ID_FLAGS(func, bpf_sample_fill)
BTF_ID_FLAGS(func, bpf_sample_cookie)
BTF_ID_FLAGS(func, bpf_sample_map_size)
BTF_ID_FLAGS(func, bpf_sample_task_pid, KF_RCU)
BTF_ID_FLAGS(func, bpf_iter_sample_new, KF_ITER_NEW)
BTF_ID_FLAGS(func, bpf_iter_sample_next, KF_ITER_NEXT | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_iter_sample_destroy, KF_ITER_DESTROY)
BTF_ID_FLAGS(func, bpf_sample_iter_pos)
BTF_ID_FLAGS(func, bpf_sample_dynptr_null)
BTF_ID_FLAGS(func, bpf_sample_local_value)
BTF_ID_FLAGS(func, bpf_sample_local_peek)
BTF_ID_FLAGS(func, bpf_cpar_sum_opt)
BTF_ID_FLAGS(func, bpf_cpar_fill)
BTF_ID_FLAGS(func, bpf_cpar_ign)
BTF_ID_FLAGS(func, bpf_cpar_map)
BTF_ID_FLAGS(func, bpf_sample_peek)
BTF_ID_FLAGS(func, bpf_sample_take, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_sample_put, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_sample_sum_bytes)
BTF_KFUNCS_END(parity_set)

#include "parity_init.h"
