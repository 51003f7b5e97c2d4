// SPDX-License-Identifier: GPL-2.0
/*
 * kfa_test: a C kfunc set declared with per-argument flags (BTF_KFUNCS_ARGS_START /
 * BTF_ID_FLAGS_ARGS of the patched <linux/btf_ids.h>), for the runtime smoke test of the
 * patched verifier (kernel/ctest/run.sh). None of the parameter names carries a suffix:
 * every per-argument fact comes from the KF_PARAM_* flags; a pointer argument without
 * one is trusted and not NULL, the default of Linux 7.3.
 *
 * Module parameter bad=N registers the invalid set N instead (1..); registration must
 * fail with -EINVAL and a pr_err naming the kfunc and the argument. The good set is also
 * registered as a kfunc set while one of its kfuncs is in a legacy fmodret set.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>

struct kfa_obj {
	refcount_t refs;
	int v;
	struct kfa_obj *next;	/* never set: BPF reads it as an untrusted pointer */
};

static int bad;
module_param(bad, int, 0444);
MODULE_PARM_DESC(bad, "register invalid extended set N (1..) instead of the good one");

__bpf_kfunc_start_defs();

__bpf_kfunc struct kfa_obj *kfa_obj_new(int v)
{
	struct kfa_obj *o = kzalloc(sizeof(*o), GFP_ATOMIC);

	if (!o)
		return NULL;
	refcount_set(&o->refs, 1);
	o->v = v;
	return o;
}

__bpf_kfunc struct kfa_obj *kfa_obj_get(struct kfa_obj *o)
{
	return refcount_inc_not_zero(&o->refs) ? o : NULL;
}

__bpf_kfunc void kfa_obj_put(struct kfa_obj *o)
{
	if (refcount_dec_and_test(&o->refs))
		kfree(o);
}

/* Adds drop's value to keep and releases drop only. */
__bpf_kfunc int kfa_obj_merge(struct kfa_obj *keep, struct kfa_obj *drop)
{
	keep->v += drop->v;
	kfa_obj_put(drop);
	return keep->v;
}

/* The same as a release kfunc of a legacy set: no per-argument flags, so 7.3 releases
 * the first argument (keep), not drop.
 */
__bpf_kfunc int kfa_obj_merge_all(struct kfa_obj *keep, struct kfa_obj *drop)
{
	return kfa_obj_merge(keep, drop);
}

__bpf_kfunc int kfa_obj_val_or(struct kfa_obj *o, int dflt)
{
	return o ? o->v : dflt;
}

__bpf_kfunc int kfa_sum(const u8 *buf, u32 len)
{
	int s = 0;
	u32 i;

	for (i = 0; i < len; i++)
		s += buf[i];
	return s;
}

__bpf_kfunc int kfa_const(int k)
{
	return k * 2;
}

/* hint is only compared with NULL; without a flag it is trusted (the 7.3 default). */
__bpf_kfunc int kfa_obj_peek(struct kfa_obj *o, struct kfa_obj *hint)
{
	return o->v + (hint ? 1 : 0);
}

/* The same with the kfunc-wide KF_RCU instead of per-argument flags. */
__bpf_kfunc int kfa_obj_peek_all(struct kfa_obj *o, struct kfa_obj *hint)
{
	return o->v + (hint ? 1 : 0);
}

/* A KF_PARAM_MAP argument declared as the struct the verifier passes. */
__bpf_kfunc u32 kfa_map_max(struct bpf_map *m)
{
	return m->max_entries;
}

/* Never called: only its prototype matters for the invalid sets. */
__bpf_kfunc int kfa_bad_proto(struct kfa_obj *o, int n)
{
	return n;
}

/*
 * Never called: an acquire kfunc whose source does not point to what it returns. It is
 * not kfa_bad_proto: 7.3's resolve_btfids refuses a kfunc whose KF_* flags differ
 * between two sets (kfa_bad_proto is 0 everywhere else).
 */
__bpf_kfunc int *kfa_bad_acquire(struct kfa_obj *o)
{
	return &o->v;
}

/*
 * Requires a ring buffer dynptr (KF_PARAM_DYNPTR_RINGBUF on an initialized argument: a
 * module may require a type, not construct or release one, and not LOCAL). Reads
 * nothing; says it was called.
 */
__bpf_kfunc int kfa_dynptr_ringbuf(const struct bpf_dynptr *d)
{
	return 5;
}

/*
 * Never called: dynptr arguments for the invalid dynptr facts, one for KF_RELEASE sets
 * (7.3's resolve_btfids refuses a kfunc whose KF_* flags differ between sets).
 */
__bpf_kfunc int kfa_bad_dynptr(struct bpf_dynptr *d)
{
	return 0;
}

