#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# resolve-btfids-capture.sh: a RESOLVE_BTFIDS wrapper for kernel builds that saves every
# input of resolve_btfids (the ELF *before* resolution, and its arguments), then runs the
# real tool with the same arguments.
#
# Use:
#   make LLVM=1 ... RESOLVE_BTFIDS=/path/to/resolve-btfids-capture.sh \
#        BTFIDS_CAPTURE_DIR=/some/dir BTFIDS_REAL=/tree/tools/bpf/resolve_btfids/resolve_btfids
# (Both variables may also be exported in the environment instead.)
#
# Environment:
#   BTFIDS_CAPTURE_DIR  directory that receives the inputs (created if missing). Required.
#                       vmlinux is saved as `vmlinux`, a module as `<name>.ko`; each gets a
#                       `<saved name>.args` file holding its argument line, and the line
#                       `<saved name><TAB><cwd><TAB><original arguments>` is appended to
#                       `args`. If a module's base (-b/--btf_base FILE) was not captured as
#                       `vmlinux` in the same directory, the base is saved as `base.vmlinux`
#                       (its .BTF is what matters; resolve_btfids never changes .BTF), and
#                       saved again when the base file is newer than that copy (the kernel
#                       was linked again: the modules that follow are split on the new one).
#   BTFIDS_REAL         the stock tool (tools/bpf/resolve_btfids/resolve_btfids) or any
#                       drop-in (btfids-post). Required.
#
# Linux 7.3 (scripts/gen-btf.sh): `--btf FILE` (pahole's detached BTF, deleted by gen-btf.sh
# afterwards) is saved as `<saved name>.BTF.1`; the ELF's name loses a leading dot
# (`.tmp_vmlinux1` is saved as `tmp_vmlinux1`); a module's base is always saved as
# `base.vmlinux` (the final vmlinux: `.tmp_vmlinux1` has no .BTF). `--patch_btfids` runs are
# not captured. `btfids_post::capture::read_detached()` lists such inputs.
#
# The wrapper never changes the ELF itself; the real tool does, after the copy is saved.
# Exit status is the real tool's. A copy failure aborts the build (non-zero exit).
set -eu

: "${BTFIDS_CAPTURE_DIR:?resolve-btfids-capture.sh: set BTFIDS_CAPTURE_DIR}"
: "${BTFIDS_REAL:?resolve-btfids-capture.sh: set BTFIDS_REAL to the real resolve_btfids}"

# Nothing to capture in a --patch_btfids run (Linux 7.3).
for a in "$@"; do
	case "$a" in
	--patch_btfids | --patch_btfids=*) exec "$BTFIDS_REAL" "$@" ;;
	esac
done

# Find the ELF (last non-option argument), the base (-b FILE / --btf_base FILE) and the
# detached BTF (--btf FILE, Linux 7.3).
elf=
base=
btf=
prev=
for a in "$@"; do
	case "$prev" in
	-b | --btf_base) base=$a; prev=; continue ;;
	--btf) btf=$a; prev=; continue ;;
	esac
	case "$a" in
	-b | --btf_base | --btf) prev=$a ;;
	--btf_base=*) base=${a#--btf_base=} ;;
	--btf=*) btf=${a#--btf=} ;;
	-*) ;;
	*) elf=$a ;;
	esac
done
[ -n "$elf" ] || { echo "resolve-btfids-capture.sh: no ELF argument in: $*" >&2; exit 2; }

mkdir -p "$BTFIDS_CAPTURE_DIR"
name=$(basename "$elf")
name=${name#.}

save() { # save SRC DESTNAME: copy to a temporary file, then rename (never half-written)
	cp "$1" "$BTFIDS_CAPTURE_DIR/.$2.tmp.$$"
	mv -f "$BTFIDS_CAPTURE_DIR/.$2.tmp.$$" "$BTFIDS_CAPTURE_DIR/$2"
}

save "$elf" "$name"
[ -z "$btf" ] || save "$btf" "$name.BTF.1"
printf '%s\n' "$*" >"$BTFIDS_CAPTURE_DIR/$name.args"
printf '%s\t%s\t%s\n' "$name" "$(pwd)" "$*" >>"$BTFIDS_CAPTURE_DIR/args"
# The base is saved again when it is newer than the saved copy (a relink of the kernel
# with the same capture directory: the modules' new BTF is split on the new vmlinux).
if [ -n "$base" ] && { [ -n "$btf" ] || [ ! -e "$BTFIDS_CAPTURE_DIR/vmlinux" ]; } &&
	{ [ ! -e "$BTFIDS_CAPTURE_DIR/base.vmlinux" ] ||
		[ "$base" -nt "$BTFIDS_CAPTURE_DIR/base.vmlinux" ]; }; then
	save "$base" base.vmlinux
fi

exec "$BTFIDS_REAL" "$@"
