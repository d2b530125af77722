/*
 * deploy.h - what the deployment suites (test_conf, test_retain,
 * test_activation) add to the harness (tests/harness.h): a client run to
 * completion and the events recorded, counted with libringprof.
 */
#ifndef RINGPROF_TEST_DEPLOY_H
#define RINGPROF_TEST_DEPLOY_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <ringprof/reader.h>

#include "../harness.h"

/* One client, one thread, events events, to completion. */
static inline void deploy_client_run(const char *sock, const char *session, const char *events)
{
	const char *args[] = { "--threads", "1", "--events", events, NULL };

	client_wait_code(client_spawn(sock, session, args, NULL, NULL), 0);
}

/* Events of kind "E2E" in the segments under path (every segment sealed). */
static inline uint64_t deploy_count_events(const char *path)
{
	const char *paths[] = { path };
	struct rp_reader *r;
	struct rp_item it;
	char err[512];
	uint64_t n = 0;
	int ret;

	r = rp_reader_open(paths, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1)
		if (it.kind == RP_ITEM_EVENT && it.event.kind != NULL &&
		    strcmp(it.event.kind, "E2E") == 0)
			n++;
	cr_assert_eq(ret, 0, "reading %s: %s", path, rp_reader_error(r));
	rp_reader_close(r);
	return n;
}

#endif /* RINGPROF_TEST_DEPLOY_H */
