/* SPDX-License-Identifier: GPL-2.0 */
/* Registration of parity_set, shared by the parity modules. */
static const struct btf_kfunc_id_set parity_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &parity_set,
};

static int __init parity_init(void)
{
	int i, ret;

	for (i = 0; i < NR_OBJS; i++) {
		refcount_set(&objs[i].refs, 1);
		objs[i].id = i;
		objs[i].value = 10 * (i + 1);
	}
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &parity_kfunc_set);
	if (!ret)
		ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &parity_kfunc_set);
	pr_info(PARITY_MODULE ": register_btf_kfunc_id_set: %d\n", ret);
	return ret;
}

static void __exit parity_exit(void)
{
	u64 live = bpf_sample_live_refs();

	if (live)
		pr_err(PARITY_MODULE ": unloading with %llu live references\n", live);
}

module_init(parity_init);
module_exit(parity_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-argument kfunc flags: C parity module " PARITY_MODULE);
