// SPDX-License-Identifier: GPL-2.0
/* Acquire/release with real reference counts. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("acquire, read the refcount (table ref + ours), release")
__success __retval(2)
int acquire_release(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);
	__u32 n;

	if (!o)
		return -1;
	n = bpf_sample_refcount(o, 0);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("a reference that is never released")
__failure __msg("Unreleased reference")
int acquire_leak(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);

	if (!o)
		return -1;
	return 0;
}

SEC("syscall")
__description("release of a possibly-NULL pointer")
__failure __msg("Possibly NULL pointer passed")
int release_unchecked(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(2);

	bpf_sample_release(o);
	return 0;
}
