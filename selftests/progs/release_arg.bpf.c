// SPDX-License-Identifier: GPL-2.0
/*
 * release(src) of bpf_sample_transfer(dst, src): two referenced pointers, only the second
 * released. Without the flag (legacy) 7.3 releases the first argument of a KF_RELEASE
 * kfunc (release_regno is R1): dst, not src.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("transfer drops src's reference; dst stays ours and is released after "
	      "(legacy: transfer released dst, releasing it again is refused)")
__flag_arg(release) __success_args __retval_args(202) __failure_legacy
__msg_legacy("release kfunc bpf_sample_release expects referenced PTR_TO_BTF_ID passed to R1")
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
__description("src is used after transfer released it (legacy: src is released fine, then "
	      "dst, which transfer released, is refused)")
__flag_arg(release) __failure
__msg("release kfunc bpf_sample_release expects referenced PTR_TO_BTF_ID passed to R1")
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
__description("transfer does not release dst: leaking it is caught (legacy: src leaks)")
__flag_arg(release) __failure __msg("Unreleased reference")
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

SEC("syscall")
__description("the same reference as dst and as the released src: the kfunc would use the "
	      "object it releases (legacy: R1 is the released one, R2 an alias of it)")
__flag_arg(release) __failure_args
__msg_args("kfunc bpf_sample_transfer releases R2, which R1 also refers to")
__success_legacy __retval_legacy(202)
int transfer_aliased(void *ctx)
{
	struct SampleObj *d = bpf_sample_acquire(0);

	if (!d)
		return -1;
	return bpf_sample_transfer(d, d);
}
