/* SPDX-License-Identifier: GPL-2.0 */
/* kfuncs of kernel-sample (kfunc_sample.ko), as BPF programs see them. */
#ifndef __SAMPLE_KFUNCS_H__
#define __SAMPLE_KFUNCS_H__

#include <linux/types.h>

/* Declared fully: libbpf refuses a kfunc whose pointee is only forward-declared. */
struct SampleObj {
	int refs;
	__u32 id;
	__u64 value;
};

extern struct SampleObj *bpf_sample_acquire(__u32 id) __ksym;
extern void bpf_sample_release(struct SampleObj *obj) __ksym;
extern __u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *hint) __ksym;
extern __u64 bpf_sample_live_refs(void) __ksym;

#endif
