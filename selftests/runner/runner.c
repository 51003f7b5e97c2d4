// SPDX-License-Identifier: GPL-2.0
/*
 * Selftest runner for the per-argument kfunc flags prototype.
 *
 * Built static against Debian's libbpf 1.1.2 and run inside the test VM:
 *
 *   runner --variant args|legacy [--module NAME] [--stats OBJ] [--only A,B]
 *          [--show-log N] [-v] OBJ...
 *
 * For every program of every OBJ it reads the test annotations (BTF decl tags
 * written by selftests/include/bpf_misc.h) on the program's function, loads the
 * program alone with a verifier log buffer, compares the verdict (accepted or
 * rejected by the verifier) and the expected log messages with the
 * expectations of VARIANT, runs accepted programs with BPF_PROG_TEST_RUN when
 * they declare a return value, and checks that the module's live reference
 * count (returned by the first program of the --stats object) is the same
 * before and after each run.
 *
 * With --module it first checks that the module's BTF (/sys/kernel/btf/NAME)
 * has a FUNC for every kfunc the objects declare as __ksym.
 *
 * One line per test:
 *   TEST <PASS|FAIL|SKIP> <name> verdict=<v> expect=<v> other=<v> flag=<f> [detail]
 * where other is the verdict the other variant expects (a change between the
 * variants is what the per-argument flags make), then
 *   SUMMARY: N passed, N failed, N skipped
 * Exit status 0 iff nothing failed.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAX_MSGS 16
#define LOG_SIZE (4u << 20)
#define LIBBPF_LOG_SIZE (64u << 10)

enum verdict { V_NONE = -1, V_REJECTED = 0, V_ACCEPTED = 1, V_ERROR = 2 };

static const char *verdict_name(int v)
{
	switch (v) {
	case V_REJECTED: return "rejected";
	case V_ACCEPTED: return "accepted";
	case V_ERROR: return "error";
	default: return "-";
	}
}

/* Expectations of one variant. */
struct expect {
	int verdict;		/* V_NONE when not given */
	const char *msgs[MAX_MSGS];
	int nr_msgs;
	int has_retval;
	long long retval;
};

struct spec {
	const char *name;
	const char *description;
	const char *flag;
	int unsafe_legacy;
	struct expect generic, variant[2]; /* 0 = args, 1 = legacy */
};

static const char *variants[2] = { "args", "legacy" };
static int variant;		/* index into variants */
static char *log_buf;
static char libbpf_log[LIBBPF_LOG_SIZE];
static size_t libbpf_log_len;
static int verbose;
static const char *only;	/* comma-separated test names, or NULL for all */
static int show_log;		/* verifier log lines to print after each test */
static int passed, failed, skipped;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (libbpf_log_len < sizeof(libbpf_log) - 1) {
		int n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len,
				  fmt, ap);
		if (n > 0)
			libbpf_log_len += (size_t)n;
		if (libbpf_log_len > sizeof(libbpf_log) - 1)
			libbpf_log_len = sizeof(libbpf_log) - 1;
	}
	return 0;
}

static int parse_retval(const char *s, long long *out)
{
	char *end;

	if (!strcmp(s, "INT_MIN")) {
		*out = INT_MIN;
		return 0;
	}
	errno = 0;
	*out = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		return -1;
	return 0;
}

