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
#                       (its .BTF is what matters; resolve_btfids never changes .BTF).
#   BTFIDS_REAL         the stock tool (tools/bpf/resolve_btfids/resolve_btfids) or any
#                       drop-in (btfids-post). Required.
#
# The wrapper never changes the ELF itself; the real tool does, after the copy is saved.
# Exit status is the real tool's. A copy failure aborts the build (non-zero exit).
set -eu

: "${BTFIDS_CAPTURE_DIR:?resolve-btfids-capture.sh: set BTFIDS_CAPTURE_DIR}"
: "${BTFIDS_REAL:?resolve-btfids-capture.sh: set BTFIDS_REAL to the real resolve_btfids}"

# Find the ELF (last non-option argument) and the base (-b FILE / --btf_base FILE).
elf=
base=
prev=
for a in "$@"; do
	case "$prev" in
	-b | --btf_base | --btf) [ "$prev" = --btf ] || base=$a; prev=; continue ;;
	esac
	case "$a" in
	-b | --btf_base | --btf) prev=$a ;;
	--btf_base=*) base=${a#--btf_base=} ;;
	-*) ;;
	*) elf=$a ;;
	esac
done
[ -n "$elf" ] || { echo "resolve-btfids-capture.sh: no ELF argument in: $*" >&2; exit 2; }

mkdir -p "$BTFIDS_CAPTURE_DIR"
name=$(basename "$elf")

save() { # save SRC DESTNAME: copy to a temporary file, then rename (never half-written)
	cp "$1" "$BTFIDS_CAPTURE_DIR/.$2.tmp.$$"
	mv -f "$BTFIDS_CAPTURE_DIR/.$2.tmp.$$" "$BTFIDS_CAPTURE_DIR/$2"
}

save "$elf" "$name"
printf '%s\n' "$*" >"$BTFIDS_CAPTURE_DIR/$name.args"
printf '%s\t%s\t%s\n' "$name" "$(pwd)" "$*" >>"$BTFIDS_CAPTURE_DIR/args"
if [ -n "$base" ] && [ ! -e "$BTFIDS_CAPTURE_DIR/vmlinux" ] && [ ! -e "$BTFIDS_CAPTURE_DIR/base.vmlinux" ]; then
	save "$base" base.vmlinux
fi

exec "$BTFIDS_REAL" "$@"
