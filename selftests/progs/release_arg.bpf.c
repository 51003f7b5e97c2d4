// SPDX-License-Identifier: GPL-2.0
/* release(src) of bpf_sample_transfer(dst, src): two referenced pointers, only the second released. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("transfer drops src's reference; dst stays ours and is released after")
__flag_arg(release) __success_args __retval_args(202) __failure_legacy
__msg_legacy("more than one arg with ref_obj_id")
int transfer_releases_src(void *ctx)
{
	struct SampleObj *d = bpf_sample_acquire(0), *s;
	__u32 n;

	if (!d)
		return -1;
	s = bpf_sample_acquire(1);
	if (!s) {
		bpf_sample_release(d);
		return -2;
	}
	/* 100 * dst refs + src refs, both read before src is released: (1 + 1) each */
	n = bpf_sample_transfer(d, s);
	bpf_sample_release(d);
	return n;
}

SEC("syscall")
__description("src is used after transfer released it")
__flag_arg(release) __failure __msg_args("R1 type=scalar expected=fp")
__msg_legacy("more than one arg with ref_obj_id")
int transfer_src_used_after(void *ctx)
{
	struct SampleObj *d = bpf_sample_acquire(0), *s;
	__u32 n;

	if (!d)
		return -1;
	s = bpf_sample_acquire(1);
	if (!s) {
		bpf_sample_release(d);
		return -2;
	}
	n = bpf_sample_transfer(d, s);
	bpf_sample_release(s);
	bpf_sample_release(d);
	return n;
}

SEC("syscall")
__description("transfer does not release dst: leaking it is caught")
__flag_arg(release) __failure __msg_args("Unreleased reference")
__msg_legacy("more than one arg with ref_obj_id")
int transfer_dst_leak(void *ctx)
{
	struct SampleObj *d = bpf_sample_acquire(0), *s;

	if (!d)
		return -1;
	s = bpf_sample_acquire(1);
	if (!s) {
		bpf_sample_release(d);
		return -2;
	}
	return bpf_sample_transfer(d, s);
}
