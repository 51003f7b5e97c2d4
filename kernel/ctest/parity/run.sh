#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# C parity of per-argument kfunc flags with the Linux 7.3 argument-name suffixes.
#
#   kernel/ctest/parity/run.sh PATCHED_TREE [UNPATCHED_TREE]
#
# Builds three C modules with the same kfuncs (parity_body.h) against PATCHED_TREE:
#   kfunc_csfx   suffixed parameter names, legacy set8 (7.3 style)
#   kfunc_cargs  plain names, extended set8 with the KF_PARAM_* flag of each suffix
#   kfunc_cctl   plain names, legacy set8, no per-argument flag (control)
#   kfunc_cfull  the full conversion: function flags about one argument moved to it
# and every BPF program of selftests/progs (the Rust sample's tests; the C modules have
# the same kfunc names) and of parity/progs. One VM boot of PATCHED_TREE loads each
# module in turn and loads every program alone against it (kernel/ctest/loader.c).
#
# Checks: csfx and cargs give every program the same RESULT line (verdict, errno or return
# value) and, for refused programs, the same whole verifier log; the control differs
# from csfx for at least one program (the flags, not the names, carry the facts); the
# modules' .BTF_ids are identical when built with resolve_btfids and with btfids-post.
# With RUST_SAMPLE_KO (kernel-sample's kfunc_sample.ko built against PATCHED_TREE), the
# Rust module is loaded too and kfunc_cfull must give every program the same result and
# log as the Rust module (programs of selftests/progs: the Rust module has no bpf_cpar_*):
# the same per-argument flags in C and in Rust.
# With UNPATCHED_TREE, kfunc_csfx is also built against the stock 7.3 kernel and every
# program must get the same result and log there: the reference behaviour of the suffixes.
#
# Environment: OUT (work dir, default /tmp/kfunc-parity), BTFIDS_POST (default
# <repo>/target/release/btfids-post), QEMU_TIMEOUT (seconds, default 600).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 PATCHED_TREE [UNPATCHED_TREE]" >&2; exit 2; }
tree=$(cd "$1" && pwd)
unpatched=${2:+$(cd "$2" && pwd)}
for f in vmlinux arch/x86/boot/bzImage Module.symvers include/linux/btf_kfunc_args.h; do
	[ -e "$tree/$f" ] || { echo "parity: $tree/$f missing (not a built patched tree?)" >&2; exit 2; }
done
out=${OUT:-/tmp/kfunc-parity}
btfids=${BTFIDS_POST:-$repo/target/release/btfids-post}
timeout=${QEMU_TIMEOUT:-600}
mods="kfunc_csfx kfunc_cargs kfunc_cctl kfunc_cfull"

rm -rf "$out" && mkdir -p "$out/mod" "$out/mod-post" "$out/bpf"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }

