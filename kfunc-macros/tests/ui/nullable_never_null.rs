#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(release(a), nullable(a))]
fn bpf_put(a: *mut Obj) {}

#[kfunc(nullable(a), acquire(a))]
fn bpf_get(a: *mut Obj) -> *mut Obj {
    a
}

#[kfunc(iter(it), nullable(it))]
fn bpf_pos(it: *mut bpf_iter_num) {}

#[kfunc(irq_flag(flags), nullable(flags))]
fn bpf_irq(flags: *mut u64) {}

fn main() {}
