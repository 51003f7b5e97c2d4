// SPDX-License-Identifier: GPL-2.0
/* size(len, of = data) of bpf_sample_sum. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("an 8-byte buffer with its size")
__flag_arg(size) __success __retval(36)
int sum_buffer(void *ctx)
{
	__u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	return bpf_sample_sum(buf, sizeof(buf));
}

SEC("syscall")
__description("a size larger than the buffer (legacy checks 1 byte only: loaded, not run)")
__flag_arg(size) __failure_args __msg_args("memory, len pair leads to invalid memory access")
__success_legacy __unsafe_legacy
int sum_too_long(void *ctx)
{
	__u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	return bpf_sample_sum(buf, 64);
}

SEC("syscall")
__description("a 16-byte buffer with its size: the whole buffer is live for the stack liveness "
	      "analysis of 7.3 (the flagged size pair counts, as __sz does)")
__flag_arg(size) __success_args __retval_args(136)
int sum_buffer16(void *ctx)
{
	__u8 buf[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	return bpf_sample_sum(buf, sizeof(buf));
}
