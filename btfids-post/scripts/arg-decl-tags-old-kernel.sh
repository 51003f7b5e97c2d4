#!/bin/sh
# What a kernel without the series does with per-argument facts written as BTF decl tags
# (btfids-post --arg-decl-tags): the Rust sample module as `cargo xtask selftests --variant
# legacy` builds it (objects of target/kfunc-sample/legacy, btfids-post --legacy-set8), its
# gen-btf.sh step run twice from a relink of those objects, as it is and with
# --arg-decl-tags added to RESOLVE_BTFIDS (the tag representation as it would ship: legacy
# {id, flags} pairs plus kf_param: tags), each module booted on the unpatched 7.3 kernel
# with the VM selftests' runner and programs (legacy expectations). Prints the module BTF
# size the kernel shows in /sys/kernel/btf, the runner's summary, and whether every
# program's verdict is the same with and without the tags.
#
# Usage: btfids-post/scripts/arg-decl-tags-old-kernel.sh [UNPATCHED_TREE]
#   UNPATCHED_TREE: the unpatched tiny kernel tree the legacy sample was built against
#   (default: the one its .kfunc_sample.ko.cmd names). Run `cargo xtask selftests
#   --variant legacy` once first (module objects, target/kfunc-selftests/runner and bpf/).
# Work directory: target/tags-oldkernel/ (recreated). Not part of `cargo xtask test`.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/target/kfunc-sample/legacy
sel=$root/target/kfunc-selftests
w=$root/target/tags-oldkernel
for f in "$src/kfunc_sample.o" "$src/kfunc_sample.mod.o" "$src/.kfunc_sample.ko.cmd" \
	"$sel/runner" "$sel/bpf/stats.bpf.o"; do
	[ -e "$f" ] || { echo "missing $f: run cargo xtask selftests --variant legacy" >&2; exit 2; }
done
# The link command Kbuild saved, and the tree its module.lds is in.
cmd=$(sed -n 's/^savedcmd_kfunc_sample.ko := //p' "$src/.kfunc_sample.ko.cmd")
lds=$(echo "$cmd" | sed -n 's/.* -T \([^ ]*\) .*/\1/p')
tree=${1:-$(dirname "$(dirname "$lds")")}
[ -e "$tree/vmlinux" ] && [ -e "$tree/arch/x86/boot/bzImage" ] ||
	{ echo "$tree: no vmlinux or bzImage" >&2; exit 2; }
(cd "$root" && cargo build --release -q -p btfids-post)
post=$root/target/release/btfids-post
rm -rf "$w"
mkdir -p "$w/bpf"
cp "$sel/runner" "$w/"
cp "$sel"/bpf/*.bpf.o "$w/bpf/"
# gen-btf.sh's variables as the tree's Kbuild computes them (pahole without -j).
env_of() {
	make -s -C "$tree" LLVM=-19 "--eval=kfa-env: ; @echo '\$($1)'" kfa-env 2>/dev/null | tail -1
}
pahole_flags=$(env_of PAHOLE_FLAGS | tr ' ' '\n' | grep -v '^-j' | tr '\n' ' ')
objcopy=$(env_of OBJCOPY)
for v in plain tags; do
	mkdir -p "$w/$v"
	out=$w/$v/kfunc_sample.ko
	(cd "$src" && eval "$(echo "$cmd" | sed "s| -o kfunc_sample.ko | -o $out |")")
	extra=--legacy-set8
	[ $v = tags ] && extra="--legacy-set8 --arg-decl-tags"
	(cd "$tree" && env srctree="$tree" objtree="$tree" PAHOLE=pahole \
		PAHOLE_FLAGS="$pahole_flags" OBJCOPY="$objcopy" CONFIG_SHELL=sh \
		RESOLVE_BTFIDS="$post $extra" RESOLVE_BTFIDS_FLAGS=--distill_base \
		sh scripts/gen-btf.sh --btf_base "$tree/vmlinux" "$out" 2>/dev/null)
	"$objcopy" --dump-section .BTF="$w/$v.BTF" "$out" /dev/null
done
if cmp -s "$src/kfunc_sample.ko" "$w/plain/kfunc_sample.ko"; then
	echo "plain: byte-identical to $src/kfunc_sample.ko (the relink is Kbuild's)"
else
	echo "plain: differs from $src/kfunc_sample.ko (a stale legacy build?)"
fi
echo "module .BTF: $(wc -c <"$w/plain.BTF") bytes plain, $(wc -c <"$w/tags.BTF") bytes with tags"
files="--file $w/runner:/runner"
progs=
for o in "$w"/bpf/*.bpf.o; do
	n=$(basename "$o")
	files="$files --file $o:/progs/$n"
	[ "$n" = stats.bpf.o ] || progs="$progs /progs/$n"
done
for v in plain tags; do
	# shellcheck disable=SC2086
	(cd "$root" && cargo xtask vm --kernel "$tree/arch/x86/boot/bzImage" \
		--module "$w/$v/kfunc_sample.ko" $files --timeout 300 --work-dir "$w/vm-$v" -- \
		"wc -c /sys/kernel/btf/kfunc_sample; /runner --variant legacy --module kfunc_sample --stats /progs/stats.bpf.o$progs") \
		>"$w/vm-$v.out" 2>&1 || { echo "$v: the VM run failed ($w/vm-$v.out)"; exit 1; }
	grep -o '[0-9]* /sys/kernel/btf/kfunc_sample' "$w/vm-$v.out" | head -1 | sed "s/^/$v: kernel shows /"
	grep -o 'SUMMARY:.*' "$w/vm-$v.out" | head -1 | sed "s/^/$v: /"
	grep 'TEST ' "$w/vm-$v.out" | sed 's/^.*TEST //' | awk '{print $2, $3}' >"$w/$v.verdicts"
done
n=$(wc -l <"$w/tags.verdicts")
if [ "$n" -gt 0 ] && cmp -s "$w/plain.verdicts" "$w/tags.verdicts"; then
	echo "the same verdict for all $n tests with and without the tags: the kernel ignores them"
else
	echo "verdicts differ (or none): diff $w/plain.verdicts $w/tags.verdicts"
	exit 1
fi
