/*
 * access.c - who may register: --allow-users and --allow-groups.
 *
 * The lists are parsed once at start-up into numeric ids (names resolved
 * with getpwnam_r/getgrnam_r; an unknown name stops the daemon).  A peer is
 * allowed when no list is set, when its uid is in allow-users, or when its
 * primary gid or one of its supplementary groups (the Groups: line of
 * /proc/<pid>/status) is in allow-groups.  Peer credentials come from
 * SO_PEERCRED, never from the hello.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "ringprofd.h"

/* Entries of one list; more is a configuration error. */
#define ACCESS_LIST_MAX 256u
/* Supplementary groups read from /proc: NGROUPS_MAX of Linux. */
#define ACCESS_GROUPS_MAX 65536u

struct access_list {
	bool set;              /* the option was given */
	uint32_t n;
	uint32_t ids[ACCESS_LIST_MAX];
};

static struct access_list access_users, access_groups;

/* Resolve one name or decimal id; 0 or -ENOENT. */
static int access_resolve(const char *item, bool group, uint32_t *id)
{
	char buf[4096], *end;
	unsigned long v;
	int ret;

	errno = 0;
	v = strtoul(item, &end, 10);
	if (errno == 0 && end != item && *end == '\0' && v <= UINT32_MAX - 1) {
		*id = (uint32_t)v;
		return 0;
	}
	if (group) {
		struct group gr, *res = NULL;

		ret = getgrnam_r(item, &gr, buf, sizeof(buf), &res);
		if (ret != 0 || res == NULL)
			return -ENOENT;
		*id = (uint32_t)gr.gr_gid;
	} else {
		struct passwd pw, *res = NULL;

		ret = getpwnam_r(item, &pw, buf, sizeof(buf), &res);
		if (ret != 0 || res == NULL)
			return -ENOENT;
		*id = (uint32_t)pw.pw_uid;
	}
	return 0;
}

/* Parse "a,b,1000" into l; 0, or -EINVAL with the offending item logged. */
static int access_parse(struct access_list *l, const char *spec, bool group)
{
	const char *opt = group ? "allow-groups" : "allow-users";
	char *copy, *save = NULL;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	if (spec == NULL)
		return 0;
	l->set = true;
	copy = strdup(spec);
	if (copy == NULL)
		return -ENOMEM;
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (*item == '\0')
			continue;
		if (l->n == ACCESS_LIST_MAX) {
			log_error("--%s: more than %u entries", opt, ACCESS_LIST_MAX);
			ret = -EINVAL;
			goto err_copy;
		}
		if (access_resolve(item, group, &l->ids[l->n]) < 0) {
			log_error("--%s: unknown %s '%s'", opt, group ? "group" : "user", item);
			ret = -EINVAL;
			goto err_copy;
		}
		l->n++;
	}
err_copy:
	free(copy);
	return ret;
}

int access_init(void)
{
	int ret;

	if ((ret = access_parse(&access_users, rpd.conf.allow_users, false)) < 0)
		return ret;
	return access_parse(&access_groups, rpd.conf.allow_groups, true);
}

static bool access_has(const struct access_list *l, uint32_t id)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/* Supplementary groups of pid from /proc/<pid>/status; count or -errno. */
static int access_peer_groups(pid_t pid, uint32_t *gids, uint32_t max)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int n = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	/* getline: the line of a peer in 65536 groups is ~460 KiB */
	while (getline(&line, &cap, f) > 0) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		n = 0;
		for (;;) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p || (uint32_t)n == max)
				break;
			gids[n++] = (uint32_t)v;
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	return n;
}

/* "uid 1000 (alice)" or "uid 1000" when the name is unknown. */
static void access_who(char *dst, size_t size, uid_t uid)
{
	char buf[4096];
	struct passwd pw, *res = NULL;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(dst, size, "uid %u (%.24s)", (unsigned)uid, pw.pw_name);
	else
		snprintf(dst, size, "uid %u", (unsigned)uid);
}

int access_check(const struct ucred *peer, char reason[RP_REASON_MAX])
{
	uint32_t *gids;
	char who[48];
	int n;

	if (!access_users.set && !access_groups.set)
		return 0;
	if (access_users.set && access_has(&access_users, (uint32_t)peer->uid))
		return 0;
	if (access_groups.set) {
		if (access_has(&access_groups, (uint32_t)peer->gid))
			return 0;
		gids = calloc(ACCESS_GROUPS_MAX, sizeof(*gids));
		if (gids == NULL) {
			snprintf(reason, RP_REASON_MAX, "out of memory checking the groups of pid %d",
				 (int)peer->pid);
			return -EACCES;
		}
		n = access_peer_groups(peer->pid, gids, ACCESS_GROUPS_MAX);
		for (int i = 0; i < n; i++) {
			if (access_has(&access_groups, gids[i])) {
				free(gids);
				return 0;
			}
		}
		free(gids);
	}
	access_who(who, sizeof(who), peer->uid);
	if (access_users.set && access_groups.set)
		snprintf(reason, RP_REASON_MAX,
			 "%s is not in allow-users and none of its groups is in allow-groups", who);
	else if (access_users.set)
		snprintf(reason, RP_REASON_MAX, "%s is not in allow-users", who);
	else
		snprintf(reason, RP_REASON_MAX, "%s: none of its groups is in allow-groups", who);
	return -EACCES;
}
