/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of the parity modules (kfunc_csfx.c, kfunc_cargs.c): the same semantics as
 * kernel-sample/kfunc_sample.rs (a table of refcounted objects), plus four kfuncs for the
 * suffixes the sample did not use at first (a __nullable memory of a size pair, 6.12's
 * __opt; __szk, __ign, __map); the sample has
 * its own kfuncs for them now (bpf_sample_sum_opt, _fill, _cookie, _map_size). The includer defines the
 * parameter names P_* (suffixed or plain) and PARITY_MODULE.
 */
#include <linux/sched.h>
#include <linux/pid.h>

#define NR_OBJS		4
#define NAME_MAX_LEN	64
#define SUM_MAX		256

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
	if (refcount_dec_and_test(&obj->refs))
		pr_err(PARITY_MODULE ": object %u lost its table reference\n", obj->id);
}

__bpf_kfunc struct SampleObj *bpf_sample_get(struct SampleObj *obj)
{
	refcount_inc(&obj->refs);
	return obj;
}

__bpf_kfunc u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *P_HINT)
{
	return refcount_read(&obj->refs) + (P_HINT ? 100 * refcount_read(&P_HINT->refs) : 0);
}

__bpf_kfunc u32 bpf_sample_transfer(struct SampleObj *dst, struct SampleObj *src)
{
	u32 n = 100 * refcount_read(&dst->refs) + refcount_read(&src->refs);

	bpf_sample_release(src);
	return n;
}

__bpf_kfunc u64 bpf_sample_sum(const u8 *data, u32 P_LEN)
{
	u32 i, n = min_t(u32, P_LEN, SUM_MAX);
	u64 s = 0;

	for (i = 0; i < n; i++)
		s += data[i];
	return s;
}

__bpf_kfunc u64 bpf_sample_scale(struct SampleObj *obj, u32 P_FACTOR)
{
	return obj->value * P_FACTOR;
}

__bpf_kfunc u32 bpf_sample_name_len(const char *P_NAME)
{
	u32 n = 0;

	while (n < NAME_MAX_LEN && P_NAME[n])
		n++;
	return n;
}

__bpf_kfunc u32 bpf_sample_sleep(struct SampleObj *obj)
{
	cond_resched();
	return obj->id;
}

__bpf_kfunc u64 bpf_sample_live_refs(void)
{
	u64 n = 0;
	int i;

	for (i = 0; i < NR_OBJS; i++)
		n += refcount_read(&objs[i].refs) - 1;
	return n;
}

/* nullable(data), size(len, of = data): the sum of len bytes at data, 0 for NULL. */
__bpf_kfunc u64 bpf_sample_sum_opt(const u8 *P_SO_DATA, u32 P_SO_LEN)
{
	u32 i, n = min_t(u32, P_SO_LEN, SUM_MAX);
	u64 s = 0;

	if (!P_SO_DATA)
		return 0;
	for (i = 0; i < n; i++)
		s += P_SO_DATA[i];
	return s;
}

/* const_size(len, of = buf): fills buf with 1, 2, 3, ... and returns len. */
__bpf_kfunc u32 bpf_sample_fill(u8 *buf, u32 P_FILL_LEN)
{
	u32 i;

	for (i = 0; i < P_FILL_LEN && i < SUM_MAX; i++)
		buf[i] = i + 1;
	return P_FILL_LEN;
}

/* ignore(cookie): cookie is never dereferenced; obj is trusted, the default. */
__bpf_kfunc u64 bpf_sample_cookie(struct SampleObj *obj, const void *P_COOKIE)
{
	return obj->value + ((unsigned long)P_COOKIE & 0xff);
}

/* map(map): max_entries of a BPF map. */
__bpf_kfunc u32 bpf_sample_map_size(void *P_MAPARG)
{
	return ((struct bpf_map *)P_MAPARG)->max_entries;
}

/* rcu(task): the pid of a trusted or RCU-protected task. */
__bpf_kfunc int bpf_sample_task_pid(struct task_struct *task)
{
	return __task_pid_nr_ns(task, PIDTYPE_PID, NULL);
}

/* The open-coded iterator over the table (kernel-sample's bpf_iter_sample). */
struct bpf_iter_sample {
	u32 pos;
	u32 end;
} __aligned(8);

