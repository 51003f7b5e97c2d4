// SPDX-License-Identifier: GPL-2.0
/* BPF programs of the per-argument kfunc flags smoke test (kernel/ctest/run.sh). Each
 * program is loaded on its own; expectations.txt says which must load (and what they
 * return) and which must be refused (and with which verifier message).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef struct { int counter; } atomic_t;
typedef struct refcount_struct { atomic_t refs; } refcount_t;
struct kfa_obj {
	refcount_t refs;
	int v;
	struct kfa_obj *next;
};

extern struct kfa_obj *kfa_obj_new(int v) __ksym;
extern struct kfa_obj *kfa_obj_get(struct kfa_obj *o) __ksym;
extern void kfa_obj_put(struct kfa_obj *o) __ksym;
extern int kfa_obj_merge(struct kfa_obj *keep, struct kfa_obj *drop) __ksym;
extern int kfa_obj_val_or(struct kfa_obj *o, int dflt) __ksym;
extern int kfa_sum(const __u8 *buf, __u32 len) __ksym;
extern int kfa_const(int k) __ksym;
extern int kfa_obj_peek(struct kfa_obj *o, struct kfa_obj *hint) __ksym;
extern int kfa_obj_merge_all(struct kfa_obj *keep, struct kfa_obj *drop) __ksym;
extern int kfa_obj_peek_all(struct kfa_obj *o, struct kfa_obj *hint) __ksym;
/* A definition, not a declaration: libbpf matches the extern's prototype with the kernel's
 * struct by kind, and a forward declaration is not a struct to libbpf 1.1.
 */
struct bpf_map {
	__u32 max_entries;
};
extern __u32 kfa_map_max(struct bpf_map *m) __ksym;
extern int kfa_dynptr_ringbuf(const struct bpf_dynptr *d) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 7);
	__type(key, int);
	__type(value, int);
} kfa_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} kfa_rb SEC(".maps");

char _license[] SEC("license") = "GPL";

/* Everything allowed: 15 (merge) + 15 (val_or c) + 100 (val_or NULL) + 10 (sum) + 6.
 * Pointer arguments without a flag are trusted (referenced here) and not NULL: the
 * Linux 7.3 default.
 */
SEC("syscall") int good_all(void *ctx)
{
	__u8 buf[4] = { 1, 2, 3, 4 };
	struct kfa_obj *a, *b, *c;
	int r;

	a = kfa_obj_new(10);
	if (!a)
		return -1;
	b = kfa_obj_new(5);
	if (!b) {
		kfa_obj_put(a);
		return -2;
	}
	c = kfa_obj_get(a);
	if (!c) {
		kfa_obj_put(a);
		kfa_obj_put(b);
		return -3;
	}
	r = kfa_obj_merge(a, b);	/* releases b only: a stays referenced */
	r += kfa_obj_val_or(c, 0);
	r += kfa_obj_val_or(NULL, 100);	/* KF_PARAM_NULLABLE */
	kfa_obj_put(c);
	kfa_obj_put(a);
	r += kfa_sum(buf, sizeof(buf));	/* KF_PARAM_SIZE pair */
	r += kfa_const(3);		/* KF_PARAM_CONST */
	return r;
}

/* merge() releases only arg#1: a is still held and leaks. */
SEC("syscall") int bad_merge_leak(void *ctx)
{
	struct kfa_obj *a, *b;

	a = kfa_obj_new(1);
	if (!a)
		return 0;
	b = kfa_obj_new(2);
	if (!b) {
		kfa_obj_put(a);
		return 0;
	}
	return kfa_obj_merge(a, b);
}

/* merge() released b: putting it again is a use after release (b is a scalar now). */
SEC("syscall") int bad_merge_double_put(void *ctx)
{
	struct kfa_obj *a, *b;
	int r;

	a = kfa_obj_new(1);
	if (!a)
		return 0;
	b = kfa_obj_new(2);
	if (!b) {
		kfa_obj_put(a);
		return 0;
	}
	r = kfa_obj_merge(a, b);
	kfa_obj_put(a);
	kfa_obj_put(b);
	return r;
}

/* KF_PARAM_ACQUIRE: the source is a trusted, non-NULL pointer like any argument. */
SEC("syscall") int bad_get_null(void *ctx)
{
	struct kfa_obj *c = kfa_obj_get(NULL);

	if (c)
		kfa_obj_put(c);
	return 0;
}

/* KF_PARAM_RELEASE: the released pointer may be NULL here (it is not nullable). */
SEC("syscall") int bad_put_maybe_null(void *ctx)
{
	kfa_obj_put(kfa_obj_new(1));
	return 0;
}

