// SPDX-License-Identifier: GPL-2.0

//! The values of `kfunc_layout` the macros use, under the one name the shared sources read
//! them by (`super::layout`). The in-tree copy (`rust/macros/kfunc/layout.rs`) defines the
//! same names itself, generated from `kfunc_layout` by `cargo xtask gen-rust-macros`.

pub(crate) use kfunc_layout::{
    kf_arg_mem, ArgFlag, FuncFlag, BTF_SET8_ARGS_HEADER_FLAGS, KFUNC_ARGS_SET_KIND, MAX_ARGS,
    META_ARGS_OFFSET, META_HEADER_SIZE, META_MAGIC, META_RET_OFFSET, META_SECTION, META_TYPE_SIZE,
    META_VERSION, SET8_ARGS_ENTRY_SIZE, SET8_HEADER_SIZE, TYPE_F_CONST, TYPE_F_MODULE,
    TYPE_F_SIGNED, TYPE_POINTER, TYPE_SCALAR, TYPE_VOID,
};
