// SPDX-License-Identifier: GPL-2.0
/*
 * Load each named program of a BPF object on its own (all others not autoloaded), run
 * the loaded ones once with BPF_PROG_TEST_RUN, and print one line per program:
 *   RESULT <name> loaded <retval>
 *   RESULT <name> refused <errno> <last line of the verifier log>
 * followed by the whole verifier log of refused programs between LOG-BEGIN/LOG-END.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static char log_buf[1 << 20];

static const char *last_line(const char *log)
{
	static char line[512];
	const char *end = log + strlen(log);
	const char *start;

	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	/* skip the trailing "processed N insns ..." statistics lines */
	for (;;) {
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
		if (start > log && (!strncmp(start, "processed ", 10) ||
				    !strncmp(start, "verification time", 17) ||
				    !strncmp(start, "stack depth", 11))) {
			end = start - 1;
			continue;
		}
		break;
	}
	snprintf(line, sizeof(line), "%.*s", (int)(end - start), start);
	return line;
}

static int run_one(const char *path, const char *name)
{
	struct bpf_object *obj;
	struct bpf_program *prog, *p;
	int err, fd;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("RESULT %s error open %s\n", name, path);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog) {
		printf("RESULT %s error no-such-program\n", name);
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, p == prog);
	log_buf[0] = 0;
	bpf_program__set_log_buf(prog, log_buf, sizeof(log_buf));
	bpf_program__set_log_level(prog, 1);
	err = bpf_object__load(obj);
	if (err) {
		printf("RESULT %s refused %d %s\n", name, -err, last_line(log_buf));
		printf("LOG-BEGIN %s\n%sLOG-END %s\n", name, log_buf, name);
	} else {
		LIBBPF_OPTS(bpf_test_run_opts, opts);

		fd = bpf_program__fd(prog);
		err = bpf_prog_test_run_opts(fd, &opts);
		if (err)
			printf("RESULT %s error test-run %d\n", name, err);
		else
			printf("RESULT %s loaded %d\n", name, (int)opts.retval);
	}
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJ PROG...\n", argv[0]);
		return 2;
	}
	libbpf_set_print(NULL);
	for (i = 2; i < argc; i++)
		bad |= run_one(argv[1], argv[i]);
	return bad;
}
