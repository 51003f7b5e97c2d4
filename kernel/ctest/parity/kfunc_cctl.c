// SPDX-License-Identifier: GPL-2.0
/* Control for the parity test: kfunc_cargs.c with plain names and no per-argument flags. */
#define PARITY_CONTROL
#define PARITY_MODULE	"kfunc_cctl"
#include "kfunc_cargs.c"
