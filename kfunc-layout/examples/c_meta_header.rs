//! `cargo run -q -p kfunc-layout --example c_meta_header > <tree>/tools/bpf/resolve_btfids/kfunc_meta.h`:
//! the C definitions of the `#[kfunc]` metadata record (patches/rust/README.md).

fn main() {
    print!("{}", kfunc_layout::c_meta_header());
}
