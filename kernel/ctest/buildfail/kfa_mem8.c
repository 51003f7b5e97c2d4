// SPDX-License-Identifier: GPL-2.0
/*
 * kfa_mem8: must NOT build (kernel/ctest/run.sh checks the assembler's error). The size
 * argument names memory argument 8, which does not fit KF_PARAM_MEM's 3-bit field: a
 * masked KF_PARAM_MEM(8) would be KF_PARAM_MEM(0) and name argument 0 without a word;
 * BTF_ID_FLAGS_ARGS() refuses the bits it sets outside KF_PARAM_KNOWN_MASK instead.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>

__bpf_kfunc_start_defs();

__bpf_kfunc int kfa_mem8_sum(const u8 *buf, u32 len)
{
	return len ? buf[0] : 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_ARGS_START(kfa_mem8_set)
BTF_ID_FLAGS_ARGS(func, kfa_mem8_sum, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(8))
BTF_KFUNCS_ARGS_END(kfa_mem8_set)

static const struct btf_kfunc_id_set kfa_mem8_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &kfa_mem8_set,
};

static int __init kfa_mem8_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfa_mem8_kfunc_set);
}

module_init(kfa_mem8_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KF_PARAM_MEM(8) must be a build error");
