/*
 * fuzz_daemon.c - libFuzzer target: ringprofd's hello validation, region
 * geometry checks, string scan and ring/record parsing, on random input.
 *
 * The daemon's own sources (client.c, ring.c, strtab.c, seg.c, ...) are
 * linked in unchanged; only loop.c (io_uring) is replaced by a queue that
 * this harness completes by hand.  Each input is one connection on a
 * socketpair: the hello arrives in pieces, the region is a real sealed
 * memfd attached as SCM_RIGHTS, then the rings are drained a few times
 * and the client goes away.  Segment writes are completed as if written.
 *
 * Input: byte 0 = mode (bit 0: make the hello consistent with the region,
 * bit 1: give the region a valid geometry, bits 2-3: descriptors attached,
 * bits 4-6: drain rounds), byte 1 = hello piece size, then the hello (200
 * bytes), then the region bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "ringprofd.h"

struct rpd rpd;

/* ---- loop.c, replaced: operations wait in a queue ---- */

#define FAKE_OPS 4096

static struct {
	struct op *op;
	struct io_uring_sqe sqe;
	bool cancelled;
} fake_q[FAKE_OPS];
static size_t fake_n;
static struct io_uring_sqe fake_scratch;

struct io_uring_sqe *loop_sqe(struct op *op)
{
	if (fake_n == FAKE_OPS)
		abort();
	op->busy = true;
	memset(&fake_q[fake_n], 0, sizeof(fake_q[fake_n]));
	fake_q[fake_n].op = op;
	return &fake_q[fake_n++].sqe;
}

struct io_uring_sqe *loop_sqe_untracked(void)
{
	return &fake_scratch;
}

void loop_cancel(struct op *op)
{
	for (size_t i = 0; i < fake_n; i++)
		if (fake_q[i].op == op)
			fake_q[i].cancelled = true;
}

void ringprofd_stop(void)
{
}

/* Complete the first queued operation for which want() holds: writes as
 * written, syncs as done, cancelled ones as -ECANCELED.  False if none. */
static bool fake_complete(bool (*want)(const struct op *op, bool cancelled))
{
	for (size_t i = 0; i < fake_n; i++) {
		struct op *op = fake_q[i].op;
		bool cancelled = fake_q[i].cancelled;
		unsigned len = fake_q[i].sqe.len;

		if (!want(op, cancelled))
			continue;
		memmove(&fake_q[i], &fake_q[i + 1], (fake_n - i - 1) * sizeof(fake_q[0]));
		fake_n--;
		op->busy = false;
		switch (op->kind) {
		case OP_SEG_WRITE:
			seg_on_write(op, cancelled ? -ECANCELED : (int)len);
			break;
		case OP_SEG_SYNC:
			seg_on_sync(op, 0);
			break;
		case OP_CLIENT_RECV:
			client_on_recv(op, -ECANCELED);
			break;
		case OP_CLIENT_PIDFD:
			client_on_pidfd(op, -ECANCELED);
			break;
		case OP_CLIENT_EVFD:
			client_on_evfd(op, -ECANCELED);
			break;
		default:
			break;
		}
		return true;
	}
	return false;
}

static bool fake_is_disk_or_cancelled(const struct op *op, bool cancelled)
{
	return cancelled || op->kind == OP_SEG_WRITE || op->kind == OP_SEG_SYNC;
}

static bool fake_is_any(const struct op *op, bool cancelled)
{
	(void)op;
	(void)cancelled;
	return true;
}

/* ---- the harness ---- */

static char fuzz_dir[64];