echo "parity: building $mods against $tree"
for d in mod mod-post; do
	cp "$here"/Kbuild "$here"/*.c "$here"/*.h "$out/$d/"
done
make -s -C "$tree" LLVM=-19 M="$out/mod" modules >"$out/mod.log" 2>&1 ||
	{ tail -30 "$out/mod.log"; echo "parity: module build failed" >&2; exit 1; }
if [ -x "$btfids" ]; then
	make -s -C "$tree" LLVM=-19 M="$out/mod-post" RESOLVE_BTFIDS="$btfids" modules \
		>"$out/mod-post.log" 2>&1 ||
		{ tail -30 "$out/mod-post.log"; echo "parity: module build with btfids-post failed" >&2; exit 1; }
	for m in $mods; do
		for d in mod mod-post; do
			llvm-objcopy --dump-section .BTF_ids="$out/$d.$m.btfids" "$out/$d/$m.ko" /dev/null
		done
		cmp -s "$out/mod.$m.btfids" "$out/mod-post.$m.btfids" &&
			ok "$m.ko .BTF_ids: resolve_btfids and btfids-post agree ($(wc -c <"$out/mod.$m.btfids") bytes)" ||
			ko "$m.ko .BTF_ids differ between resolve_btfids and btfids-post"
	done
else
	echo "SKIP resolve_btfids/btfids-post comparison: $btfids not built (cargo build --release -p btfids-post)"
fi

# The audit's migration table of kfunc_csfx (flags its suffixes imply) must be exactly the
# per-argument flags written by hand in kfunc_cargs.
if [ -x "$btfids" ] && command -v python3 >/dev/null; then
	"$btfids" audit --json "$tree/vmlinux" "$out/mod/kfunc_csfx.ko" >"$out/audit.json"
	"$btfids" dump --json -b "$tree/vmlinux" "$out/mod/kfunc_cargs.ko" >"$out/cargs.dump.json"
	r=$(python3 - "$out/audit.json" "$out/cargs.dump.json" <<'EOF_PY'
import json, sys
a = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
want = {k["name"]: [x["from_suffix"] for x in k["args"]]
        for k in a["kfuncs"] if k["object"].endswith("kfunc_csfx.ko")}
have = {}
for s in d:
    for e in s["entries"]:
        have[e["name"]] = {x["index"]: x["flags"] for x in e["args"]}
bad = [n for n, w in want.items()
       if n not in have or any(have[n].get(i, 0) != f for i, f in enumerate(w))
       or any(i >= len(w) and f for i, f in have[n].items())]
print(len(want), len(bad), " ".join(sorted(bad)))
EOF_PY
)
	set -- $r
	[ "${1:-0}" -gt 0 ] && [ "${2:-1}" -eq 0 ] &&
		ok "audit of kfunc_csfx.ko proposes exactly kfunc_cargs's per-argument flags ($1 kfuncs)" ||
		ko "audit of kfunc_csfx.ko vs kfunc_cargs.ko flags: $r"
fi

echo "parity: building BPF objects and the loader"
for p in "$repo"/selftests/progs/*.bpf.c "$here"/progs/*.bpf.c; do
	n=$(basename "$p" .bpf.c)
	clang -O2 -g -target bpf -Wall -I/usr/include/x86_64-linux-gnu -I"$repo/selftests/include" \
		-c "$p" -o "$out/bpf/$n.bpf.o"
done
gcc -O2 -static -o "$out/loader" "$repo/kernel/ctest/loader.c" -lbpf -lelf -lz

# vm_pass TAG TREE MODDIR "MODULES": boot TREE with the modules of MODDIR loaded in turn and
# every program loaded against each; results in $out/results.TAG.<module>, logs in
# $out/logs/TAG/<module>/.
vm_pass() {
tag=$1 vtree=$2 moddir=$3 vmods=$4
d=$out/initramfs-$tag
mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/tmp"
cp /bin/busybox "$d/bin/busybox"
cp "$out/loader" "$d/loader"
cp "$out"/bpf/*.bpf.o "$d/"
for m in $vmods; do cp "$moddir/$m.ko" "$d/"; done
{
	echo '#!/bin/busybox sh'
	echo '/bin/busybox --install -s /bin'
	echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
	echo 'echo PARITY-BEGIN'
	for m in $vmods; do
		echo "echo PARITY-MODULE $m"
		echo "insmod /$m.ko || echo PARITY-INSMOD-FAILED $m"
		for o in "$out"/bpf/*.bpf.o; do
			ob=$(basename "$o")
			progs=$(llvm-nm --defined-only "$o" | awk '$2 == "T" { printf " %s", $3 }')
			[ -n "$progs" ] || continue
			echo "echo PARITY-OBJ $ob"
			echo "/loader /$ob$progs"
		done
		# BPF programs drop their module references after an RCU grace period: retry.
		echo "n=0; until rmmod $m 2>/dev/null; do n=\$((n+1)); [ \$n -ge 100 ] && { echo PARITY-RMMOD-FAILED $m; break; }; usleep 50000; done"
	done
	echo 'echo PARITY-END'
	echo 'reboot -f'
} >"$d/init"
chmod +x "$d/init"
(cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$d.cpio.gz"

echo "parity: booting $vtree/arch/x86/boot/bzImage (TCG)"
start=$(date +%s)
timeout "$timeout" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$vtree/arch/x86/boot/bzImage" -initrd "$d.cpio.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4" </dev/null >"$out/console-$tag.raw" 2>&1 || true
tr -d '\r' <"$out/console-$tag.raw" >"$out/console-$tag.txt"
echo "parity: VM done in $(($(date +%s) - start))s, console in $out/console-$tag.txt"
log=$out/console-$tag.txt
grep -q '^PARITY-END' "$log" || { tail -30 "$log"; echo "parity: VM did not finish" >&2; exit 1; }
if grep -qE 'WARNING:|BUG:|Oops|Call Trace|Kernel panic|refcount_t:' "$log"; then
	ko "kernel problem on the console: $(grep -m1 -E 'WARNING:|BUG:|Oops|Call Trace|Kernel panic|refcount_t:' "$log")"
fi
for m in $vmods; do
	grep -q "^PARITY-INSMOD-FAILED $m" "$log" && ko "insmod $m failed" || ok "$m loaded ($tag)"
	grep -q "^PARITY-RMMOD-FAILED $m" "$log" && ko "rmmod $m failed (references left?)"
	! grep -q "$m: unloading with" "$log" || ko "$m: $(grep -m1 "$m: unloading with" "$log")"
done

# One record per program and module: "<obj>/<prog>\t<RESULT line>\t<log checksum>", and
# the log itself in $out/logs/<module>/<obj>.<prog>.log.
for m in $vmods; do
	mkdir -p "$out/logs/$tag/$m"
	awk -v m="$m" -v dir="$out/logs/$tag/$m" '
		/^PARITY-MODULE / { on = ($2 == m); next }
		!on { next }
		/^PARITY-OBJ / { obj = $2; next }
		/^RESULT / { res[obj "/" $2] = $0; order[++n] = obj "/" $2; next }
		/^LOG-BEGIN / { cur = dir "/" obj "." $2 ".log"; inlog = 1; printf "" > cur; next }
		/^LOG-END / { inlog = 0; close(cur); next }
		inlog { print >> cur }
		END { for (i = 1; i <= n; i++) print order[i] "\t" res[order[i]] }
	' "$log" |
	# A refusal without a message ends its RESULT line with the last log line, which may
	# be the call instruction: mask the kfunc's BTF id there too (see norm below).
	sed -E 's/(call [A-Za-z0-9_]+)#[0-9]+/\1#<btf id>/' >"$out/results.$tag.$m"
done

}

rust=${RUST_SAMPLE_KO:-}
pmods=$mods
if [ -n "$rust" ]; then
	[ -f "$rust" ] || { echo "parity: RUST_SAMPLE_KO=$rust: no such file" >&2; exit 2; }
	cp "$rust" "$out/mod/kfunc_sample.ko"
	pmods="$mods kfunc_sample"
fi
vm_pass p "$tree" "$out/mod" "$pmods"
if [ -n "$unpatched" ]; then
	echo "parity: building kfunc_csfx against the unpatched kernel $unpatched"
	mkdir -p "$out/mod-u"
	cp "$here"/*.c "$here"/*.h "$out/mod-u/"
	printf 'ccflags-y += -I$(src)\nobj-m += kfunc_csfx.o\n' >"$out/mod-u/Kbuild"
	make -s -C "$unpatched" LLVM=-19 M="$out/mod-u" modules >"$out/mod-u.log" 2>&1 ||
		{ tail -30 "$out/mod-u.log"; echo "parity: module build (unpatched) failed" >&2; exit 1; }
	vm_pass u "$unpatched" "$out/mod-u" kfunc_csfx
fi

nprog=$(wc -l <"$out/results.p.kfunc_csfx")
[ "$nprog" -gt 0 ] || { ko "no program results for kfunc_csfx"; echo "parity: $pass passed, $fail failed"; exit 1; }
same=0 differ=0 ctl_differ=0 accepted=0 refused=0 normalized=0
# Masked: kfunc BTF ids ('call name#<id>') and kernel addresses (a map's, loaded with
# ld_imm64: 'r1 = 0xffff888000...'), which differ between boots and modules.
# BTF ids and addresses differ between kernels (pahole -j is not reproducible), and the
# verifier pads "call name#id" to a column: mask both and fold runs of blanks.
norm() { sed -E -e 's/(call [A-Za-z0-9_]+)#[0-9]+/\1#<btf id>/' -e 's/0xffff[0-9a-f]{12}/<kernel addr>/g' -e 's/[[:space:]]+/ /g' "$1"; }
verdict() { echo "$1" | awk '{ if ($3 == "loaded") print "loaded=" $4; else if ($3 == "refused") print "refused(" $4 ")"; else print $3 }'; }
printf '%-40s %-16s %-16s %-5s %-22s %-18s %-16s %s\n' "program" "suffixes (csfx)" "arg flags" "same" "control (cctl)" "stock 7.3 (csfx)" "full (cfull)" "Rust sample" >"$out/table.txt"
u_same=0 u_differ=0 r_same=0 r_differ=0
while IFS="$(printf '\t')" read -r key res; do
	obj=${key%%/*} prog=${key#*/}
	a=$res
	b=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$out/results.p.kfunc_cargs")
	c=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$out/results.p.kfunc_cctl")
	la=$out/logs/p/kfunc_csfx/$obj.$prog.log lb=$out/logs/p/kfunc_cargs/$obj.$prog.log
	lc=$out/logs/p/kfunc_cctl/$obj.$prog.log lu=$out/logs/u/kfunc_csfx/$obj.$prog.log
	logs_same=yes
	if [ -e "$la" ] || [ -e "$lb" ]; then
		if ! cmp -s "$la" "$lb" 2>/dev/null; then
			# The instruction dump names a kfunc call with the kfunc's BTF id in its
			# module ("call bpf_x#44186"); the modules' BTF differ, so may the ids.
			if [ -e "$la" ] && [ -e "$lb" ] && [ "$(norm "$la")" = "$(norm "$lb")" ]; then
				logs_same=yes normalized=$((normalized + 1))
			else
				logs_same=no
			fi
		fi
	fi
	if [ "$a" = "$b" ] && [ "$logs_same" = yes ]; then
		s=yes same=$((same + 1))
		ok "parity $key: $(verdict "$a") $(echo "$a" | cut -d' ' -f5-)"
	else
		s=NO differ=$((differ + 1))
		ko "parity $key: csfx '$a' vs cargs '$b' (logs same: $logs_same)"
	fi
	case $(verdict "$a") in loaded*) accepted=$((accepted + 1)) ;; refused*) refused=$((refused + 1)) ;; esac
	cs=same
	if [ "$a" != "$c" ] || { [ -e "$la" ] && [ "$(norm "$la")" != "$(norm "$lc" 2>/dev/null)" ]; }; then
		cs="DIFFERS: $(verdict "$c")"
		ctl_differ=$((ctl_differ + 1))
	fi
	us=-
	if [ -n "$unpatched" ]; then
		u=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$out/results.u.kfunc_csfx")
		if [ "$u" = "$a" ] && { [ ! -e "$la" ] || [ "$(norm "$la")" = "$(norm "$lu" 2>/dev/null)" ]; }; then
			us=same u_same=$((u_same + 1))
		else
			us="DIFFERS: $(verdict "$u")" u_differ=$((u_differ + 1))
			ko "stock 7.3 $key: patched '$a' vs unpatched '$u'"
		fi
	fi
	f=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$out/results.p.kfunc_cfull")
	lf=$out/logs/p/kfunc_cfull/$obj.$prog.log lr=$out/logs/p/kfunc_sample/$obj.$prog.log
	rs=-
	# The Rust module has the sample's kfuncs only, not the bpf_cpar_* of parity/progs.
	if [ -n "$rust" ] && [ -e "$here/progs/${obj%.o}.c" ]; then
		rs="n/a (C only)"
	elif [ -n "$rust" ]; then
		r=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$out/results.p.kfunc_sample")
		if [ "$r" = "$f" ] && { [ ! -e "$lf" ] || [ "$(norm "$lf")" = "$(norm "$lr" 2>/dev/null)" ]; }; then
			rs="same" r_same=$((r_same + 1))
		else
			rs="DIFFERS: $(verdict "$r")" r_differ=$((r_differ + 1))
			ko "C/Rust $key: kfunc_cfull '$f' vs kfunc_sample '$r'"
		fi
	fi
	printf '%-40s %-16s %-16s %-5s %-22s %-18s %-16s %s\n' "$key" "$(verdict "$a")" "$(verdict "$b")" "$s" "$cs" "$us" "$(verdict "$f")" "$rs" >>"$out/table.txt"
