// SPDX-License-Identifier: GPL-2.0
/*
 * kfa_one: a one-kfunc extended set, for the check that kernels without extended sets
 * fail closed (kernel/ctest/run.sh). One kfunc, kfa_one_put(), releases its argument 0
 * (KF_RELEASE with KF_PARAM_RELEASE on argument 0).
 *
 * Module parameter layout= chooses the bytes registered:
 *  - "new": BTF_KFUNCS_ARGS_START/BTF_ID_FLAGS_ARGS of the patched <linux/btf_ids.h>:
 *    header flags BTF_SET8_KFUNC_ARGS | version 3, without BTF_SET8_KFUNCS. A kernel
 *    without extended sets must refuse it (register_btf_kfunc_id_set: -EINVAL).
 *  - "v2": the bytes the series' earlier layout produced for the same set, written by hand
 *    (cnt 1, header flags BTF_SET8_KFUNCS | BTF_SET8_KFUNC_ARGS | version 2, one 28-byte
 *    entry) under a label no resolve_btfids treats as a set, so that only the entry's BTF id
 *    is resolved. A kernel without extended sets reads it as a set8 of one {id, flags}
 *    pair and registers kfa_one_put with its per-argument flag dropped: the hole the new
 *    layout closes. The patched kernel refuses it (unknown version).
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>

static char *layout = "new";
module_param(layout, charp, 0444);
MODULE_PARM_DESC(layout, "new (extended set, layout 3) or v2 (the earlier layout's bytes)");

__bpf_kfunc_start_defs();

__bpf_kfunc void kfa_one_put(struct module *m)
{
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_ARGS_START(kfa_one_set)
BTF_ID_FLAGS_ARGS(func, kfa_one_put, KF_RELEASE, KF_PARAM_RELEASE)
BTF_KFUNCS_ARGS_END(kfa_one_set)

/* The earlier layout's bytes: KF_RELEASE is 1 << 1, KF_PARAM_RELEASE 1 << 0. */
asm(".pushsection " BTF_IDS_SECTION ",\"a\";\n"
    ".balign 4\n"
    ".local kfa_one_v2;\n"
    "kfa_one_v2:\n"
    ".long 1\n"
    ".long 0x203\n"
    ".local __BTF_ID__func__kfa_one_put__9999;\n"
    "__BTF_ID__func__kfa_one_put__9999:\n"
    ".zero 4\n"
    ".long 2\n"
    ".long 1, 0, 0, 0, 0\n"
    ".popsection;\n");
extern struct btf_id_set8 kfa_one_v2;

static struct btf_kfunc_id_set kfa_one_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &kfa_one_set,
};

static int __init kfa_one_init(void)
{
	int ret;

	if (!strcmp(layout, "v2"))
		kfa_one_kfunc_set.set = &kfa_one_v2;
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfa_one_kfunc_set);
	pr_info("kfa_one: layout=%s register_btf_kfunc_id_set: %d\n", layout, ret);
	return ret;
}

static void __exit kfa_one_exit(void)
{
}

module_init(kfa_one_init);
module_exit(kfa_one_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("One-kfunc extended set: kernels without extended sets fail closed");
