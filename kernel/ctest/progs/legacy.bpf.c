// SPDX-License-Identifier: GPL-2.0
/* vmlinux kfuncs of legacy sets, whose argument facts are name suffixes
 * (bpf_dynptr_slice: buffer__nullable, buffer__szk; Linux 7.3 renamed __opt to
 * __nullable). Their verdicts and messages must be the same on the unpatched and the
 * patched kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u64 offset,
			      void *buffer__nullable, __u64 buffer__szk) __ksym;

char _license[] SEC("license") = "GPL";

/* bpf_dynptr_from_mem() wants map memory: global data lives in the .data map. */
char data[8] = { 7, 6, 5, 4, 3, 2, 1, 0 };

SEC("syscall") int legacy_slice_good(void *ctx)
{
	struct bpf_dynptr ptr;
	char buf[4];
	char *p;

	bpf_dynptr_from_mem(data, sizeof(data), 0, &ptr);
	p = bpf_dynptr_slice(&ptr, 1, buf, sizeof(buf));
	if (!p)
		return -1;
	return p[0] + p[3];
}

SEC("syscall") int legacy_slice_null_buf(void *ctx)
{
	struct bpf_dynptr ptr;
	char *p;

	bpf_dynptr_from_mem(data, sizeof(data), 0, &ptr);
	p = bpf_dynptr_slice(&ptr, 2, NULL, 2);	/* __nullable: NULL buffer allowed */
	if (!p)
		return -1;
	return p[1];
}

SEC("syscall") int legacy_slice_var_size(void *ctx)
{
	struct bpf_dynptr ptr;
	char buf[4];
	char *p;

	bpf_dynptr_from_mem(data, sizeof(data), 0, &ptr);
	p = bpf_dynptr_slice(&ptr, 0, buf, bpf_get_prandom_u32() & 3);	/* __szk: not const */
	if (!p)
		return -1;
	return p[0];
}
