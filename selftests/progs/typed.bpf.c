// SPDX-License-Identifier: GPL-2.0
/*
 * The typed kfuncs of kernel-sample: their facts come from the Rust types of their
 * parameters and return values, not from flags (Option<&T>: nullable; &T: trusted, never
 * NULL; Option<ARef<T>> returned: acquire, ret_null; ARef<T> taken: release; &[u8]: a
 * (memory, size) pair). Each program is one of the raw twins' (nullable.bpf.c,
 * refcount.bpf.c, mem_size.bpf.c) with the typed kfuncs, and gets the same verdict and
 * message in both variants. Without the per-argument flags (legacy) only the function
 * flags the types imply (acquire, ret_null, release) remain.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("typed: NULL for hint, an Option<&SampleObj>; the Option<ARef> of bpf_sample_take "
	      "goes back to bpf_sample_put (legacy: hint is trusted, NULL refused)")
__flag_arg(nullable) __success_args __retval_args(2) __failure_legacy
__msg_legacy("Possibly NULL pointer passed to trusted R2")
int typed_peek_null_hint(void *ctx)
{
	struct SampleObj *o = bpf_sample_take(1);
	__u32 n;

	if (!o)
		return -1;
	n = bpf_sample_peek(o, NULL);
	bpf_sample_put(o);
	return n;
}

SEC("syscall")
__description("typed: a real object for the hint")
__flag_arg(nullable) __success __retval(202)
int typed_peek_with_hint(void *ctx)
{
	struct SampleObj *o = bpf_sample_take(1), *h;
	__u32 n;

	if (!o)
		return -1;
	h = bpf_sample_take(2);
	if (!h) {
		bpf_sample_put(o);
		return -2;
	}
	n = bpf_sample_peek(o, h);
	bpf_sample_put(h);
	bpf_sample_put(o);
	return n;
}

SEC("syscall")
__description("typed: NULL for obj, a &SampleObj, which is never NULL: refused as any trusted "
	      "argument")
__flag_arg(nullable) __failure __msg("Possibly NULL pointer passed to trusted R1")
int typed_peek_null_obj(void *ctx)
{
	struct SampleObj *h = bpf_sample_take(1);
	__u32 n;

	if (!h)
		return -1;
	n = bpf_sample_peek(NULL, h);
	bpf_sample_put(h);
	return n;
}

SEC("syscall")
__description("typed: the Option<ARef> bpf_sample_take returns is a reference the program "
	      "must release")
__flag_arg(release) __failure __msg("Unreleased reference")
int typed_take_leak(void *ctx)
{
	struct SampleObj *o = bpf_sample_take(1);

	return o ? 1 : 0;
}

SEC("syscall")
__description("typed: the Option<ARef> may be NULL: passed unchecked to the ARef of "
	      "bpf_sample_put, refused")
__flag_arg(release) __failure __msg("Possibly NULL pointer passed to trusted R1")
int typed_put_unchecked(void *ctx)
{
	struct SampleObj *o = bpf_sample_take(1);

	bpf_sample_put(o);
	return 0;
}

SEC("syscall")
__description("typed: an 8-byte buffer for a &[u8] (pointer and length)")
__flag_arg(size) __success __retval(36)
int typed_sum_bytes(void *ctx)
{
	__u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	return bpf_sample_sum_bytes(buf, sizeof(buf));
}

SEC("syscall")
__description("typed: a length larger than the buffer of the &[u8] (legacy checks 1 byte "
	      "only: loaded, not run)")
__flag_arg(size) __failure_args __msg_args("memory, len pair leads to invalid memory access")
__success_legacy __unsafe_legacy
int typed_sum_bytes_too_long(void *ctx)
{
	__u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	return bpf_sample_sum_bytes(buf, 64);
}
