// SPDX-License-Identifier: GPL-2.0
/*
 * rcu(task) of bpf_sample_task_pid. A syscall program is sleepable: a pointer walked from
 * a trusted task is RCU-protected (MEM_RCU) only inside bpf_rcu_read_lock()/unlock();
 * outside, it is untrusted. Without the flag (legacy) task is trusted, the 7.3 default,
 * and an RCU-protected pointer is refused too.
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"

SEC("syscall")
__description("a trusted (referenced) task")
__flag_arg(rcu) __success __retval(1)
int task_pid_trusted(void *ctx)
{
	__s32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *t = bpf_task_from_pid(tgid);
	int ok;

	if (!t)
		return -1;
	ok = bpf_sample_task_pid(t) == tgid;
	bpf_task_release(t);
	return ok;
}

SEC("syscall")
__description("an RCU-protected task: real_parent read inside bpf_rcu_read_lock() "
	      "(the log shows it is MEM_RCU, not trusted; legacy: trusted only, refused)")
__flag_arg(rcu) __success_args __retval_args(1) __msg_args("rcu_ptr_task_struct")
__failure_legacy __msg_legacy("R1 must be referenced or trusted")
int task_pid_rcu(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32), *p;
	int ok;

	if (!t)
		return -1;
	bpf_rcu_read_lock();
	p = t->real_parent;
	ok = bpf_sample_task_pid(p) == p->pid;
	bpf_rcu_read_unlock();
	bpf_task_release(t);
	return ok;
}

SEC("syscall")
__description("real_parent read outside an RCU read section: neither trusted nor RCU "
	      "(legacy: refused as not trusted)")
__flag_arg(rcu) __failure __msg_args("R1 must be a rcu pointer")
__msg_legacy("R1 must be referenced or trusted")
int task_pid_unprotected(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32), *p;
	int pid;

	if (!t)
		return -1;
	p = t->real_parent;
	pid = bpf_sample_task_pid(p);
	bpf_task_release(t);
	return pid;
}

SEC("syscall")
__description("a plain pointer walked inside the RCU section (pi_top_task: neither __rcu "
	      "nor RCU-safe, often NULL) (legacy: not trusted, refused too; 6.12 without "
	      "flags accepted it)")
__flag_arg(rcu) __failure __msg_args("R1 must be a rcu pointer")
__msg_legacy("R1 must be referenced or trusted")
int task_pid_plain_walk(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32);
	int pid;

	if (!t)
		return -1;
	bpf_rcu_read_lock();
	pid = bpf_sample_task_pid(t->pi_top_task);
	bpf_rcu_read_unlock();
	bpf_task_release(t);
	return pid;
}
