/*
 * fuzz_reader.c - libFuzzer target: the input bytes as one segment file,
 * read to the end by libringprof strictly, with RP_READER_ALLOW_UNSEALED and
 * with RP_READER_RECOVER.  Every byte of every item is touched so the
 * sanitizers see any read out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ringprof/reader.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;  /* keeps the touching of bytes */

static void fuzz_touch(const char *p, size_t len)
{
	uint64_t h = 0;

	for (size_t i = 0; p && i < len; i++)
		h = h * 31 + (unsigned char)p[i];
	fuzz_sink += h;
}

static void fuzz_read(const char *path, unsigned flags)
{
	const char *paths[] = { path };
	struct rp_reader *r;
	struct rp_item it;
	char err[256];
	int ret;

	r = rp_reader_open(paths, 1, flags, err, sizeof(err));
	if (!r)
		abort();  /* the file exists: only memory could fail */
	while ((ret = rp_reader_next(r, &it)) == 1) {
		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			fuzz_touch(it.segment.cmdline, it.segment.info.cmdline_len);
			break;
		case RP_ITEM_STRING:
			fuzz_touch(it.string.bytes, it.string.len + 1);  /* and its NUL */
			break;
		case RP_ITEM_EVENT:
			fuzz_touch(it.event.kind, it.event.kind_len + 1);
			if (it.event.arg)
				fuzz_touch(it.event.arg, it.event.arg_len + 1);
			fuzz_touch(rp_reader_type_name(it.event.type), 1);
			break;
		case RP_ITEM_TRUNCATED:
			fuzz_touch(it.truncated.message, strlen(it.truncated.message));
			break;
		default:
			fuzz_touch((const char *)&it, sizeof(it));
			break;
		}
	}
	if (ret < 0) {
		const char *msg = rp_reader_error(r);

		if (ret != -EBADMSG || (flags & RP_READER_RECOVER) || !msg[0])
			abort();  /* a bad file is the only failure here */
		fuzz_touch(msg, strlen(msg));
	}
	if (rp_reader_next(r, &it) != ret)
		abort();  /* the end and errors repeat */
	rp_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flags[] = {
		0, RP_READER_ALLOW_UNSEALED, RP_READER_RECOVER,
		RP_READER_RECOVER | RP_READER_ALLOW_UNSEALED,
	};
	char path[64];
	int fd = memfd_create("fuzz.rpseg", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		fuzz_read(path, flags[i]);
	close(fd);
	return 0;
}
