// SPDX-License-Identifier: GPL-2.0
/*
 * nullable(hint) of bpf_sample_refcount, and obj without a flag: trusted and not NULL, the
 * default of every pointer argument since Linux 7.0 (6.12 needed trusted(obj)). Without
 * the flags (legacy) 7.3 trusts hint too, so it refuses NULL there as well.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("NULL for the nullable hint (legacy: hint is trusted and not nullable, NULL refused)")
__flag_arg(nullable) __success_args __retval_args(2) __failure_legacy
__msg_legacy("Possibly NULL pointer passed to trusted R2")
int refcount_null_hint(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);
	__u32 n;

	if (!o)
		return -1;
	n = bpf_sample_refcount(o, NULL);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("a maybe-NULL reference for the nullable hint: nullable admits NULL itself, "
	      "not an unchecked pointer, which is not trusted (as __nullable in 7.3; legacy: "
	      "not nullable, refused as maybe NULL)")
__flag_arg(nullable) __failure __msg_args("R2 must be referenced or trusted")
__msg_legacy("Possibly NULL pointer passed to trusted R2")
int refcount_maybe_null_hint(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1), *h;
	__u32 n;

	if (!o)
		return -1;
	h = bpf_sample_acquire(5);
	n = bpf_sample_refcount(o, h);
	if (h)
		bpf_sample_release(h);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("a real object for the hint")
__flag_arg(nullable) __success __retval(202)
int refcount_with_hint(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1), *h;
	__u32 n;

	if (!o)
		return -1;
	h = bpf_sample_acquire(2);
	if (!h) {
		bpf_sample_release(o);
		return -2;
	}
	n = bpf_sample_refcount(o, h);
	bpf_sample_release(h);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("NULL for obj, which has no flag: trusted, the 7.3 default, and not nullable "
	      "(legacy too: 6.12 without flags accepted it)")
__flag_arg(nullable) __failure __msg("Possibly NULL pointer passed to trusted R1")
int refcount_null_obj(void *ctx)
{
	struct SampleObj *h = bpf_sample_acquire(1);
	__u32 n;

	if (!h)
		return -1;
	n = bpf_sample_refcount(NULL, h);
	bpf_sample_release(h);
	return n;
}
