#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-load-check.sh TREE: check that a kernel loads a module whose BTF btfids-post generated.
#
# Builds tests/fixtures/kfunc_ext (C kfuncs in an extended set8) against TREE (a built kernel
# tree with vmlinux and bzImage), turns it into a "Rust-like" module (empty split .BTF, as
# pahole writes for Rust code, plus .kfunc.meta records: examples/rustlike_fixture.rs), runs
# btfids-post on it (once normally, once with --legacy-set8), then boots TREE's bzImage in
# QEMU (cargo xtask vm) and insmods each: the kernel validates module BTF at load time, and
# /sys/kernel/btf/kfunc_ext must have the size of the grown .BTF.
set -eu
tree=$(cd "${1:?usage: vm-load-check.sh KERNEL_TREE}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
work=${WORK:-/tmp/btfids-post-vm-check}
rm -rf "$work" && mkdir -p "$work/mod" "$work/args" "$work/legacy"
cp "$here/tests/fixtures/kfunc_ext/"* "$work/mod/"
# Build with the stock tool kept out of the way: RESOLVE_BTFIDS=true leaves ids unresolved.
make -C "$tree" LLVM=1 M="$work/mod" RESOLVE_BTFIDS=true modules >"$work/build.log" 2>&1
cargo build -q --release -p btfids-post --manifest-path "$root/Cargo.toml"
post="$root/target/release/btfids-post"
cargo run -q --release -p btfids-post --example rustlike_fixture --manifest-path "$root/Cargo.toml" -- \
	"$work/mod/kfunc_ext.ko" "$tree/vmlinux" "$work/args/kfunc_ext.ko"
cp "$work/args/kfunc_ext.ko" "$work/legacy/kfunc_ext.ko"
"$post" -v -b "$tree/vmlinux" "$work/args/kfunc_ext.ko"
"$post" -v --legacy-set8 -b "$tree/vmlinux" "$work/legacy/kfunc_ext.ko"
"$post" check -b "$tree/vmlinux" "$work/args/kfunc_ext.ko"
for v in args legacy; do
	size=$(printf "%d" "0x$(readelf -SW "$work/$v/kfunc_ext.ko" | awk '{ for (i = 1; i < NF; i++) if ($i == ".BTF") print $(i + 4) }')")
	echo "== $v: .BTF is $size bytes"
	cargo run -q -p xtask --manifest-path "$root/Cargo.toml" -- vm --kernel "$tree/arch/x86/boot/bzImage" \
		--module "$work/$v/kfunc_ext.ko" --work-dir "$work/vm-$v" --timeout 120 -- \
		"test \$(wc -c < /sys/kernel/btf/kfunc_ext) -eq $size && echo BTF-LOADED-OK"
done
