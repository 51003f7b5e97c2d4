/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of kernel-sample (kfunc_sample.ko) as BPF programs see them. The
 * per-argument flags in the comments are those of the Rust #[kfunc] attributes
 * in kernel-sample/kfunc_sample.rs; the names carry no suffixes: every fact about
 * an argument comes from the set8 entry, not from the name.
 */
#ifndef __SAMPLE_KFUNCS_H__
#define __SAMPLE_KFUNCS_H__

#include <linux/types.h>

/* Declared fully: libbpf refuses a kfunc whose pointee is only forward-declared. */
struct SampleObj {
	int refs;
	__u32 id;
	__u64 value;
};

/* acquire, ret_null: a new reference on object id of the module's table */
extern struct SampleObj *bpf_sample_acquire(__u32 id) __ksym;
/* release(obj) */
extern void bpf_sample_release(struct SampleObj *obj) __ksym;
/* acquire(obj), ret_null: one more reference on the object obj points to */
extern struct SampleObj *bpf_sample_get(struct SampleObj *obj) __ksym;
/* trusted(obj, hint), nullable(hint): obj's refcount, plus 100 * hint's when hint is given */
extern __u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *hint) __ksym;
/* release(src): moves src's value into dst and drops the reference on src only */
extern __u32 bpf_sample_transfer(struct SampleObj *dst, struct SampleObj *src) __ksym;
/* size(len, of = data): sum of the len bytes at data */
extern __u64 bpf_sample_sum(const __u8 *data, __u32 len) __ksym;
/* constant(factor): obj's value times factor */
extern __u64 bpf_sample_scale(struct SampleObj *obj, __u32 factor) __ksym;
/* str(name): length of a constant string */
extern __u32 bpf_sample_name_len(const char *name) __ksym;
/* sleepable: may sleep (cond_resched), returns obj's id */
extern __u32 bpf_sample_sleep(struct SampleObj *obj) __ksym;
/* references the BPF side holds on the module's objects, summed over the table */
extern __u64 bpf_sample_live_refs(void) __ksym;

#endif
