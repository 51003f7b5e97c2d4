// SPDX-License-Identifier: GPL-2.0
/*
 * The open-coded iterator bpf_iter_sample_{new,next,destroy} (function flags iter_new,
 * iter_next, iter_destroy, each with iter(arg0)) and bpf_sample_iter_pos, a plain kfunc
 * taking an iterator (iter(it)).
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

/*
 * The module's BTF gives struct bpf_iter_sample a size and no members, so the generated
 * header's definition has alignment 1 (sample_kfuncs.h); the verifier wants the state on
 * 8-byte aligned stack slots, as the Rust type is (#[repr(C, align(8))]).
 */
#define __iter_state __attribute__((aligned(8)))

SEC("syscall")
__description("iterate over objects 1..3 and sum their values (20 + 30 + 40)")
__flag_arg(iter) __success __retval(90)
int iter_sum(void *ctx)
{
	struct bpf_iter_sample it __iter_state;
	const __u64 *v;
	__u64 sum = 0;

	bpf_iter_sample_new(&it, 1);
	while ((v = bpf_iter_sample_next(&it)))
		sum += *v;
	bpf_iter_sample_destroy(&it);
	return sum;
}

SEC("syscall")
__description("next on an iterator that was never created")
__flag_arg(iter) __failure __msg("expected an initialized iter_sample as R1")
int iter_next_without_new(void *ctx)
{
	struct bpf_iter_sample it __iter_state;
	const __u64 *v;

	v = bpf_iter_sample_next(&it);
	return v ? *v : 0;
}

SEC("syscall")
__description("an iterator that is never destroyed")
__flag_arg(iter) __failure __msg("Unreleased reference")
int iter_leak(void *ctx)
{
	struct bpf_iter_sample it __iter_state;
	const __u64 *v;

	bpf_iter_sample_new(&it, 0);
	v = bpf_iter_sample_next(&it);
	return v ? *v : 0;
}

SEC("syscall")
__description("iter(it) of a plain kfunc: the position after two steps "
	      "(legacy: no iter flag; the module's BTF describes the state as a struct without "
	      "members, which 7.3 reads as 8 bytes of memory, and iterator slots are not readable)")
__flag_arg(iter) __success_args __retval_args(2) __failure_legacy
__msg_legacy("invalid read from stack R1 off -8+0 size 8")
int iter_pos(void *ctx)
{
	struct bpf_iter_sample it __iter_state;
	__u32 pos;

	bpf_iter_sample_new(&it, 0);
	bpf_iter_sample_next(&it);
	bpf_iter_sample_next(&it);
	pos = bpf_sample_iter_pos(&it);
	bpf_iter_sample_destroy(&it);
	return pos;
}

SEC("syscall")
__description("iter(it) of a plain kfunc: an iterator state that was never created "
	      "(legacy: uninitialised stack memory, readable by root: accepted, never run)")
__flag_arg(iter) __failure_args __msg_args("expected an initialized iter_sample as R1")
__success_legacy __unsafe_legacy
int iter_pos_uninit(void *ctx)
{
	struct bpf_iter_sample it __iter_state;

	return bpf_sample_iter_pos(&it);
}
