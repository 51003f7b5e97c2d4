#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runtime smoke test of the patched kernel's per-argument kfunc flags, with a C kfunc set
# (kfa_test.c) declared with BTF_KFUNCS_ARGS_START / BTF_ID_FLAGS_ARGS.
#
#   kernel/ctest/run.sh PATCHED_TREE [UNPATCHED_TREE]
#
# Builds kfa_test.ko against PATCHED_TREE (ids resolved by the tree's resolve_btfids, which
# patch 2 teaches extended sets; if btfids-post is built, the module is built with it too
# and both .BTF_ids sections must be identical), the BPF objects in progs/ and a static
# libbpf loader, boots PATCHED_TREE's bzImage in QEMU (TCG) with a busybox initramfs, and
# checks expectations.txt: registration of each invalid set fails with its message, each
# program loads (and returns the expected value) or is refused with the expected message.
# buildfail/kfa_mem8.c (KF_PARAM_MEM(8)) must not build.
# With UNPATCHED_TREE, the legacy programs also run there and must give the same results,
# and the extended layout must fail closed without the series: building the modules with
# the unpatched tree's resolve_btfids stops at the extended set's symbol, and the unpatched
# kernel refuses to register kfa_one.ko's one-kfunc extended set (while it registers the
# same set in the series' earlier layout, with its per-argument flag dropped).
#
# Environment: OUT (work dir, default /tmp/kfa-ctest), BTFIDS_POST (btfids-post binary,
# default <repo>/target/release/btfids-post), QEMU_TIMEOUT (seconds, default 300).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 PATCHED_TREE [UNPATCHED_TREE]" >&2; exit 2; }
patched=$(cd "$1" && pwd)
unpatched=${2:+$(cd "$2" && pwd)}
out=${OUT:-/tmp/kfa-ctest}
btfids=${BTFIDS_POST:-$repo/target/release/btfids-post}
timeout=${QEMU_TIMEOUT:-300}

rm -rf "$out" && mkdir -p "$out/mod" "$out/mod-post" "$out/bpf"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }

echo "ctest: building kfa_test.ko against $patched"
cp "$here/kfa_test.c" "$here/kfa_one.c" "$here/Kbuild" "$out/mod/"
make -s -C "$patched" LLVM=-19 M="$out/mod" modules >"$out/mod.log" 2>&1 ||
	{ tail -30 "$out/mod.log"; echo "ctest: module build failed" >&2; exit 1; }
if [ -x "$btfids" ]; then
	cp "$here/kfa_test.c" "$here/kfa_one.c" "$here/Kbuild" "$out/mod-post/"
	make -s -C "$patched" LLVM=-19 M="$out/mod-post" RESOLVE_BTFIDS="$btfids" modules \
		>"$out/mod-post.log" 2>&1 ||
		{ tail -30 "$out/mod-post.log"; echo "ctest: module build with btfids-post failed" >&2; exit 1; }
	for m in kfa_test kfa_one; do
		for d in mod mod-post; do
			llvm-objcopy --dump-section .BTF_ids="$out/$d.$m.btfids" "$out/$d/$m.ko" /dev/null
		done
		cmp -s "$out/mod.$m.btfids" "$out/mod-post.$m.btfids" &&
			ok ".BTF_ids of $m.ko: resolve_btfids and btfids-post agree ($(wc -c <"$out/mod.$m.btfids") bytes)" ||
			ko ".BTF_ids of $m.ko differ between resolve_btfids and btfids-post"
	done
else
	echo "SKIP resolve_btfids/btfids-post comparison: $btfids not built (cargo build --release -p btfids-post)"
fi

# KF_PARAM_MEM(m) with an m that does not fit its field must not build (it is not masked
# into another argument's index): buildfail/kfa_mem8.c stops at BTF_ID_FLAGS_ARGS's .error.
mkdir -p "$out/mod-mem8"
cp "$here/buildfail/kfa_mem8.c" "$out/mod-mem8/" && echo "obj-m += kfa_mem8.o" >"$out/mod-mem8/Kbuild"
if make -s -C "$patched" LLVM=-19 M="$out/mod-mem8" modules >"$out/mod-mem8.log" 2>&1; then
	ko "kfa_mem8.ko built: KF_PARAM_MEM(8) was accepted"
