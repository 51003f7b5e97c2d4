// SPDX-License-Identifier: GPL-2.0
/* str(name) of bpf_sample_name_len. */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

const volatile char sample_name[] = "sample";

SEC("syscall")
__description("a constant string in a read-only map (legacy: a writable memory argument)")
__flag_arg(str) __success_args __retval_args(6) __failure_legacy
__msg_legacy("write into map forbidden")
int name_len_rodata(void *ctx)
{
	return bpf_sample_name_len((const char *)sample_name);
}

SEC("syscall")
__description("a string on the stack")
__flag_arg(str) __failure_args __msg_args("R1 doesn't point to a const string")
__success_legacy __retval_legacy(5)
int name_len_stack(void *ctx)
{
	char buf[8] = "stack";

	return bpf_sample_name_len(buf);
}
