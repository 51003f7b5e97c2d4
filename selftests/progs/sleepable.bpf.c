// SPDX-License-Identifier: GPL-2.0
/* sleepable bpf_sample_sleep: syscall programs are sleepable, tc programs are not. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("a sleepable kfunc from a sleepable (syscall) program")
__flag_arg(sleepable) __success __retval(3)
int sleep_in_syscall(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(3);
	__u32 id;

	if (!o)
		return -1;
	id = bpf_sample_sleep(o);
	bpf_sample_release(o);
	return id;
}

SEC("tc")
__description("a sleepable kfunc from a non-sleepable (tc) program")
__flag_arg(sleepable) __failure __msg("program must be sleepable to call sleepable kfunc")
int sleep_in_tc(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(3);
	__u32 id;

	if (!o)
		return -1;
	id = bpf_sample_sleep(o);
	bpf_sample_release(o);
	return id;
}

SEC("tc")
__description("acquire/release from a tc program (the set registered for SCHED_CLS)")
__flag_arg(release) __success __retval(202)
int tc_acquire_release(void *ctx)
{
	struct SampleObj *o = bpf_sample_acquire(1);
	__u32 n;

	if (!o)
		return -1;
	n = bpf_sample_refcount(o, o);
	bpf_sample_release(o);
	return n;
}