__bpf_kfunc int kfa_bad_dynptr_rel(struct bpf_dynptr *d)
{
	return 0;
}

__bpf_kfunc int kfa_bad_dynptr2_rel(struct bpf_dynptr *d, struct bpf_dynptr *e)
{
	return 0;
}

/* Never called: an iterator kfunc with a second iterator argument. */
struct bpf_iter_kfa {
	u64 x;
};

__bpf_kfunc int bpf_iter_kfa_new(struct bpf_iter_kfa *it, struct bpf_iter_kfa *other)
{
	return 0;
}

/* Never called: two scalars, for the two-constants refusal. */
__bpf_kfunc int kfa_two(int a, int b)
{
	return a + b;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_ARGS_START(kfa_set)
BTF_ID_FLAGS_ARGS(func, kfa_obj_new, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS_ARGS(func, kfa_obj_get, KF_ACQUIRE | KF_RET_NULL, KF_PARAM_ACQUIRE)
BTF_ID_FLAGS_ARGS(func, kfa_obj_put, KF_RELEASE, KF_PARAM_RELEASE)
BTF_ID_FLAGS_ARGS(func, kfa_obj_merge, KF_RELEASE, 0, KF_PARAM_RELEASE)
BTF_ID_FLAGS_ARGS(func, kfa_obj_val_or, 0, KF_PARAM_NULLABLE)
BTF_ID_FLAGS_ARGS(func, kfa_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))
BTF_ID_FLAGS_ARGS(func, kfa_const, 0, KF_PARAM_CONST)
BTF_ID_FLAGS_ARGS(func, kfa_obj_peek, 0, KF_PARAM_RCU)
BTF_ID_FLAGS_ARGS(func, kfa_obj_peek_all, KF_RCU)
BTF_ID_FLAGS_ARGS(func, kfa_obj_merge_all, KF_RELEASE)
BTF_ID_FLAGS_ARGS(func, kfa_map_max, 0, KF_PARAM_MAP)
BTF_ID_FLAGS_ARGS(func, kfa_dynptr_ringbuf, 0, KF_PARAM_DYNPTR_RINGBUF)
BTF_KFUNCS_ARGS_END(kfa_set)

/*
 * fmodret sets name functions BPF may attach to, not kfuncs: their (zero) argument
 * words are not compared with kfa_set's, where kfa_obj_val_or has KF_PARAM_NULLABLE.
 */
BTF_KFUNCS_START(kfa_fmodret)
BTF_ID_FLAGS(func, kfa_obj_val_or)
BTF_KFUNCS_END(kfa_fmodret)

/* Invalid sets: each breaks one rule of btf_check_kfunc_arg_flags(). */
BTF_KFUNCS_ARGS_START(kfa_bad1)		/* release arg without KF_RELEASE */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_RELEASE)
BTF_KFUNCS_ARGS_END(kfa_bad1)
BTF_KFUNCS_ARGS_START(kfa_bad2)		/* pointer flag on a scalar */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, 0, KF_PARAM_NULLABLE)
BTF_KFUNCS_ARGS_END(kfa_bad2)
BTF_KFUNCS_ARGS_START(kfa_bad3)		/* scalar flag on a pointer */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_CONST)
BTF_KFUNCS_ARGS_END(kfa_bad3)
BTF_KFUNCS_ARGS_START(kfa_bad4)		/* flags past the last argument */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, 0, 0, KF_PARAM_CONST)
BTF_KFUNCS_ARGS_END(kfa_bad4)
BTF_KFUNCS_ARGS_START(kfa_bad5)		/* acquire source pointee != returned pointee */
BTF_ID_FLAGS_ARGS(func, kfa_bad_acquire, KF_ACQUIRE, KF_PARAM_ACQUIRE)
BTF_KFUNCS_ARGS_END(kfa_bad5)
BTF_KFUNCS_ARGS_START(kfa_bad6)		/* size arg not after its memory arg */
BTF_ID_FLAGS_ARGS(func, kfa_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(1))
BTF_KFUNCS_ARGS_END(kfa_bad6)
BTF_KFUNCS_ARGS_START(kfa_bad7)		/* two release args */
BTF_ID_FLAGS_ARGS(func, kfa_obj_merge, KF_RELEASE, KF_PARAM_RELEASE, KF_PARAM_RELEASE)
BTF_KFUNCS_ARGS_END(kfa_bad7)
BTF_KFUNCS_ARGS_START(kfa_bad8)		/* a released arg that may be NULL */
BTF_ID_FLAGS_ARGS(func, kfa_obj_put, KF_RELEASE, KF_PARAM_RELEASE | KF_PARAM_NULLABLE)
BTF_KFUNCS_ARGS_END(kfa_bad8)
BTF_KFUNCS_ARGS_START(kfa_bad9)		/* an acquire source that may be NULL */
BTF_ID_FLAGS_ARGS(func, kfa_obj_get, KF_ACQUIRE | KF_RET_NULL, KF_PARAM_ACQUIRE | KF_PARAM_NULLABLE)
BTF_KFUNCS_ARGS_END(kfa_bad9)
BTF_KFUNCS_ARGS_START(kfa_bad10)	/* a size that is also a constant: memory unchecked */
BTF_ID_FLAGS_ARGS(func, kfa_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0) | KF_PARAM_CONST)
BTF_KFUNCS_ARGS_END(kfa_bad10)
BTF_KFUNCS_ARGS_START(kfa_bad11)	/* two constants (the verifier records one) */
BTF_ID_FLAGS_ARGS(func, kfa_two, 0, KF_PARAM_CONST, KF_PARAM_CONST)
BTF_KFUNCS_ARGS_END(kfa_bad11)
BTF_KFUNCS_ARGS_START(kfa_bad12)	/* one kfunc twice, with different argument flags */
BTF_ID_FLAGS_ARGS(func, kfa_obj_val_or, 0, KF_PARAM_NULLABLE)
BTF_ID_FLAGS_ARGS(func, kfa_obj_val_or, 0)
BTF_KFUNCS_ARGS_END(kfa_bad12)
BTF_KFUNCS_ARGS_START(kfa_bad13)	/* an extended set as an fmodret set (KFA_FMODRET_BAD) */
BTF_ID_FLAGS_ARGS(func, kfa_obj_val_or, 0, KF_PARAM_NULLABLE)
BTF_KFUNCS_ARGS_END(kfa_bad13)
BTF_KFUNCS_ARGS_START(kfa_bad14)	/* a map that is not a struct bpf_map */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_MAP)
BTF_KFUNCS_ARGS_END(kfa_bad14)
BTF_KFUNCS_ARGS_START(kfa_bad15)	/* the same for a constant map */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_CONST_MAP)
BTF_KFUNCS_ARGS_END(kfa_bad15)
BTF_KFUNCS_ARGS_START(kfa_bad16)	/* a string that is not made of char */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_STR)
BTF_KFUNCS_ARGS_END(kfa_bad16)
BTF_KFUNCS_ARGS_START(kfa_bad17)	/* an iterator that is not a struct bpf_iter_<type> */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_ITER)
BTF_KFUNCS_ARGS_END(kfa_bad17)
/* bad=18 is KFA_OTHER_HOOK_BAD below */
BTF_KFUNCS_ARGS_START(kfa_bad19)	/* a dynptr type on what is not a struct bpf_dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_proto, 0, KF_PARAM_DYNPTR_LOCAL)
BTF_KFUNCS_ARGS_END(kfa_bad19)
/* bad=20 is KFA_DYNPTR_TYPE_BAD below */
BTF_KFUNCS_ARGS_START(kfa_bad21)	/* a module constructing a dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr, 0, KF_PARAM_UNINIT | KF_PARAM_DYNPTR_LOCAL)
BTF_KFUNCS_ARGS_END(kfa_bad21)
BTF_KFUNCS_ARGS_START(kfa_bad22)	/* releasing a dynptr type that holds no reference */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr_rel, KF_RELEASE, KF_PARAM_RELEASE | KF_PARAM_DYNPTR_LOCAL)
BTF_KFUNCS_ARGS_END(kfa_bad22)
BTF_KFUNCS_ARGS_START(kfa_bad23)	/* a release kfunc constructing a dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr_rel, KF_RELEASE,
		  KF_PARAM_RELEASE | KF_PARAM_UNINIT | KF_PARAM_DYNPTR_FILE)
BTF_KFUNCS_ARGS_END(kfa_bad23)
BTF_KFUNCS_ARGS_START(kfa_bad24)	/* a module releasing a file dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr_rel, KF_RELEASE, KF_PARAM_RELEASE | KF_PARAM_DYNPTR_FILE)
BTF_KFUNCS_ARGS_END(kfa_bad24)
BTF_KFUNCS_ARGS_START(kfa_bad25)	/* LOCAL required (a global function claims it) */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr, 0, KF_PARAM_DYNPTR_LOCAL)
BTF_KFUNCS_ARGS_END(kfa_bad25)
BTF_KFUNCS_ARGS_START(kfa_bad26)	/* KF_RELEASE of arg 0, an untyped dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr_rel, KF_RELEASE)
BTF_KFUNCS_ARGS_END(kfa_bad26)
BTF_KFUNCS_ARGS_START(kfa_bad27)	/* a released dynptr next to another dynptr */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr2_rel, KF_RELEASE, KF_PARAM_RELEASE | KF_PARAM_DYNPTR_FILE)
BTF_KFUNCS_ARGS_END(kfa_bad27)
BTF_KFUNCS_ARGS_START(kfa_bad28)	/* a dynptr with an arena flag */
BTF_ID_FLAGS_ARGS(func, kfa_bad_dynptr, 0, KF_PARAM_DYNPTR_SKB | KF_PARAM_ARENA)
BTF_KFUNCS_ARGS_END(kfa_bad28)
BTF_KFUNCS_ARGS_START(kfa_bad29)	/* an iterator kfunc's second iterator */
BTF_ID_FLAGS_ARGS(func, bpf_iter_kfa_new, KF_ITER_NEW, 0, KF_PARAM_ITER)
BTF_KFUNCS_ARGS_END(kfa_bad29)