__bpf_kfunc int bpf_iter_sample_new(struct bpf_iter_sample *it, u32 start)
{
	int ret = 0;

	if (start > NR_OBJS) {
		start = NR_OBJS;
		ret = -EINVAL;
	}
	it->pos = start;
	it->end = NR_OBJS;
	return ret;
}

__bpf_kfunc const u64 *bpf_iter_sample_next(struct bpf_iter_sample *it)
{
	if (it->pos >= it->end || it->end > NR_OBJS)
		return NULL;
	return &objs[it->pos++].value;
}

__bpf_kfunc void bpf_iter_sample_destroy(struct bpf_iter_sample *it)
{
	it->pos = it->end;
}

/* iter(it): a plain kfunc taking an iterator. */
__bpf_kfunc u32 bpf_sample_iter_pos(struct bpf_iter_sample *P_ITER)
{
	return P_ITER->pos;
}

/* uninit(d): makes d a null dynptr (7.3, as 6.12, never accepts a call: no dynptr type). */
__bpf_kfunc int bpf_sample_dynptr_null(struct bpf_dynptr *P_DYNPTR)
{
	memset(P_DYNPTR, 0, sizeof(*P_DYNPTR));
	return 0;
}

/* refcounted_kptr(obj): the leading u64 of a refcounted local object. */
__bpf_kfunc u64 bpf_sample_local_value(const void *P_RC_OBJ)
{
	return *(const u64 *)P_RC_OBJ;
}

/* alloc(obj): the same for any bpf_obj_new object (7.3, as 6.12, never accepts a call). */
__bpf_kfunc u64 bpf_sample_local_peek(const void *P_ALLOC_OBJ)
{
	return *(const u64 *)P_ALLOC_OBJ;
}

/* __nullable on the memory argument of a size pair: data may be NULL (then 0). */
__bpf_kfunc u64 bpf_cpar_sum_opt(const u8 *P_OPT_DATA, u32 P_LEN)
{
	u32 i, n = min_t(u32, P_LEN, SUM_MAX);
	u64 s = 0;

	if (!P_OPT_DATA)
		return 0;
	for (i = 0; i < n; i++)
		s += P_OPT_DATA[i];
	return s;
}

/* __szk: a constant size; fills buf with 1, 2, 3, ... and returns the length. */
__bpf_kfunc u32 bpf_cpar_fill(u8 *buf, u32 P_FILL_LEN)
{
	u32 i;

	for (i = 0; i < P_FILL_LEN && i < SUM_MAX; i++)
		buf[i] = i + 1;
	return P_FILL_LEN;
}

/* __ign: the verifier does not look at p; it is not dereferenced. */
__bpf_kfunc u32 bpf_cpar_ign(void *P_IGN, u32 x)
{
	return x + 1;
}

/* __map: a BPF map pointer. */
__bpf_kfunc u32 bpf_cpar_map(void *P_MAP)
{
	return P_MAP ? ((struct bpf_map *)P_MAP)->max_entries : 0;
}

/*
 * The typed twins of kernel-sample: in Rust they take &SampleObj and Option<&SampleObj>,
 * return Option<ARef<SampleObj>>, take ARef<SampleObj> and &[u8] (a pointer and a size_t
 * length), and the macro derives their facts; in C they are raw pointers again, with the
 * same C types (const for the shared references).
 */
__bpf_kfunc u32 bpf_sample_peek(const struct SampleObj *obj, const struct SampleObj *P_PEEK_HINT)
{
	return refcount_read(&obj->refs) +
	       (P_PEEK_HINT ? 100 * refcount_read(&P_PEEK_HINT->refs) : 0);
}

__bpf_kfunc struct SampleObj *bpf_sample_take(u32 id)
{
	return bpf_sample_acquire(id);
}

__bpf_kfunc void bpf_sample_put(struct SampleObj *obj)
{
	bpf_sample_release(obj);
}

__bpf_kfunc u64 bpf_sample_sum_bytes(const u8 *data, size_t P_SB_LEN)
{
	size_t i, n = min_t(size_t, P_SB_LEN, SUM_MAX);
	u64 s = 0;

	for (i = 0; i < n; i++)
		s += data[i];
	return s;
}

__bpf_kfunc_end_defs();
