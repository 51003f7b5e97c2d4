// SPDX-License-Identifier: GPL-2.0
/*
 * Bootstrap C module for the VM harness (not the sample): a small table of
 * refcounted objects with suffix-style kfuncs (function flags + name suffixes; pointer
 * arguments are trusted by default since Linux 7.0, there is no KF_TRUSTED_ARGS),
 * used to prove the harness and runner on an unpatched kernel before the Rust
 * sample exists. Same kfunc names and semantics as the Rust sample's subset.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include <linux/refcount.h>

#define NR_OBJS 4

struct SampleObj {
	refcount_t refs;
	u32 id;
	u64 value;
};

static struct SampleObj objs[NR_OBJS];

__bpf_kfunc_start_defs();

__bpf_kfunc struct SampleObj *bpf_sample_acquire(u32 id)
{
	if (id >= NR_OBJS)
		return NULL;
	refcount_inc(&objs[id].refs);
	return &objs[id];
}

__bpf_kfunc void bpf_sample_release(struct SampleObj *obj)
{
	WARN_ON(refcount_dec_and_test(&obj->refs));
}

__bpf_kfunc u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *hint__nullable)
{
	return refcount_read(&obj->refs) + (hint__nullable ? 100 * refcount_read(&hint__nullable->refs) : 0);
}

__bpf_kfunc u64 bpf_sample_live_refs(void)
{
	u64 n = 0;
	int i;

	for (i = 0; i < NR_OBJS; i++)
		n += refcount_read(&objs[i].refs) - 1;
	return n;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(cmod_kfuncs)
BTF_ID_FLAGS(func, bpf_sample_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_sample_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_sample_refcount)
BTF_ID_FLAGS(func, bpf_sample_live_refs)
BTF_KFUNCS_END(cmod_kfuncs)

static const struct btf_kfunc_id_set cmod_set = {
	.owner = THIS_MODULE,
	.set = &cmod_kfuncs,
};

static int __init cmod_init(void)
{
	int i, ret;

	for (i = 0; i < NR_OBJS; i++) {
		refcount_set(&objs[i].refs, 1);
		objs[i].id = i;
		objs[i].value = 10 * (i + 1);
	}
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &cmod_set);
	pr_info("kfunc_cmod: register_btf_kfunc_id_set: %d\n", ret);
	return ret;
}

static void __exit cmod_exit(void)
{
	pr_info("kfunc_cmod: unloading, live refs %llu\n", bpf_sample_live_refs());
}

module_init(cmod_init);
module_exit(cmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VM harness bootstrap kfunc module");
