// SPDX-License-Identifier: GPL-2.0
/* nullable(hint) and trusted(obj) of bpf_sample_refcount. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("NULL for the nullable hint (legacy: no pointer argument is trusted, NULL passes)")
__flag_arg(nullable) __success __retval(2)
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
	      "not an unchecked pointer (as __nullable in 6.12)")
__flag_arg(nullable) __failure __msg("arg#1 is ptr_or_null_ expected ptr_ or socket")
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
__description("NULL for obj, which is trusted and not nullable (legacy: accepted, never run)")
__flag_arg(trusted) __failure_args __msg_args("R1 may be NULL, but the argument is trusted")
__success_legacy __unsafe_legacy
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