static int fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void fuzz_cleanup(void)
{
	nftw(fuzz_dir, fuzz_rm, 8, FTW_DEPTH | FTW_PHYS);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(fuzz_dir, "/dev/shm/fuzz-ringprofd-XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL) {
		strcpy(fuzz_dir, "/tmp/fuzz-ringprofd-XXXXXX");
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
	}
	rpd.conf.state_dir = fuzz_dir;
	rpd.conf.max_clients = 64;
	rpd.conf.max_region = 1u << 20;
	rpd.conf.max_ring_bytes = 1u << 16;
	rpd.conf.max_rings = 16;
	rpd.conf.tick_ms = 1;
	rpd.conf.flush_ms = 1;
	rpd.conf.rotate_size = 4096;
	rpd.conf.zstd_level = 1;
	rpd.conf.max_string_bytes = RP_STRING_BYTES_MAX;
	rpd.conf.max_pending_bytes = 1u << 20;
	rpd.conf.session_quota = 0;
	LIST_INIT(&rpd.clients);
	LIST_INIT(&rpd.segs);
	rpd.listen_fd = -1;
	rpd.state_fd = open(fuzz_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rpd.state_fd < 0)
		abort();
	/* RINGPROF_FUZZ_LOG=debug shows what an input made the daemon do */
	log_init(getenv("RINGPROF_FUZZ_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	atexit(fuzz_cleanup);
	clock_init();
	if (access_init() < 0 || seg_init(1) < 0)
		abort();
	return 0;
}

/* A valid layout of ring_count rings of 4096 bytes and a 4096-byte string
 * area; returns the region size. */
static size_t fuzz_geometry(struct rp_shm_header *g, uint32_t ring_count)
{
	g->magic = RP_SHM_MAGIC;
	g->version = RP_SHM_VERSION;
	g->header_size = sizeof(*g);
	g->ring_count = ring_count;
	g->ring_bytes = 4096;
	g->ring_offset = sizeof(*g);
	g->ring_stride = sizeof(struct rp_ring_ctl) + 4096;
	g->string_offset = g->ring_offset + ring_count * g->ring_stride;
	g->string_bytes = 4096;
	g->clock_source = RP_CLOCK_MONOTONIC;
	g->flags &= RP_SHM_F_LOSSLESS;
	g->region_size = g->string_offset + g->string_bytes;
	return g->region_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_shm_header geo;
	struct rp_hello hello;
	struct client *c;
	uint8_t *region;
	size_t region_size, off, piece;
	int sv[2], memfd, nfds, rounds;
	uint8_t mode;
	bool fds_sent = false;

	if (size < 2)
		return 0;
	mode = data[0];
	piece = data[1] ? data[1] : 1;
	nfds = (mode >> 2) & 3;
	rounds = (mode >> 4) & 7;
	data += 2;
	size -= 2;
	memset(&hello, 0, sizeof(hello));
	memcpy(&hello, data, size < sizeof(hello) ? size : sizeof(hello));
	off = size < sizeof(hello) ? size : sizeof(hello);

	/* the region: the rest of the input over a zeroed area */
	memset(&geo, 0, sizeof(geo));
	memcpy(&geo, data + off, size - off < sizeof(geo) ? size - off : sizeof(geo));
	region_size = size - off;
	if (mode & 2)
		region_size = fuzz_geometry(&geo, 1 + geo.ring_count % 4);
	if (region_size < sizeof(geo))
		region_size = sizeof(geo);
	if (region_size > (1u << 20))
		region_size = 1u << 20;
	memfd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, (off_t)region_size) < 0)
		abort();
	region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (region == MAP_FAILED)
		abort();
	if (size - off > 0)
		memcpy(region, data + off, size - off < region_size ? size - off : region_size);
	if (mode & 2)
		memcpy(region, &geo, sizeof(geo));
	fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	if (mode & 1) {
		hello.magic = RP_HELLO_MAGIC;
		hello.version = RP_WIRE_VERSION;
		hello.size = sizeof(hello);
		hello.pid = (uint32_t)getpid();
		hello.region_size = region_size;
		hello.ring_count = geo.ring_count;
		hello.ring_bytes = geo.ring_bytes;
		hello.string_bytes = geo.string_bytes;
		hello.clock_source = geo.clock_source;
		hello.flags &= RP_HELLO_F_LOSSLESS;
		hello.flags |= (geo.flags & RP_SHM_F_LOSSLESS) ? RP_HELLO_F_LOSSLESS : 0;
		hello.name[sizeof(hello.name) - 1] = '\0';
		hello.session[sizeof(hello.session) - 1] = '\0';
		hello.cmdline_len %= 64;
	}

	/* status requests are another protocol, not parsed here */
	if (hello.magic == RP_STATUS_MAGIC)
		hello.magic = RP_HELLO_MAGIC;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	client_open(sv[0]);
	c = LIST_FIRST(&rpd.clients);
	/* the hello (and its command line, taken from the region bytes) in
	 * pieces, with the descriptors on the first */
	for (size_t sent = 0; c != NULL && c->state == CLIENT_HANDSHAKE && c->recv_op.busy;) {
		const uint8_t *src = sent < sizeof(hello) ? (const uint8_t *)&hello + sent
							 : region + (sent - sizeof(hello)) % region_size;
		size_t n = c->iov.iov_len < piece ? c->iov.iov_len : piece;

		if (sent < sizeof(hello) && n > sizeof(hello) - sent)
			n = sizeof(hello) - sent;
		if (sent >= sizeof(hello) + RP_CMDLINE_MAX + 16)
			n = 0;  /* then the peer hangs up */
		memcpy(c->iov.iov_base, src, n);
		c->msg.msg_controllen = 0;
		c->msg.msg_flags = 0;
		if (!fds_sent && nfds > 0 && n > 0) {
			struct cmsghdr *cm = (struct cmsghdr *)c->cmsg.buf;

			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
			for (int i = 0; i < nfds; i++) {
				int fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);

				memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
			}
			c->msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
			fds_sent = true;
		}
		/* the queued recv completes */
		for (size_t i = 0; i < fake_n; i++) {
			if (fake_q[i].op == &c->recv_op) {
				memmove(&fake_q[i], &fake_q[i + 1], (fake_n - i - 1) * sizeof(fake_q[0]));
				fake_n--;
				break;
			}
		}
		c->recv_op.busy = false;
		sent += n;
		client_on_recv(&c->recv_op, (int)n);
		/* a refusal with nothing pending frees the client at once */
		c = LIST_FIRST(&rpd.clients);
		if (n == 0)
			break;
	}
	/* accepted: drain what the region holds, as ticks would */
	for (int r = 0; r < rounds && c != NULL && c->state == CLIENT_ACTIVE; r++) {
		if (ring_drain(c, false) == -EBADMSG) {
			client_quarantine(c);
			break;
		}
		ring_flush_older(c, 0, 0);
		if (c->seg != NULL)
			seg_flush(c->seg);
		while (fake_complete(fake_is_disk_or_cancelled))
			;
		c = LIST_FIRST(&rpd.clients);
	}
	if (c != NULL && c->state == CLIENT_ACTIVE)
		client_finish(c, RP_SEG_END_EXIT);
	while (fake_complete(fake_is_any))
		;
	if (!LIST_EMPTY(&rpd.clients) || !LIST_EMPTY(&rpd.segs) || fake_n != 0)
		abort();  /* something leaked a client, a segment or an op */
	rpd.nclients = 0;
	close(sv[1]);
	munmap(region, region_size);
	close(memfd);
	nftw(fuzz_dir, fuzz_rm, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