done <"$out/results.p.kfunc_csfx"
echo; cat "$out/table.txt"
nb=$(wc -l <"$out/results.p.kfunc_cargs")
[ "$nb" -eq "$nprog" ] && ok "kfunc_cargs ran the same $nprog programs" ||
	ko "kfunc_cargs ran $nb programs, kfunc_csfx $nprog"
[ "$ctl_differ" -gt 0 ] &&
	ok "control: $ctl_differ program(s) behave differently without per-argument flags" ||
	ko "control: no program changed without the per-argument flags (the flags had no effect?)"
if [ -n "$rust" ]; then
	[ "$r_differ" -eq 0 ] && ok "kfunc_cfull (C) and kfunc_sample (Rust): all $r_same programs the same"
else
	echo "SKIP C/Rust comparison: set RUST_SAMPLE_KO to kernel-sample's kfunc_sample.ko built against $tree"
fi
if [ -n "$unpatched" ]; then
	[ "$u_differ" -eq 0 ] && ok "kfunc_csfx on stock 7.3: all $u_same programs as on the patched kernel"
else
	echo "SKIP comparison with stock 7.3: no UNPATCHED_TREE given"
fi
echo
[ -n "$unpatched" ] && echo "parity: stock 7.3 with suffixes: $u_same same as the patched kernel, $u_differ differ"
[ -n "$rust" ] && echo "parity: full C conversion vs Rust sample: $r_same same, $r_differ differ"
echo "parity: $nprog programs ($accepted accepted, $refused refused with suffixes): $same identical with per-argument flags ($normalized verifier logs identical once kfunc BTF ids in 'call name#id' and kernel addresses are masked), $differ differ; control differs on $ctl_differ"
echo "parity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