/* Apply one "comment:..." tag to spec; returns -1 on an unknown or malformed tag. */
static int apply_tag(struct spec *sp, const char *tag)
{
	static const char pfx[] = "comment:test_";
	const char *t, *val;
	struct expect *e = &sp->generic;
	char key[64];
	size_t klen;
	int i;

	if (strncmp(tag, pfx, sizeof(pfx) - 1))
		return 0; /* not ours (e.g. other decl tags) */
	t = tag + sizeof(pfx) - 1;
	val = strchr(t, '=');
	klen = val ? (size_t)(val - t) : strlen(t);
	if (klen >= sizeof(key))
		return -1;
	memcpy(key, t, klen);
	key[klen] = 0;
	if (val)
		val++;
	for (i = 0; i < 2; i++) {
		size_t vl = strlen(variants[i]);

		if (klen > vl + 1 && key[klen - vl - 1] == '_' && !strcmp(key + klen - vl, variants[i])) {
			key[klen - vl - 1] = 0;
			e = &sp->variant[i];
			break;
		}
	}
	if (!strcmp(key, "expect_success") && !val) {
		e->verdict = V_ACCEPTED;
	} else if (!strcmp(key, "expect_failure") && !val) {
		e->verdict = V_REJECTED;
	} else if (!strcmp(key, "expect_msg") && val) {
		/* "<counter>=<text>": the counter only keeps tags distinct */
		const char *m = strchr(val, '=');

		if (!m || e->nr_msgs == MAX_MSGS)
			return -1;
		e->msgs[e->nr_msgs++] = m + 1;
	} else if (!strcmp(key, "retval") && val) {
		if (parse_retval(val, &e->retval))
			return -1;
		e->has_retval = 1;
	} else if (!strcmp(key, "flag") && val && e == &sp->generic) {
		sp->flag = val;
	} else if (!strcmp(key, "description") && val && e == &sp->generic) {
		sp->description = val;
	} else if (!strcmp(key, "unsafe") && !val && e == &sp->variant[1]) {
		sp->unsafe_legacy = 1;
	} else {
		return -1;
	}
	return 0;
}

/* The expectations of variant v: variant-specific fields replace generic ones. */
static struct expect resolve(const struct spec *sp, int v)
{
	const struct expect *g = &sp->generic, *s = &sp->variant[v];
	struct expect e = *g;

	e.verdict = s->verdict != V_NONE ? s->verdict : g->verdict;
	if (e.verdict == V_NONE)
		e.verdict = V_ACCEPTED;
	if (s->nr_msgs) {
		memcpy(e.msgs, s->msgs, sizeof(e.msgs));
		e.nr_msgs = s->nr_msgs;
	}
	if (s->has_retval) {
		e.has_retval = 1;
		e.retval = s->retval;
	}
	/* A rejection expected in this variant has no messages or retval of the other kind. */
	if (e.verdict == V_REJECTED)
		e.has_retval = 0;
	return e;
}

static int parse_spec(const struct btf *btf, const char *func, struct spec *sp, char *err,
		      size_t errlen)
{
	__u32 i, n = btf__type_cnt(btf);
	int func_id;

	memset(sp, 0, sizeof(*sp));
	sp->name = func;
	sp->generic.verdict = sp->variant[0].verdict = sp->variant[1].verdict = V_NONE;
	func_id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	if (func_id < 0) {
		snprintf(err, errlen, "no BTF FUNC for program %s", func);
		return -1;
	}
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const char *tag;

		if (!btf_is_decl_tag(t) || t->type != (__u32)func_id ||
		    btf_decl_tag(t)->component_idx != -1)
			continue;
		tag = btf__name_by_offset(btf, t->name_off);
		if (apply_tag(sp, tag)) {
			snprintf(err, errlen, "program %s: bad annotation \"%s\"", func, tag);
			return -1;
		}
	}
	return 0;
}

