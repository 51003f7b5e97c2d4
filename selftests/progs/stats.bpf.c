// SPDX-License-Identifier: GPL-2.0
/* Not a test: the runner runs it before and after every test to read live references. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
int sample_live_refs(void *ctx)
{
	return bpf_sample_live_refs();
}