/* arg#0 of merge() has no flag: trusted by default, NULL refused. */
SEC("syscall") int bad_merge_keep_null(void *ctx)
{
	struct kfa_obj *b = kfa_obj_new(2);

	if (!b)
		return 0;
	return kfa_obj_merge(NULL, b);
}

/* KF_PARAM_SIZE: 8 bytes of a 4-byte buffer. */
SEC("syscall") int bad_sum_len(void *ctx)
{
	__u8 buf[4] = { 1, 2, 3, 4 };
	volatile __u32 len = 8;

	return kfa_sum(buf, len);
}

/* KF_PARAM_CONST: not a known constant. */
SEC("syscall") int bad_const(void *ctx)
{
	return kfa_const(bpf_get_prandom_u32());
}

/* peek(o, hint): arg#0 is KF_PARAM_RCU, hint has no flag (trusted). Returns 10 + 1.
 * (An untrusted pointer, such as a->next, is refused as any argument that is not rcu:
 * "R2 must be referenced or trusted".)
 */
SEC("syscall") int good_peek(void *ctx)
{
	struct kfa_obj *a = kfa_obj_new(10);
	int r;

	if (!a)
		return -1;
	r = kfa_obj_peek(a, a);
	kfa_obj_put(a);
	return r;
}

/* KF_PARAM_RCU on arg#0: an untrusted pointer is refused there. */
SEC("syscall") int bad_untrusted_rcu_arg(void *ctx)
{
	struct kfa_obj *a = kfa_obj_new(10);
	int r;

	if (!a)
		return -1;
	r = kfa_obj_peek(a->next, a);
	kfa_obj_put(a);
	return r;
}

/* arg#0 of val_or() is KF_PARAM_NULLABLE only, so trusted: an untrusted pointer is refused. */
SEC("syscall") int bad_untrusted_trusted_arg(void *ctx)
{
	struct kfa_obj *a = kfa_obj_new(10);
	int r;

	if (!a)
		return -1;
	r = kfa_obj_val_or(a->next, 7);
	kfa_obj_put(a);
	return r;
}

/* The kfunc-wide KF_RCU (legacy semantics) refuses the same untrusted arg#1. */
SEC("syscall") int bad_untrusted_hint_kfunc_wide(void *ctx)
{
	struct kfa_obj *a = kfa_obj_new(10);
	int r;

	if (!a)
		return -1;
	r = kfa_obj_peek_all(a, a->next);
	kfa_obj_put(a);
	return r;
}

/* KF_PARAM_ACQUIRE: the source must be trusted (the default), not a walked pointer. */
SEC("syscall") int bad_get_untrusted(void *ctx)
{
	struct kfa_obj *a = kfa_obj_new(10), *c;

	if (!a)
		return -1;
	c = kfa_obj_get(a->next);
	if (c)
		kfa_obj_put(c);
	kfa_obj_put(a);
	return 0;
}

/* Without KF_PARAM_RELEASE (legacy semantics) 7.3 releases the first argument: keep (a),
 * not drop (b), so putting a afterwards is a use after release.
 */
SEC("syscall") int bad_merge_kfunc_wide(void *ctx)
{
	struct kfa_obj *a, *b;
	int r;

	a = kfa_obj_new(1);
	if (!a)
		return 0;
	b = kfa_obj_new(2);
	if (!b) {
		kfa_obj_put(a);
		return 0;
	}
	r = kfa_obj_merge_all(a, b);
	kfa_obj_put(a);
	return r;
}

/* KF_PARAM_MAP on a struct bpf_map * argument: the map itself is passed (7 entries). */
SEC("syscall") int good_map(void *ctx)
{
	return kfa_map_max((struct bpf_map *)&kfa_arr);
}

/* KF_PARAM_DYNPTR_RINGBUF on an initialized argument: a ring buffer dynptr is taken. */
SEC("syscall") int good_dynptr_ringbuf(void *ctx)
{
	struct bpf_dynptr d;
	int r;

	bpf_ringbuf_reserve_dynptr(&kfa_rb, 8, 0, &d);
	r = kfa_dynptr_ringbuf(&d);
	bpf_ringbuf_discard_dynptr(&d, 0);
	return r;
}

/* The wrong type: a local dynptr where a ring buffer one is required. */
SEC("syscall") int bad_dynptr_local(void *ctx)
{
	struct bpf_dynptr d;
	int key = 0, *v;

	v = bpf_map_lookup_elem(&kfa_arr, &key);
	if (!v)
		return 0;
	bpf_dynptr_from_mem(v, sizeof(*v), 0, &d);
	return kfa_dynptr_ringbuf(&d);
}

/* A module kfunc cannot construct: an uninitialized dynptr is refused, not made. */
SEC("syscall") int bad_dynptr_uninit(void *ctx)
{
	struct bpf_dynptr d;

	return kfa_dynptr_ringbuf(&d);
}