elif grep -q "error: kfa_mem8_sum: unknown bits in the flags of arg#1" "$out/mod-mem8.log"; then
	ok "KF_PARAM_MEM(8) is a build error: $(grep -o 'kfa_mem8_sum: unknown bits[^"]*' "$out/mod-mem8.log" | head -1)"
else
	ko "kfa_mem8.ko build failed otherwise: $(tail -3 "$out/mod-mem8.log")"
fi

# A resolve_btfids without the series must stop at an extended set, not misread it.
if [ -n "$unpatched" ]; then
	mkdir -p "$out/mod-stale"
	cp "$here/kfa_one.c" "$out/mod-stale/" && echo "obj-m += kfa_one.o" >"$out/mod-stale/Kbuild"
	stale=$unpatched/tools/bpf/resolve_btfids/resolve_btfids
	if make -s -C "$patched" LLVM=-19 M="$out/mod-stale" RESOLVE_BTFIDS="$stale" modules \
		>"$out/mod-stale.log" 2>&1; then
		ko "kfa_one.ko built with the unpatched resolve_btfids: the extended set went unnoticed"
	elif grep -q "FAILED unsupported prefix kfunc_args__kfa_one_set" "$out/mod-stale.log"; then
		ok "unpatched resolve_btfids stops the build: $(grep -o 'FAILED unsupported prefix [^ ]*' "$out/mod-stale.log" | head -1)"
	else
		ko "kfa_one.ko build with the unpatched resolve_btfids failed otherwise: $(tail -3 "$out/mod-stale.log")"
	fi
fi

