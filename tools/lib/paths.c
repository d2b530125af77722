/*
 * paths.c - expanding the reader's input paths into segment files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bsd/stdlib.h>

#include <ringprof/seg.h>

#include "reader_int.h"

static int paths_push(struct paths *p, const char *path)
{
	char *copy;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **v = reallocarray(p->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	p->v[p->n++] = copy;
	return 0;
}

static bool paths_is_segment_name(const char *name)
{
	size_t n = strlen(name), s = strlen(RP_SEG_SUFFIX);

	return n > s && strcmp(name + n - s, RP_SEG_SUFFIX) == 0;
}

/* Byte order, independent of the locale. */
static int paths_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int paths_walk(struct paths *p, const char *dir, char *err, size_t errlen)
{
	struct dirent **ents;
	int n, ret = 0;

	n = scandir(dir, &ents, NULL, paths_cmp);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ret;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct stat st;
		char *full;

		if (ret < 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (asprintf(&full, "%s/%s", dir, name) < 0) {
			ret = -ENOMEM;
			snprintf(err, errlen, "%s: out of memory", dir);
			continue;
		}
		/* Directories are entered only when real (no symlink loops);
		 * files may be symlinks. */
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
			ret = paths_walk(p, full, err, errlen);
		else if (paths_is_segment_name(name) && stat(full, &st) == 0 &&
			 S_ISREG(st.st_mode) && (ret = paths_push(p, full)) < 0)
			snprintf(err, errlen, "%s: out of memory", full);
		free(full);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return ret;
}

int paths_expand(struct paths *p, const char *const *paths, size_t n,
		 char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int ret;

		if (stat(paths[i], &st) < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			return ret;
		}
		if (S_ISDIR(st.st_mode)) {
			ret = paths_walk(p, paths[i], err, errlen);
		} else {
			ret = paths_push(p, paths[i]);
			if (ret < 0)
				snprintf(err, errlen, "%s: out of memory", paths[i]);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

void paths_free(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
