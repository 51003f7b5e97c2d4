// SPDX-License-Identifier: GPL-2.0
/*
 * nullable(data) on the memory of the (memory, size) pair of bpf_sample_sum_opt (6.12's
 * optional/__opt, 7.3's __nullable), const_size(len, of = buf) of bpf_sample_fill. Without
 * the flags (legacy) data is a trusted 1-byte memory argument, which 7.3 refuses NULL or
 * maybe-NULL for.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

/* Two elements: a run without the size check of the 16-byte read below (a module without
 * the flags, such as the C control) stays inside the map's values. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

/* Zero at run time, unknown to the verifier (a writable global): the NULL path below is
 * verified but never taken, so a module that accepted the program would not dereference
 * NULL when it runs. As an array map key it makes a lookup maybe-NULL (7.3 knows that a
 * constant in-range key of an array map gives a non-NULL value).
 */
__u64 never_set;

SEC("syscall")
__description("NULL with a non-zero size for the nullable memory of a (memory, size) pair: "
	      "the size is not checked (legacy: not nullable, NULL refused)")
__flag_arg(nullable) __success_args __retval_args(0) __failure_legacy
__msg_legacy("Possibly NULL pointer passed to trusted R1")
int sum_opt_null(void *ctx)
{
	return bpf_sample_sum_opt(NULL, 8);
}


SEC("syscall")
__description("NULL (on a path the verifier explores) with a size for bpf_sample_sum, whose "
	      "memory is not nullable (legacy too: 6.12 without flags accepted it)")
__flag_arg(nullable) __failure __msg("Possibly NULL pointer passed to trusted R1")
int sum_null_not_optional(void *ctx)
{
	__u8 b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	__u8 *p = b;

	if (never_set)
		p = NULL;
	return bpf_sample_sum(p, sizeof(b));
}

SEC("syscall")
__description("a buffer for the nullable memory: the size is still checked")
__flag_arg(nullable) __success __retval(10)
int sum_opt_buf(void *ctx)
{
	__u8 b[4] = { 1, 2, 3, 4 };

	return bpf_sample_sum_opt(b, sizeof(b));
}

SEC("syscall")
__description("a maybe-NULL map value for the nullable memory: accepted, the kfunc sees "
	      "NULL or 8 checked bytes (legacy: not nullable, refused)")
__flag_arg(nullable) __success_args __retval_args(0) __failure_legacy
__msg_legacy("Possibly NULL pointer passed to trusted R1")
int sum_opt_maybe_null(void *ctx)
{
	__u8 *p = bpf_map_lookup_elem(&bytes, &(__u32){ never_set });

	return bpf_sample_sum_opt(p, 8);
}

SEC("syscall")
__description("a maybe-NULL map value with a size past its end: nullable skips the size "
	      "check only for a known NULL (legacy: not nullable, refused as maybe NULL)")
__flag_arg(nullable) __failure __msg_args("R1 and R2 memory, len pair leads to invalid memory access")
__msg_legacy("Possibly NULL pointer passed to trusted R1")
int sum_opt_maybe_null_too_long(void *ctx)
{
	__u8 *p = bpf_map_lookup_elem(&bytes, &(__u32){ never_set });

	return bpf_sample_sum_opt(p, 16);
}

SEC("syscall")
__description("a constant size for the filled buffer")
__flag_arg(const_size) __success __retval(44)
int fill_const(void *ctx)
{
	__u8 b[4] = {};

	return bpf_sample_fill(b, sizeof(b)) * 10 + b[3];
}

SEC("syscall")
__description("a size only known at run time (legacy: a 1-byte memory argument, "
	      "accepted, never run: it would write past the buffer)")
__flag_arg(const_size) __failure_args __msg_args("R2 must be a known constant")
__success_legacy __unsafe_legacy
int fill_variable(void *ctx)
{
	__u8 b[4] = {};

	return bpf_sample_fill(b, bpf_get_prandom_u32() & 3);
}