static void report(const char *res, const struct spec *sp, int got, int exp, int other,
		   const char *fmt, ...)
{
	va_list ap;

	printf("TEST %s %s verdict=%s expect=%s other=%s flag=%s", res, sp->name,
	       verdict_name(got), verdict_name(exp), verdict_name(other),
	       sp->flag ? sp->flag : "-");
	if (fmt && *fmt) {
		printf(" ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!strcmp(res, "PASS"))
		passed++;
	else if (!strcmp(res, "FAIL"))
		failed++;
	else
		skipped++;
	fflush(stdout);
}

/* Print the tail of the verifier log (and libbpf's messages) after a failure. */
static void dump_logs(void)
{
	size_t len = strlen(log_buf);
	const char *p = len > 3000 ? log_buf + len - 3000 : log_buf;

	if (len)
		printf("  | verifier log (last %zu bytes):\n", strlen(p));
	while (*p) {
		const char *nl = strchr(p, '\n');
		int l = nl ? (int)(nl - p) : (int)strlen(p);

		printf("  | %.*s\n", l, p);
		p += l + (nl ? 1 : 0);
	}
	if (libbpf_log_len) {
		printf("  | libbpf:\n");
		p = libbpf_log;
		while (*p) {
			const char *nl = strchr(p, '\n');
			int l = nl ? (int)(nl - p) : (int)strlen(p);

			printf("  | %.*s\n", l, p);
			p += l + (nl ? 1 : 0);
		}
	}
}

/* Print the last n meaningful lines of the verifier log (the verdict's reason). */
static void print_log_tail(int n)
{
	const char *lines[64];
	int cnt = 0, i;
	char *p = log_buf;

	while (*p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = 0;
		if (*p && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11) && !strstr(p, "END PROG LOAD LOG")) {
			if (cnt == 64) {
				memmove(lines, lines + 1, sizeof(lines[0]) * 63);
				cnt--;
			}
			lines[cnt++] = p;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	for (i = cnt > n ? cnt - n : 0; i < cnt; i++)
		printf("  | %s\n", lines[i]);
}

static int selected(const char *name)
{
	size_t l = strlen(name);
	const char *p = only;

	if (!only)
		return 1;
	while ((p = strstr(p, name))) {
		if ((p == only || p[-1] == ',') && (p[l] == 0 || p[l] == ','))
			return 1;
		p += l;
	}
	return 0;
}

struct stats_prog {
	struct bpf_object *obj;
	int fd;
};

/* Returns the module's live reference count, or -1 (with a message) on error. */
static long long read_live(struct stats_prog *st)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	if (!st->obj)
		return -1;
	err = bpf_prog_test_run_opts(st->fd, &opts);
	if (err) {
		printf("runner: stats program run failed: %s\n", strerror(-err));
		return -1;
	}
	return opts.retval;
}

static int open_stats(const char *path, struct stats_prog *st)
{
	struct bpf_program *p;

	st->obj = bpf_object__open_file(path, NULL);
	if (!st->obj) {
		printf("runner: cannot open stats object %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (bpf_object__load(st->obj)) {
		printf("runner: cannot load stats object %s\n", path);
		return -1;
	}
	p = bpf_object__next_program(st->obj, NULL);
	if (!p) {
		printf("runner: stats object %s has no program\n", path);
		return -1;
	}
	st->fd = bpf_program__fd(p);
	return 0;
}

/* Check that the verifier log holds every expected message, in order. */
static const char *missing_msg(const struct expect *e)
{
	const char *pos = log_buf;
	int i;

	for (i = 0; i < e->nr_msgs; i++) {
		const char *m = strstr(pos, e->msgs[i]);

		if (!m)
			return e->msgs[i];
		pos = m + strlen(e->msgs[i]);
	}
	return NULL;
}

static void run_one(const char *path, const char *prog_name, const struct spec *sp,
		    struct stats_prog *st)
{
	struct expect e = resolve(sp, variant), o = resolve(sp, !variant);
	struct bpf_object *obj;
	struct bpf_program *p, *target = NULL;
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	unsigned char pkt[64] = { 0 };
	int got, err;
	long long before, after;
	const char *miss;

	libbpf_log_len = 0;
	libbpf_log[0] = 0;
	log_buf[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		report("FAIL", sp, V_ERROR, e.verdict, o.verdict, "cannot open %s", path);
		return;
	}
	bpf_object__for_each_program(p, obj) {
		if (!strcmp(bpf_program__name(p), prog_name))
			target = p;
		else
			bpf_program__set_autoload(p, false);
	}
	if (!target) {
		report("FAIL", sp, V_ERROR, e.verdict, o.verdict, "program vanished");
		bpf_object__close(obj);
		return;
	}
	bpf_program__set_log_buf(target, log_buf, LOG_SIZE);
	/* Level 2 so that messages expected from an accepted program are in the log. */
	bpf_program__set_log_level(target, e.verdict == V_ACCEPTED && e.nr_msgs ? 2 : 1);
	err = bpf_object__load(obj);
	if (!err)
		got = V_ACCEPTED;
	else if (log_buf[0])
		got = V_REJECTED; /* the verifier ran and said no */
	else
		got = V_ERROR; /* refused before the verifier (libbpf, BTF, extern resolution) */

	if (got != e.verdict) {
		report("FAIL", sp, got, e.verdict, o.verdict, "verdict differs (load: %s)",
		       err ? strerror(-err) : "ok");
		dump_logs();
		goto out;
	}
	miss = missing_msg(&e);
	if (miss) {
		report("FAIL", sp, got, e.verdict, o.verdict, "expected message not in log: \"%s\"",
		       miss);
		dump_logs();
		goto out;
	}
	if (got == V_ACCEPTED && variant == 1 && sp->unsafe_legacy) {
		report("PASS", sp, got, e.verdict, o.verdict, "(not run: unsafe without per-arg flags)");
		goto out;
	}
	if (got != V_ACCEPTED || !e.has_retval) {
		report("PASS", sp, got, e.verdict, o.verdict, "%s%s",
		       got == V_REJECTED && e.nr_msgs ? "msg: " : "",
		       got == V_REJECTED && e.nr_msgs ? e.msgs[e.nr_msgs - 1] : "");
		goto out;
	}
	before = read_live(st);
	if (bpf_program__type(target) != BPF_PROG_TYPE_SYSCALL) {
		topts.data_in = pkt;
		topts.data_size_in = sizeof(pkt);
		topts.repeat = 1;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(target), &topts);
	after = read_live(st);
	if (err) {
		report("FAIL", sp, got, e.verdict, o.verdict, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		goto out;
	}
	if ((long long)(int)topts.retval != e.retval) {
		report("FAIL", sp, got, e.verdict, o.verdict, "retval=%d, expected %lld",
		       (int)topts.retval, e.retval);
		goto out;
	}
	if (st->obj && (before < 0 || after < 0 || before != after)) {
		report("FAIL", sp, got, e.verdict, o.verdict,
		       "retval=%d but live refs %lld before, %lld after the run", (int)topts.retval,
		       before, after);
		goto out;
	}
	if (st->obj)
		report("PASS", sp, got, e.verdict, o.verdict, "retval=%d live_refs=%lld->%lld",
		       (int)topts.retval, before, after);
	else
		report("PASS", sp, got, e.verdict, o.verdict,
		       "retval=%d (refcount check skipped: no --stats object)", (int)topts.retval);
out:
	if (show_log)
		print_log_tail(show_log);
	bpf_object__close(obj);
}

static void run_object(const char *path, struct stats_prog *st)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	const struct btf *btf;
	char err[256];
	struct spec *specs = NULL;
	char **names = NULL;
	int n = 0, i;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("TEST FAIL %s verdict=error expect=- other=- flag=- cannot open: %s\n", path,
		       strerror(errno));
		failed++;
		return;
	}
	btf = bpf_object__btf(obj);
	bpf_object__for_each_program(p, obj) {
		if (!selected(bpf_program__name(p)))
			continue;
		specs = realloc(specs, sizeof(*specs) * (n + 1));
		names = realloc(names, sizeof(*names) * (n + 1));
		names[n] = strdup(bpf_program__name(p));
		if (!btf || parse_spec(btf, names[n], &specs[n], err, sizeof(err))) {
			printf("TEST FAIL %s verdict=error expect=- other=- flag=- %s: %s\n", names[n],
			       path, btf ? err : "object has no BTF");
			failed++;
			free(names[n]);
			continue;
		}
		/* Strings of the tags live in the BTF of obj: copy before closing it. */
		specs[n].name = names[n];
		n++;
	}
	/* Keep obj (and its BTF strings) open while the tests run. */
	for (i = 0; i < n; i++) {
		run_one(path, names[i], &specs[i], st);
		free(names[i]);
	}
	bpf_object__close(obj);
	free(specs);
	free(names);
}

/* Every __ksym FUNC the objects declare must be a FUNC in the module's BTF. */
static void check_module_btf(const char *module, int nobj, char **objs)
{
	struct btf *vmlinux, *mod;
	int funcs = 0, missing = 0, checked = 0, in_vmlinux = 0, i;
	__u32 id, n;
	char path[256];
	struct spec sp = { .name = "module_btf_has_kfuncs", .flag = "-" };

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		report("FAIL", &sp, V_ERROR, V_NONE, V_NONE, "cannot load vmlinux BTF: %s",
		       strerror(errno));
		return;
	}
	mod = btf__load_module_btf(module, vmlinux);
	if (!mod) {
		report("FAIL", &sp, V_ERROR, V_NONE, V_NONE, "cannot load %s: %s", path,
		       strerror(errno));
		btf__free(vmlinux);
		return;
	}
	n = btf__type_cnt(mod);
	for (id = btf__type_cnt(vmlinux); id < n; id++)
		if (btf_is_func(btf__type_by_id(mod, id)))
			funcs++;
	for (i = 0; i < nobj; i++) {
		struct btf *ob = btf__parse(objs[i], NULL);
		__u32 j, m;

		if (!ob) {
			printf("runner: cannot read BTF of %s\n", objs[i]);
			missing++;
			continue;
		}
		m = btf__type_cnt(ob);
		for (j = 1; j < m; j++) {
			const struct btf_type *t = btf__type_by_id(ob, j);
			const char *name;

			/* a FUNC's vlen holds its linkage */
			if (!btf_is_func(t) || btf_vlen(t) != BTF_FUNC_EXTERN)
				continue;
			name = btf__name_by_offset(ob, t->name_off);
			checked++;
			/* a vmlinux kfunc (bpf_rcu_read_lock, ...) is found in the base */
			if (btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0) {
				in_vmlinux++;
				continue;
			}
			if (btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) <
			    (int)btf__type_cnt(vmlinux)) {
				printf("runner: kfunc %s (declared in %s) has no FUNC in %s\n", name,
				       objs[i], path);
				missing++;
			}
		}
		btf__free(ob);
	}
	if (missing || !funcs)
		report("FAIL", &sp, V_ERROR, V_NONE, V_NONE, "%s: %d FUNCs, %d extern uses missing",
		       path, funcs, missing);
	else
		report("PASS", &sp, V_NONE, V_NONE, V_NONE,
		       "%s: %d FUNCs, %d extern uses found (%d of them vmlinux kfuncs)",
		       path, funcs, checked, in_vmlinux);
	btf__free(mod);
	btf__free(vmlinux);
}

