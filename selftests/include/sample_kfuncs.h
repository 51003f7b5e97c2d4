/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of kernel-sample (kfunc_sample.ko) as BPF programs see them. The
 * per-argument flags in the comments are those of the Rust #[kfunc] attributes
 * in kernel-sample/kfunc_sample.rs; the names carry no suffixes: every fact about
 * an argument comes from the set8 entry, not from the name. A pointer argument
 * without a flag is trusted and not NULL, the default since Linux 7.0.
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
/* nullable(hint): obj's refcount, plus 100 * hint's when hint is given (both trusted) */
extern __u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *hint) __ksym;
/* release(src): 100 * dst's refcount + src's, then drops the reference on src only */
extern __u32 bpf_sample_transfer(struct SampleObj *dst, struct SampleObj *src) __ksym;
/* size(len, of = data): sum of the len bytes at data */
extern __u64 bpf_sample_sum(const __u8 *data, __u32 len) __ksym;
/* constant(factor): obj's value times factor */
extern __u64 bpf_sample_scale(struct SampleObj *obj, __u32 factor) __ksym;
/* str(name): length of a constant string */
extern __u32 bpf_sample_name_len(const char *name) __ksym;
/* sleepable: may sleep (cond_resched), returns obj's id */
extern __u32 bpf_sample_sleep(struct SampleObj *obj) __ksym;
/* nullable(data), size(len, of = data): sum of the len bytes at data, 0 when data is NULL */
extern __u64 bpf_sample_sum_opt(const __u8 *data, __u32 len) __ksym;
/* const_size(len, of = buf): fills buf with 1, 2, 3, ..., returns len (a known constant) */
extern __u32 bpf_sample_fill(__u8 *buf, __u32 len) __ksym;
/* ignore(cookie): obj's value + (cookie & 0xff); cookie is never dereferenced */
extern __u64 bpf_sample_cookie(struct SampleObj *obj, const void *cookie) __ksym;
/* map(map): max_entries of a BPF map */
extern __u32 bpf_sample_map_size(void *map) __ksym;

/* Only what the programs read, relocated against vmlinux BTF (CO-RE). */
struct task_struct {
	int pid;
	struct task_struct *real_parent;
	struct task_struct *pi_top_task;
} __attribute__((preserve_access_index));

/* rcu(task): the pid of a trusted or RCU-protected task */
extern int bpf_sample_task_pid(struct task_struct *task) __ksym;

/* The open-coded iterator over the module's table: state on the stack, 8 bytes. */
struct bpf_iter_sample {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

/* iter_new, iter(it): iterate from object start (-EINVAL and empty past the table) */
extern int bpf_iter_sample_new(struct bpf_iter_sample *it, __u32 start) __ksym;
/* iter_next, ret_null, iter(it): the next object's value, NULL at the end */
extern const __u64 *bpf_iter_sample_next(struct bpf_iter_sample *it) __ksym;
/* iter_destroy, iter(it) */
extern void bpf_iter_sample_destroy(struct bpf_iter_sample *it) __ksym;
/* iter(it): index of the next object the iteration returns (a plain kfunc) */
extern __u32 bpf_sample_iter_pos(struct bpf_iter_sample *it) __ksym;

/* uninit(d): makes d a null dynptr (never accepted by 7.3, as 6.12, for a module kfunc) */
struct bpf_dynptr;
extern int bpf_sample_dynptr_null(struct bpf_dynptr *d) __ksym;
/* refcounted_kptr(obj): the leading u64 of a refcounted local object */
extern __u64 bpf_sample_local_value(const void *obj) __ksym;
/* alloc(obj): the leading u64 of a local object (never accepted by 7.3 for a module kfunc) */
extern __u64 bpf_sample_local_peek(const void *obj) __ksym;

/*
 * The typed twins: the Rust kfuncs take Rust types (references, ARef, a byte slice) and
 * #[kfunc] derives the same facts from them; the C ABI is that of the raw twin named.
 */
/* obj: &SampleObj (trusted, never NULL), hint: Option<&SampleObj> (nullable); as bpf_sample_refcount */
extern __u32 bpf_sample_peek(const struct SampleObj *obj, const struct SampleObj *hint) __ksym;
/* returns Option<ARef<SampleObj>> (acquire, ret_null); as bpf_sample_acquire */
extern struct SampleObj *bpf_sample_take(__u32 id) __ksym;
/* obj: ARef<SampleObj> (release); as bpf_sample_release */
extern void bpf_sample_put(struct SampleObj *obj) __ksym;
/* data: &[u8], at the C ABI data and data_len (size(data_len, of = data)); as bpf_sample_sum */
extern __u64 bpf_sample_sum_bytes(const __u8 *data, __u64 data_len) __ksym;

/* vmlinux kfuncs (kernel/bpf/helpers.c) */
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;

/* references the BPF side holds on the module's objects, summed over the table */
extern __u64 bpf_sample_live_refs(void) __ksym;

#endif
