/* An out-of-tree program recording with an installed ringprof.h: four
 * events of three kinds, for tests/install/check.sh to read back.  Exits 1
 * saying why when recording is off (no daemon, a refusal). */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <stdio.h>

int main(void)
{
	uint32_t query, hit, size, typeck;

	if (!rp_is_enabled()) {
		fprintf(stderr, "client: not recording: %s\n", rp_status_reason());
		return 1;
	}
	query = rp_kind("Query");
	hit = rp_kind("QueryCacheHit");
	size = rp_kind("ArtifactSize");
	typeck = rp_intern("typeck(main)");
	rp_interval_begin(query, typeck);
	rp_instant(hit, rp_intern("type_of(main)"));
	rp_interval_end(query, typeck);
	rp_integer(size, rp_intern("main.o"), 4096);
	return 0;
}
