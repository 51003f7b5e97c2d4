// SPDX-License-Identifier: GPL-2.0
/*
 * Programs for the suffixes kernel-sample did not use at first (__nullable on the memory
 * of a size pair, 6.12's __opt; __szk, __ign, __map),
 * against the kfuncs bpf_cpar_* of the parity modules (parity_body.h). Each program must
 * get the same verdict and verifier log with kfunc_csfx (suffixes) and kfunc_cargs
 * (per-argument flags).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u64 bpf_cpar_sum_opt(const __u8 *data, __u32 len) __ksym;
extern __u32 bpf_cpar_fill(__u8 *buf, __u32 len) __ksym;
extern __u32 bpf_cpar_ign(void *p, __u32 x) __ksym;
extern __u32 bpf_cpar_map(void *m) __ksym;

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

/* __nullable memory of a size pair: a NULL memory argument is allowed (returns 0) */
SEC("syscall") int opt_null(void *ctx)
{
	return bpf_cpar_sum_opt(NULL, 0);
}

SEC("syscall") int opt_buf(void *ctx)
{
	__u8 b[4] = { 1, 2, 3, 4 };

	return bpf_cpar_sum_opt(b, sizeof(b));
}

/* __sz: the size is checked against the memory argument */
SEC("syscall") int opt_too_long(void *ctx)
{
	__u8 b[4] = { 1, 2, 3, 4 };

	return bpf_cpar_sum_opt(b, 8);
}

/* __szk: a constant size is accepted ... */
SEC("syscall") int szk_const(void *ctx)
{
	__u8 b[4] = {};

	return bpf_cpar_fill(b, sizeof(b)) * 10 + b[3];
}

/* ... a variable one is not */
SEC("syscall") int szk_var(void *ctx)
{
	__u8 b[4] = {};
	__u32 n = bpf_get_prandom_u32() & 3;

	return bpf_cpar_fill(b, n);
}

/* __ign: the argument is not checked at all, a scalar passes */
SEC("syscall") int ign_scalar(void *ctx)
{
	return bpf_cpar_ign((void *)(long)(bpf_get_prandom_u32() & 1), 4);
}

/* __map: a map pointer is required */
SEC("syscall") int map_ok(void *ctx)
{
	return bpf_cpar_map(&arr);
}

SEC("syscall") int map_not_map(void *ctx)
{
	__u64 x = 0;

	return bpf_cpar_map(&x);
}