echo "ctest: building BPF objects and the loader"
for p in "$here"/progs/*.bpf.c; do
	n=$(basename "$p" .bpf.c)
	clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$p" -o "$out/bpf/$n.bpf.o"
done
gcc -O2 -static -o "$out/loader" "$here/loader.c" -lbpf -lelf -lz

# prog lines grouped per object: "obj prog prog ..."
progs_of() { awk -v o="$1" '$1 == "prog" && $2 == o { printf " %s", $3 }' "$here/expectations.txt"; }
bads=$(awk '$1 == "reg" { printf " %s", $2 }' "$here/expectations.txt")

# kfa_one.ko with each layout: ONE <layout> accepted|refused, and its log line.
one_layouts() {
	for l in new v2; do
		echo "if insmod /kfa_one.ko layout=$l; then echo ONE $l accepted; rmmod kfa_one; else echo ONE $l refused; fi"
	done
	echo 'dmesg | grep -E "kfa_one|extended set8 version" | sed "s/^/KLOG /"'
}

make_initramfs() { # make_initramfs DIR WITH_MODULE
	d=$1
	rm -rf "$d" && mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/tmp"
	cp /bin/busybox "$d/bin/busybox"
	cp "$out/mod/kfa_one.ko" "$d/"
	cp "$out/loader" "$d/loader"
	cp "$out"/bpf/*.bpf.o "$d/"
	{
		echo '#!/bin/busybox sh'
		echo '/bin/busybox --install -s /bin'
		echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
		echo 'echo CTEST-BEGIN'
		if [ "$2" = yes ]; then
			cp "$out/mod/kfa_test.ko" "$d/"
			for b in $bads; do
				echo "if insmod /kfa_test.ko bad=$b; then echo REG $b accepted; rmmod kfa_test; else echo REG $b refused; fi"
			done
			echo 'dmesg | grep -E "kfunc |kfa_test" | sed "s/^/KLOG /"'
			one_layouts
			echo 'insmod /kfa_test.ko && echo MOD loaded || echo MOD failed'
			echo "/loader /kfa.bpf.o$(progs_of kfa)"
		fi
		[ "$2" = yes ] || one_layouts
		echo "/loader /legacy.bpf.o$(progs_of legacy)"
		echo 'echo CTEST-END'
		echo 'reboot -f'
	} >"$d/init"
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$d.cpio.gz"
}

boot() { # boot TREE INITRAMFS LOG
	echo "ctest: booting $1/arch/x86/boot/bzImage (TCG)"
	start=$(date +%s)
	timeout "$timeout" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
		-kernel "$1/arch/x86/boot/bzImage" -initrd "$2" \
		-append "console=ttyS0 panic=-1 loglevel=4" </dev/null >"$3" 2>&1 || true
	tr -d '\r' <"$3" >"$3.txt"
	echo "ctest: VM done in $(( $(date +%s) - start ))s, console in $3.txt"
	grep -q CTEST-END "$3.txt" || { tail -30 "$3.txt"; echo "ctest: VM did not finish" >&2; exit 1; }
}

make_initramfs "$out/initramfs-patched" yes
boot "$patched" "$out/initramfs-patched.cpio.gz" "$out/console-patched"

log=$out/console-patched.txt

grep -q '^MOD loaded' "$log" && ok "kfa_test.ko registers its extended set" ||
	ko "kfa_test.ko did not load: $(grep -E 'KLOG|MOD' "$log" | tail -3)"

while read -r kind a b c rest; do
	case "$kind" in
	reg)
		want="$b $c $rest"
		if grep -q "^REG $a refused" "$log" && grep -F "KLOG" "$log" | grep -qF -- "$want"; then
			ok "bad=$a refused: $want"
		else
			ko "bad=$a: want refusal with '$want'; got: $(grep "^REG $a " "$log")"
		fi ;;
	prog)
		line=$(grep "^RESULT $b " "$log" || true)
		if [ "$c" = loaded ]; then
			[ "$line" = "RESULT $b loaded $rest" ] && ok "$a/$b loaded, returned $rest" ||
				ko "$a/$b: want 'loaded $rest', got '$line'"
		else
			verdict=$(echo "$line" | cut -d' ' -f3)
			body=$(sed -n "/^LOG-BEGIN $b\$/,/^LOG-END $b\$/p" "$log")
			if [ "$verdict" = refused ] && printf '%s\n' "$body" | grep -qF -- "$rest"; then
				ok "$a/$b refused: $rest"
			else
				ko "$a/$b: want refusal with '$rest', got '$line'"
			fi
		fi ;;
	esac
done <<EOF_EXP
$(grep -v '^#' "$here/expectations.txt")
EOF_EXP

# one_check LOG LAYOUT VERDICT KLOG-TEXT WHAT
one_check() {
	if grep -q "^ONE $2 $3" "$1" && grep "^KLOG" "$1" | grep -qF -- "$4"; then
		ok "$5"
	else
		ko "$5: want '$3' with '$4'; got: $(grep -E "^ONE $2 |KLOG.*(kfa_one|extended set8)" "$1" | tr '\n' ' ')"
	fi
}
one_check "$log" new accepted "layout=new register_btf_kfunc_id_set: 0" \
	"patched kernel registers kfa_one's one-kfunc extended set"
one_check "$log" v2 refused "extended set8 version 2, only 3 is supported" \
	"patched kernel refuses the earlier layout's bytes (version 2)"

if [ -n "$unpatched" ]; then
	make_initramfs "$out/initramfs-unpatched" no
	boot "$unpatched" "$out/initramfs-unpatched.cpio.gz" "$out/console-unpatched"
	ulog=$out/console-unpatched.txt
	one_check "$ulog" new refused "layout=new register_btf_kfunc_id_set: -22" \
		"unpatched kernel refuses the one-kfunc extended set (no BTF_SET8_KFUNCS: fails closed)"
	one_check "$ulog" v2 accepted "layout=v2 register_btf_kfunc_id_set: 0" \
		"unpatched kernel registers the earlier layout's one-kfunc set, per-argument flag dropped (the hole closed above)"
	for p in $(progs_of legacy); do
		a=$(grep "^RESULT $p " "$log")
		u=$(grep "^RESULT $p " "$out/console-unpatched.txt" || true)
		[ "$a" = "$u" ] && ok "legacy/$p same on unpatched: $u" ||
			ko "legacy/$p differs: patched '$a', unpatched '$u'"
	done
else
	echo "SKIP legacy comparison with the unpatched kernel: no UNPATCHED_TREE given"
fi

echo "ctest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
