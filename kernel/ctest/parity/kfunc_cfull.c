// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_cfull: the full conversion of kfunc_csfx.c, as `btfids-post audit` proposes it:
 * the suffix flags of kfunc_cargs.c, and the function flags that are really facts about
 * one argument moved to that argument: KF_RELEASE names its argument (KF_PARAM_RELEASE;
 * for bpf_sample_transfer, with two candidates, the human choice is src), the acquire
 * source of bpf_sample_get is KF_PARAM_ACQUIRE, KF_RCU becomes KF_PARAM_RCU on the task
 * and the iterator methods' state is KF_PARAM_ITER. Pointer arguments without a flag are
 * trusted, the Linux 7.3 default (there is no per-argument "trusted" any more). These
 * are exactly the flags of the Rust
 * sample (kernel-sample/kfunc_sample.rs): kernel/ctest/parity/run.sh, given the Rust
 * module (RUST_SAMPLE_KO), requires the same verdicts and logs for both.
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
#define PARITY_MODULE	"kfunc_cfull"

#include "parity_body.h"

BTF_KFUNCS_ARGS_START(parity_set)
BTF_ID_FLAGS_ARGS(func, bpf_sample_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, bpf_sample_release, KF_RELEASE, KF_PARAM_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_get, KF_ACQUIRE | KF_RET_NULL, KF_PARAM_ACQUIRE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_refcount, 0, 0, KF_PARAM_NULLABLE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_transfer, KF_RELEASE, 0, KF_PARAM_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_scale, 0, 0, KF_PARAM_CONST)
BTF_ID_FLAGS_ARGS(func, bpf_sample_name_len, 0, KF_PARAM_STR)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sleep, KF_SLEEPABLE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_live_refs, 0)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum_opt, 0, KF_PARAM_NULLABLE, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_fill, 0, 0, KF_PARAM_CONST_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, bpf_sample_cookie, 0, 0, KF_PARAM_IGNORE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_map_size, 0, KF_PARAM_MAP)
BTF_ID_FLAGS_ARGS(func, bpf_sample_task_pid, 0, KF_PARAM_RCU)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_new, KF_ITER_NEW, KF_PARAM_ITER)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_next, KF_ITER_NEXT | KF_RET_NULL, KF_PARAM_ITER)
BTF_ID_FLAGS_ARGS(func, bpf_iter_sample_destroy, KF_ITER_DESTROY, KF_PARAM_ITER)
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
BTF_ID_FLAGS_ARGS(func, bpf_sample_put, KF_RELEASE, KF_PARAM_RELEASE)
BTF_ID_FLAGS_ARGS(func, bpf_sample_sum_bytes, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_KFUNCS_ARGS_END(parity_set)

#include "parity_init.h"
