// SPDX-License-Identifier: GPL-2.0
/*
 * refcounted_kptr(obj) of bpf_sample_local_value and alloc(obj) of bpf_sample_local_peek,
 * with program-local objects from bpf_obj_new. 7.3 (as 6.12) accepts an allocated object
 * (KF_ARG_PTR_TO_ALLOC_BTF_ID) only for bpf_obj_drop/bpf_percpu_obj_drop (and their _impl
 * twins): alloc has no positive case for a module kfunc. Without the flags (legacy) both
 * kfuncs take a plain const void *, which 7.3 refuses when the program is loaded
 * (get_kfunc_arg_type(): neither memory with a size nor a struct).
 */
#include "bpf_misc.h"
#include "sample_kfuncs.h"
#include <bpf/bpf_core_read.h>

struct node {
	__u64 value;
	struct bpf_refcount ref;
};

struct plain {
	__u64 value;
	struct bpf_rb_node rb;
};

#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)

SEC("syscall")
__description("a refcounted local object (legacy: void * is no memory type)")
__flag_arg(refcounted_kptr) __success_args __retval_args(7) __failure_legacy
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int local_refcounted(void *ctx)
{
	struct node *n = bpf_obj_new(struct node);
	__u64 v;

	if (!n)
		return -1;
	n->value = 7;
	v = bpf_sample_local_value(n);
	bpf_obj_drop(n);
	return v;
}

SEC("syscall")
__description("a local object without a bpf_refcount field (it has another special field: a "
	      "type with none has no btf_record, and 7.3 then WARNs 'verifier bug: Couldn't find "
	      "btf_record' for any refcounted_kptr argument, bpf_refcount_acquire's too)")
__flag_arg(refcounted_kptr) __failure
__msg_args("R1 doesn't point to a type with bpf_refcount field")
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int local_not_refcounted(void *ctx)
{
	struct plain *n = bpf_obj_new(struct plain);
	__u64 v;

	if (!n)
		return -1;
	n->value = 7;
	v = bpf_sample_local_value(n);
	bpf_obj_drop(n);
	return v;
}

SEC("syscall")
__description("a stack pointer for the refcounted local object")
__flag_arg(refcounted_kptr) __failure __msg_args("R1 is neither owning or non-owning ref")
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int local_stack(void *ctx)
{
	__u64 x = 7;

	return bpf_sample_local_value(&x);
}

SEC("syscall")
__description("alloc: an object from bpf_obj_new, refused: 7.3 takes allocated objects only "
	      "in bpf_obj_drop (no positive case possible)")
__flag_arg(alloc) __failure __msg_args("R1 expected for bpf_obj_drop()")
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int alloc_obj_new(void *ctx)
{
	struct plain *n = bpf_obj_new(struct plain);
	__u64 v;

	if (!n)
		return -1;
	n->value = 7;
	v = bpf_sample_local_peek(n);
	bpf_obj_drop(n);
	return v;
}

SEC("syscall")
__description("alloc: a stack pointer")
__flag_arg(alloc) __failure __msg_args("R1 expected pointer to allocated object")
__msg_legacy("R1 pointer type UNKNOWN  must point to scalar, or struct with scalar")
int alloc_stack(void *ctx)
{
	__u64 x = 7;

	return bpf_sample_local_peek(&x);
}
