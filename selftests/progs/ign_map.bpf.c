// SPDX-License-Identifier: GPL-2.0
/*
 * ignore(cookie) of bpf_sample_cookie, map(map) of bpf_sample_map_size. Without the flags
 * (legacy) both kfuncs take a void * that is neither a map nor memory with a size: 7.3
 * refuses the kfunc's prototype when the program is loaded (get_kfunc_arg_type(), before
 * any instruction is verified), whatever the program passes.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

SEC("syscall")
__description("a scalar for the ignored cookie (legacy: the void * cookie is refused)")
__flag_arg(ignore) __success_args __retval_args(62) __failure_legacy
__msg_legacy("R2 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int cookie_scalar(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);
	__u64 v;

	if (!o)
		return -1;
	v = bpf_sample_cookie(o, (const void *)(long)0x2a);
	bpf_sample_release(o);
	return v;
}

SEC("syscall")
__description("ignore is per argument: a NULL obj next to the ignored cookie is refused, obj "
	      "is trusted (the default) and not nullable (legacy: the unflagged cookie is "
	      "refused first)")
__flag_arg(ignore) __failure __msg_args("Possibly NULL pointer passed to trusted R1")
__msg_legacy("R2 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int cookie_null_obj(void *ctx)
{
	return bpf_sample_cookie(NULL, (const void *)(long)0x2a);
}

SEC("syscall")
__description("a BPF map for the map argument (legacy: void * is not a memory type)")
__flag_arg(map) __success_args __retval_args(3) __failure_legacy
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int map_size_map(void *ctx)
{
	return bpf_sample_map_size(&arr);
}

SEC("syscall")
__description("a stack pointer for the map argument (7.3 checks __map as a struct bpf_map "
	      "kernel object)")
__flag_arg(map) __failure __msg_args("R1 is fp expected STRUCT bpf_map or map_ptr")
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int map_size_stack(void *ctx)
{
	__u64 x = 0;

	return bpf_sample_map_size(&x);
}
