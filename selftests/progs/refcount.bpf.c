// SPDX-License-Identifier: GPL-2.0
/* acquire / release / acquire(obj): real reference counts on the module's objects. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("acquire, read the refcount (table's + ours) twice via obj and hint, release")
__flag_arg(release) __success __retval(202)
int acquire_release(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);
	__u32 n;

	if (!o)
		return -1;
	n = bpf_sample_refcount(o, o);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("acquire of an id outside the table returns NULL")
__success __retval(7)
int acquire_missing(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(99);

	if (!o)
		return 7;
	bpf_sample_release(o);
	return 0;
}

SEC("syscall")
__description("a reference that is never released")
__flag_arg(release) __failure __msg("Unreleased reference")
int acquire_leak(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);

	if (!o)
		return -1;
	return 0;
}

SEC("syscall")
__description("release of a possibly-NULL pointer (the released argument is not nullable)")
__flag_arg(release) __failure __msg("Possibly NULL pointer passed to trusted R1")
int release_unchecked(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(2);

	bpf_sample_release(o);
	return 0;
}

SEC("syscall")
__description("acquire(obj): a second reference on the same object, both released")
__flag_arg(acquire) __success __retval(303)
int get_second_ref(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(0), *p;
	__u32 n;

	if (!o)
		return -1;
	p = bpf_sample_get(o);
	if (!p) {
		bpf_sample_release(o);
		return -2;
	}
	n = bpf_sample_refcount(p, o);
	bpf_sample_release(p);
	bpf_sample_release(o);
	return n;
}

SEC("syscall")
__description("acquire(obj): the reference returned by get is leaked")
__flag_arg(acquire) __failure __msg("Unreleased reference")
int get_leak(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(0), *p;

	if (!o)
		return -1;
	p = bpf_sample_get(o);
	bpf_sample_release(o);
	return p ? 1 : 0;
}

SEC("syscall")
__description("acquire(obj): the source of get may be NULL (it is trusted and not nullable, "
	      "like any argument without a flag)")
__flag_arg(acquire) __failure __msg("Possibly NULL pointer passed to trusted R1")
int get_null_source(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(7), *p;

	p = bpf_sample_get(o);
	if (p)
		bpf_sample_release(p);
	if (o)
		bpf_sample_release(o);
	return 0;
}
