// SPDX-License-Identifier: GPL-2.0
/*
 * uninit(d) of bpf_sample_dynptr_null. In 7.3 (as in 6.12) an uninitialised dynptr
 * argument gets a dynptr type only for the verifier's own constructors
 * (bpf_dynptr_from_skb/_xdp/_skb_meta/_file/_clone, check_kfunc_args); for any other
 * kfunc, mark_stack_slots_dynptr() finds no type and
 * the call is refused (-EINVAL, no message): no program can call this kfunc. The flag still
 * decides the verdict: without it (legacy) an initialised dynptr is accepted; with it, the
 * same program goes the uninit way (an unreferenced initialised dynptr may be overwritten,
 * is_dynptr_reg_valid_uninit) and is refused like the uninitialised one.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

/* dynptr memory: a map value (bpf_dynptr_from_mem refuses the stack) */
__u8 dbuf[8];

SEC("syscall")
__description("an uninitialised dynptr: what uninit admits, but 7.3 has no dynptr type for a "
	      "module kfunc's new dynptr: refused with -EINVAL and no message after the call "
	      "(no positive case possible; legacy: must be initialised)")
__flag_arg(uninit) __failure_args __msg_args("call bpf_sample_dynptr_null#") __failure_legacy
__msg_legacy("Expected an initialized dynptr as R1")
int dynptr_null_uninit(void *ctx)
{
	struct bpf_dynptr d;

	return bpf_sample_dynptr_null(&d);
}

SEC("syscall")
__description("an initialised dynptr for the uninit argument: refused the same silent way "
	      "(legacy: accepted, never run)")
__flag_arg(uninit) __failure_args __msg_args("call bpf_sample_dynptr_null#")
__success_legacy __unsafe_legacy
int dynptr_null_initialized(void *ctx)
{
	struct bpf_dynptr d;

	bpf_dynptr_from_mem(dbuf, sizeof(dbuf), 0, &d);
	return bpf_sample_dynptr_null(&d);
}
