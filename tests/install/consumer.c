/* An out-of-tree tool built against an installed libringprof: counts the
 * events under the paths given.  tests/install/check.sh builds and runs it. */
#include <ringprof/reader.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	char err[256];
	struct rp_reader *r = rp_reader_open((const char *const *)argv + 1, (size_t)argc - 1, 0, err, sizeof(err));
	struct rp_item it;
	unsigned long n = 0;
	if (!r) { fprintf(stderr, "%s\n", err); return 1; }
	while (rp_reader_next(r, &it) == 1)
		n += it.kind == RP_ITEM_EVENT;
	printf("%lu events\n", n);
	rp_reader_close(r);
	return 0;
}