static void usage(void)
{
	fprintf(stderr, "usage: runner --variant args|legacy [--module NAME] [--stats OBJ] "
			"[--only A,B] [--show-log N] [-v] OBJ...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *module = NULL, *stats = NULL, *vname = NULL;
	struct stats_prog st = { 0 };
	long long live_start = -1, live_end = -1;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--variant") && i + 1 < argc)
			vname = argv[++i];
		else if (!strcmp(argv[i], "--module") && i + 1 < argc)
			module = argv[++i];
		else if (!strcmp(argv[i], "--stats") && i + 1 < argc)
			stats = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--show-log") && i + 1 < argc)
			show_log = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else
			usage();
	}
	if (!vname || i == argc)
		usage();
	if (!strcmp(vname, "args"))
		variant = 0;
	else if (!strcmp(vname, "legacy"))
		variant = 1;
	else
		usage();
	log_buf = malloc(LOG_SIZE);
	if (!log_buf)
		return 1;
	libbpf_set_print(libbpf_print);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("runner: variant %s, %d object(s)\n", vname, argc - i);
	if (module)
		check_module_btf(module, argc - i, argv + i);
	if (stats) {
		if (open_stats(stats, &st)) {
			printf("%s", libbpf_log);
			failed++;
			st.obj = NULL;
		} else {
			live_start = read_live(&st);
			printf("runner: live references at start: %lld\n", live_start);
		}
	}
	for (; i < argc; i++)
		run_object(argv[i], &st);
	if (st.obj) {
		live_end = read_live(&st);
		printf("runner: live references at end: %lld\n", live_end);
		if (live_end != live_start) {
			printf("runner: FAIL: live references changed over the whole run\n");
			failed++;
		}
		bpf_object__close(st.obj);
	}
	printf("SUMMARY: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
