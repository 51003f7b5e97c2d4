// SPDX-License-Identifier: GPL-2.0
/* constant(factor) of bpf_sample_scale. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("a constant factor")
__flag_arg(constant) __success __retval(90)
int scale_const(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(2);
	__u64 v;

	if (!o)
		return -1;
	v = bpf_sample_scale(o, 3);
	bpf_sample_release(o);
	return v;
}

SEC("syscall")
__description("a factor only known at run time")
__flag_arg(constant) __failure_args __msg_args("must be a known constant") __success_legacy
int scale_variable(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(2);
	__u64 v;

	if (!o)
		return -1;
	v = bpf_sample_scale(o, 3 + (bpf_get_prandom_u32() & 1));
	bpf_sample_release(o);
	return v;
}
