#![allow(unused)]

include!("common/prelude.rs");

// The type errors `no_c_types.rs` does not show; rustc accepts every type here except the
// trait object and `_`.

trait Tr {
    type X;
}
impl Tr for Obj {
    type X = u8;
}
struct Arc;
struct Thing<'a>(&'a u8);
macro_rules! m {
    () => {
        u32
    };
}

#[kfunc]
fn bpf_f(a: <Obj as Tr>::X, b: Arc, e: fn(u32) -> u32, g: Thing<'static>, h: m!()) {}

#[kfunc]
fn bpf_g(d: dyn Tr<X = u8>, f: _) {}

impl Obj {
    #[kfunc]
    fn bpf_h(c: Self) {}
}

#[kfunc]
fn bpf_i() -> c_void {
    loop {}
}

#[kfunc]
fn bpf_j() -> (u32, u64) {
    loop {}
}

fn main() {}
