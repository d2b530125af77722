/*
 * procid.c - which process a segment belongs to.  A process is the same
 * across its segments (rotations) when host, boot id, daemon, registration
 * and pid all agree; the pid alone repeats across hosts, boots and daemons.
 */
#include <string.h>

#include "cli.h"

/* A NUL-padded field of n bytes as a string (the field may be full). */
static void procid_field(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void procid_set(struct procid *id, const struct rp_seg_info *in)
{
	memset(id, 0, sizeof(*id));
	procid_field(id->host, in->host, sizeof(in->host));
	procid_field(id->boot_id, in->boot_id, sizeof(in->boot_id));
	procid_field(id->name, in->name, sizeof(in->name));
	id->daemon_pid = in->daemon_pid;
	id->client_id = in->client_id;
	id->pid = in->pid;
}

bool procid_is(const struct procid *id, const struct rp_seg_info *in)
{
	struct procid other;

	if (id->pid != in->pid || id->client_id != in->client_id ||
	    id->daemon_pid != in->daemon_pid)
		return false;
	procid_set(&other, in);
	return strcmp(id->host, other.host) == 0 && strcmp(id->boot_id, other.boot_id) == 0;
}
