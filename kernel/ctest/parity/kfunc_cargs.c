// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_cargs: kfunc_csfx.c converted from parameter-name suffixes to per-argument
 * flags. The parameter names are plain; each suffix became the KF_PARAM_* flag of that
 * argument in an extended set (BTF_ID_FLAGS_ARGS(func, name, KF_* flags, arg0 flags,
 * arg1 flags, ...)). The function flags are unchanged, so the verifier must behave
 * exactly as with kfunc_csfx (kernel/ctest/parity/run.sh checks it).
 *
 * Built with -DPARITY_CONTROL (kfunc_cctl.c) the set keeps the plain names but drops the
 * per-argument flags: the control that shows the flags, not the names, carry the facts.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include <linux/refcount.h>

#define P_HINT		hint
#define P_LEN		len
#define P_FACTOR	factor
#define P_NAME		name
#define P_OPT_DATA	data
#define P_FILL_LEN	len
#define P_IGN		p
#define P_MAP		m
#define P_SO_DATA	data
#define P_SO_LEN	len
#define P_COOKIE	cookie
#define P_MAPARG	map
#define P_ITER	it
#define P_DYNPTR	d
#define P_RC_OBJ	obj
#define P_ALLOC_OBJ	obj
#define P_PEEK_HINT	hint
#define P_SB_LEN	data_len
#ifndef PARITY_MODULE
#define PARITY_MODULE	"kfunc_cargs"
#endif

#include "parity_body.h"

#ifndef PARITY_CONTROL
BTF_KFUNCS_ARGS_START(parity_set)
BTF_ID_FLAGS_ARGS(func, bpf_sample_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, bpf_sample_release, KF_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_get, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, bpf_sample_refcount, 0, 0, KF_PARAM_NULLABLE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_transfer, KF_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_scale, 0, 0, KF_PARAM_CONST)
BTF_ID_FLAGS_ARGS(func, bpf_sample_name_len, 0, KF_PARAM_STR)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sleep, KF_SLEEPABLE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_live_refs, 0)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum_opt, 0, KF_PARAM_NULLABLE, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_fill, 0, 0, KF_PARAM_CONST_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_cookie, 0, 0, KF_PARAM_IGNORE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_map_size, 0, KF_PARAM_MAP)
BTF_ID_FLAGS_ARGS(func, bpf_sample_task_pid, KF_RCU)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_new, KF_ITER_NEW)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_next, KF_ITER_NEXT | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_destroy, KF_ITER_DESTROY)
BTF_ID_FLAGS_ARGS(func, bpf_sample_iter_pos, 0, KF_PARAM_ITER)
BTF_ID_FLAGS_ARGS(func, bpf_sample_dynptr_null, 0, KF_PARAM_UNINIT)
BTF_ID_FLAGS_ARGS(func, bpf_sample_local_value, 0, KF_PARAM_REFCOUNTED_KPTR)
BTF_ID_FLAGS_ARGS(func, bpf_sample_local_peek, 0, KF_PARAM_ALLOC)
BTF_ID_FLAGS_ARGS(func, bpf_cpar_sum_opt, 0, KF_PARAM_NULLABLE, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_cpar_fill, 0, 0, KF_PARAM_CONST_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_cpar_ign, 0, KF_PARAM_IGNORE)
BTF_ID_FLAGS_ARGS(func, bpf_cpar_map, 0, KF_PARAM_MAP)
BTF_ID_FLAGS_ARGS(func, bpf_sample_peek, 0, 0, KF_PARAM_NULLABLE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_take, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, bpf_sample_put, KF_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum_bytes, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_KFUNCS_ARGS_END(parity_set)
#else
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
#endif

#include "parity_init.h"
