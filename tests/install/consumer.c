/* An out-of-tree tool built against an installed libringprof: prints every
 * event under the paths given (type, kind, argument, value of an integer),
 * then how many.  tests/install/check.sh builds it with pkg-config and with
 * find_package (shared and static) and compares the output. */
#include <ringprof/reader.h>
#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[256];
	struct rp_reader *r = rp_reader_open((const char *const *)argv + 1, (size_t)argc - 1, 0,
					     err, sizeof(err));
	struct rp_item it;
	unsigned long n = 0;
	int ret;

	if (!r) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	while ((ret = rp_reader_next(r, &it)) == 1) {
		if (it.kind != RP_ITEM_EVENT)
			continue;
		n++;
		printf("%s %.*s", rp_reader_type_name(it.event.type), (int)it.event.kind_len,
		       it.event.kind);
		if (it.event.arg)
			printf(" %.*s", (int)it.event.arg_len, it.event.arg);
		if (it.event.type == RP_REC_INTEGER)
			printf(" %" PRIu64, it.event.value);
		printf("\n");
	}
	if (ret < 0) {
		fprintf(stderr, "%s\n", rp_reader_error(r));
		rp_reader_close(r);
		return 1;
	}
	printf("%lu events\n", n);
	rp_reader_close(r);
	return 0;
}