static struct btf_id_set8 *const kfa_bad_sets[] = {
	&kfa_bad1, &kfa_bad2, &kfa_bad3, &kfa_bad4, &kfa_bad5, &kfa_bad6, &kfa_bad7,
	&kfa_bad8, &kfa_bad9, &kfa_bad10, &kfa_bad11, &kfa_bad12, &kfa_bad13, &kfa_bad14,
	&kfa_bad15, &kfa_bad16, &kfa_bad17, &kfa_set /* bad=18: the good set, see below */,
	&kfa_bad19, &kfa_bad21 /* bad=20: its copy, see below */, &kfa_bad21, &kfa_bad22,
	&kfa_bad23, &kfa_bad24, &kfa_bad25, &kfa_bad26, &kfa_bad27, &kfa_bad28, &kfa_bad29,
};

/* The invalid set registered with register_btf_fmodret_id_set() */
#define KFA_FMODRET_BAD 13

/*
 * bad=18: the good set, then kfa_obj_peek again, in a legacy set (zero argument words)
 * for another hook: the refusal must name kfa_obj_peek (the module's BTF ids are
 * relocated against vmlinux: relocating one twice named no kfunc, or read past the map).
 */
#define KFA_OTHER_HOOK_BAD 18
BTF_KFUNCS_START(kfa_bad18)
BTF_ID_FLAGS(func, kfa_obj_peek)
BTF_KFUNCS_END(kfa_bad18)

static const struct btf_kfunc_id_set kfa_bad18_set = {
	.owner = THIS_MODULE,
	.set = &kfa_bad18,
};

static struct btf_kfunc_id_set kfa_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &kfa_set,
};

static const struct btf_kfunc_id_set kfa_fmodret_set = {
	.owner = THIS_MODULE,
	.set = &kfa_fmodret,
};

/*
 * bad=20: a dynptr type that enum bpf_dynptr_type lacks (7). btfids-post refuses to write
 * such a word, so the set is kfa_bad21 copied with that word, as a tool that does not check
 * would have written it: registration is the trust boundary.
 */
#define KFA_DYNPTR_TYPE_BAD 20

static int __init kfa_init(void)
{
	int ret;

	if (bad > 0 && bad <= ARRAY_SIZE(kfa_bad_sets))
		kfa_kfunc_set.set = kfa_bad_sets[bad - 1];
	if (bad == KFA_DYNPTR_TYPE_BAD) {
		struct btf_id_set8_args *copy;

		copy = kmemdup(&kfa_bad21, sizeof(*copy) + BTF_SET8_ARGS_ENTRY_SIZE, GFP_KERNEL);
		if (!copy)
			return -ENOMEM;
		copy->entries[0].arg_flags[0] = 7 << KF_PARAM_DYNPTR_SHIFT;
		kfa_kfunc_set.set = (struct btf_id_set8 *)copy;
		ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfa_kfunc_set);
		pr_info("kfa_test: bad=%d register_btf_kfunc_id_set: %d\n", bad, ret);
		if (ret)	/* kept if registered: the kernel would point into it */
			kfree(copy);
		return ret;
	}
	if (bad == KFA_OTHER_HOOK_BAD) {
		ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfa_kfunc_set) ?:
		      register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &kfa_bad18_set);
		pr_info("kfa_test: bad=%d register_btf_kfunc_id_set: %d\n", bad, ret);
		return ret;
	}
	if (bad == KFA_FMODRET_BAD) {
		ret = register_btf_fmodret_id_set(&kfa_kfunc_set);
		pr_info("kfa_test: bad=%d register_btf_fmodret_id_set: %d\n", bad, ret);
		return ret;
	}
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfa_kfunc_set);
	pr_info("kfa_test: bad=%d register_btf_kfunc_id_set: %d\n", bad, ret);
	if (ret || bad)
		return ret;
	ret = register_btf_fmodret_id_set(&kfa_fmodret_set);
	pr_info("kfa_test: register_btf_fmodret_id_set: %d\n", ret);
	return ret;
}

static void __exit kfa_exit(void)
{
}

module_init(kfa_init);
module_exit(kfa_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Smoke test of per-argument kfunc flags");
