/*
 * client.c - one registered (or registering) client process: handshake,
 * validation, answer, per-client events, exit.
 *
 * The handshake never blocks: the hello is received by io_uring recvmsg into
 * a per-connection buffer, in as many pieces as the peer sends, under a
 * deadline.  Everything the client sends and everything in its region is
 * validated before use; a refusal answers -errno with a reason, logs one
 * line and closes the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <liburing.h>

#include "ringprofd.h"

/* Bytes of the hello that never change between versions. */
#define CLIENT_PREFIX 8u

static void client_close(struct client *c);

void client_release(struct client *c)
{
	if (c->recv_op.busy || c->pidfd_op.busy || c->evfd_op.busy)
		return;
	LIST_REMOVE(c, entry);
	free(c);
}

/* Bytes of the hello expected in total, as far as known from what came. */
static size_t client_need(const struct client *c)
{
	if (c->got < CLIENT_PREFIX)
		return CLIENT_PREFIX;
	if (c->got < sizeof(struct rp_hello))
		return sizeof(struct rp_hello);
	return sizeof(struct rp_hello) + c->in.hello.cmdline_len;
}

static void client_arm_hello(struct client *c)
{
	c->iov.iov_base = c->in.bytes + c->got;
	c->iov.iov_len = client_need(c) - c->got;
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = &c->iov;
	c->msg.msg_iovlen = 1;
	c->msg.msg_control = c->cmsg.buf;
	c->msg.msg_controllen = sizeof(c->cmsg.buf);
	io_uring_prep_recvmsg(loop_sqe(&c->recv_op), c->sock, &c->msg, MSG_CMSG_CLOEXEC);
}

/* After registration the connection only tells when the client is gone. */
static void client_arm_watch(struct client *c)
{
	io_uring_prep_recv(loop_sqe(&c->recv_op), c->sock, c->after, sizeof(c->after), 0);
}

static void client_arm_pidfd(struct client *c)
{
	io_uring_prep_poll_add(loop_sqe(&c->pidfd_op), c->pidfd, POLLIN);
}

/* Poll, then read: a read of an O_NONBLOCK eventfd may complete at once
 * with -EAGAIN on kernels that do not poll it, and must not spin. */
static void client_arm_evfd(struct client *c)
{
	c->evfd_reading = false;
	io_uring_prep_poll_add(loop_sqe(&c->evfd_op), c->evfd, POLLIN);
}

void client_open(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		close(sock);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_error("out of memory for a new connection");
		close(sock);
		return;
	}
	c->state = CLIENT_HANDSHAKE;
	c->pid = cred.pid;
	c->cred = cred;
	c->sock = sock;
	c->memfd = c->evfd = c->pidfd = -1;
	c->fds[0] = c->fds[1] = -1;
	c->recv_op = (struct op){ .kind = OP_CLIENT_RECV, .owner = c };
	c->pidfd_op = (struct op){ .kind = OP_CLIENT_PIDFD, .owner = c };
	c->evfd_op = (struct op){ .kind = OP_CLIENT_EVFD, .owner = c };
	c->deadline = clock_mono_ns() + RPD_HANDSHAKE_NS;
	strlcpy(c->name, "?", sizeof(c->name));
	LIST_INSERT_HEAD(&rpd.clients, c, entry);
	client_arm_hello(c);
}

static int client_answer(struct client *c, int status, const char *reason)
{
	struct rp_answer a;
	ssize_t n;

	memset(&a, 0, sizeof(a));
	a.magic = RP_ANSWER_MAGIC;
	a.version = RP_WIRE_VERSION;
	a.size = sizeof(a);
	a.status = status;
	a.client_id = status == 0 ? c->id : 0;
	strlcpy(a.reason, reason, sizeof(a.reason));
	/* An empty socket buffer takes 128 bytes at once; a peer that does
	 * not read them is not waited for. */
	n = send(c->sock, &a, sizeof(a), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(a) ? 0 : -EPIPE;
}

/* Answer a refusal, log one line, close. */
static void client_refuse(struct client *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void client_refuse(struct client *c, int status, const char *fmt, ...)
{
	char reason[RP_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	client_answer(c, status, reason);
	log_warn("refused pid %d (%s): %s", (int)c->pid, c->name, reason);
	client_close(c);
}

static void client_take_fds(struct client *c)
{
	struct cmsghdr *cm;

	if (c->msg.msg_flags & MSG_CTRUNC)
		c->fds_overflow = true;
	for (cm = CMSG_FIRSTHDR(&c->msg); cm != NULL; cm = CMSG_NXTHDR(&c->msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->nfds < 2) {
				c->fds[c->nfds++] = fd;
			} else {
				close(fd);
				c->fds_overflow = true;
			}
		}
	}
}

/* True when /proc/self/fd/<fd> links to a name starting with prefix. */
static bool client_fd_is(int fd, const char *prefix)
{
	char path[64], target[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strncmp(target, prefix, strlen(prefix)) == 0;
}

/* Validate the copied region header against the hello, the memfd size and
 * the daemon's limits.  0, or -errno with reason filled. */
static int client_check_geometry(const struct client *c, const struct rp_shm_header *g,
				 uint64_t size, char reason[RP_REASON_MAX])
{
	const struct rp_hello *h = &c->in.hello;
	uint32_t max_rings = rpd.conf.max_rings < RP_RING_COUNT_MAX ? rpd.conf.max_rings
								     : RP_RING_COUNT_MAX;
	uint32_t max_bytes = rpd.conf.max_ring_bytes < RP_RING_BYTES_MAX
				     ? rpd.conf.max_ring_bytes : RP_RING_BYTES_MAX;
	uint64_t ring_end, string_end;

#define REFUSE(err, ...) do { snprintf(reason, RP_REASON_MAX, __VA_ARGS__); return -(err); } while (0)
	if (g->magic != RP_SHM_MAGIC)
		REFUSE(EPROTO, "region magic 0x%08x, expected 0x%08x", g->magic, RP_SHM_MAGIC);
	if (g->version != RP_SHM_VERSION)
		REFUSE(EPROTONOSUPPORT, "unsupported region version %u (this daemon speaks version %u)",
		       g->version, RP_SHM_VERSION);
	if (g->header_size != sizeof(struct rp_shm_header))
		REFUSE(EPROTO, "region header_size %u, expected %zu", g->header_size,
		       sizeof(struct rp_shm_header));
	if (g->region_size != size)
		REFUSE(EINVAL, "region header says %llu bytes, the memfd has %llu",
		       (unsigned long long)g->region_size, (unsigned long long)size);
	if (g->ring_count != h->ring_count || g->ring_bytes != h->ring_bytes ||
	    g->string_bytes != h->string_bytes || g->clock_source != h->clock_source)
		REFUSE(EINVAL, "region header and hello disagree on the geometry");
	if ((g->flags & ~RP_SHM_F_LOSSLESS) != 0)
		REFUSE(EINVAL, "unknown region flags 0x%x", g->flags);
	if (!!(g->flags & RP_SHM_F_LOSSLESS) != !!(h->flags & RP_HELLO_F_LOSSLESS))
		REFUSE(EINVAL, "region header and hello disagree on lossless mode");
	if (!clock_is_supported(g->clock_source))
		REFUSE(ENOTSUP, "clock source %u not supported", g->clock_source);
	if (g->ring_count == 0 || g->ring_count > max_rings)
		REFUSE(EINVAL, "ring_count %u outside 1..%u", g->ring_count, max_rings);
	if (g->ring_bytes < RP_RING_BYTES_MIN || g->ring_bytes > max_bytes ||
	    (g->ring_bytes & (g->ring_bytes - 1)) != 0)
		REFUSE(EINVAL, "ring_bytes %u is not a power of two in %u..%u", g->ring_bytes,
		       RP_RING_BYTES_MIN, max_bytes);
	if (g->ring_stride != sizeof(struct rp_ring_ctl) + (uint64_t)g->ring_bytes)
		REFUSE(EINVAL, "ring_stride %llu, expected %llu", (unsigned long long)g->ring_stride,
		       (unsigned long long)(sizeof(struct rp_ring_ctl) + (uint64_t)g->ring_bytes));
	if (g->ring_offset < sizeof(struct rp_shm_header) || g->ring_offset % RP_CACHE_LINE != 0 ||
	    g->ring_offset > size)
		REFUSE(EINVAL, "ring_offset %llu invalid", (unsigned long long)g->ring_offset);
	ring_end = g->ring_offset + (uint64_t)g->ring_count * g->ring_stride;
	if (ring_end > size)
		REFUSE(EINVAL, "ring area ends at %llu, past the region of %llu bytes",
		       (unsigned long long)ring_end, (unsigned long long)size);
	if (g->string_bytes < RP_STRING_BYTES_MIN || g->string_bytes > RP_STRING_BYTES_MAX)
		REFUSE(EINVAL, "string_bytes %u outside %u..%u", g->string_bytes,
		       RP_STRING_BYTES_MIN, RP_STRING_BYTES_MAX);
	if (g->string_bytes > rpd.conf.max_string_bytes)
		REFUSE(E2BIG, "string area of %u bytes exceeds --max-string-bytes %u",
		       g->string_bytes, rpd.conf.max_string_bytes);
	if (g->string_offset < sizeof(struct rp_shm_header) || g->string_offset % 8 != 0 ||
	    g->string_offset > size || size - g->string_offset < g->string_bytes)
		REFUSE(EINVAL, "string area at %llu (%u bytes) outside the region",
		       (unsigned long long)g->string_offset, g->string_bytes);
	string_end = g->string_offset + g->string_bytes;
	if (string_end > g->ring_offset && g->string_offset < ring_end)
		REFUSE(EINVAL, "string area overlaps the ring area");
#undef REFUSE
	return 0;
}

static void client_accept(struct client *c)
{
	char reason[RP_REASON_MAX];
	int ret;

	c->id = ++rpd.next_client_id;
	c->cmdline_len = c->in.hello.cmdline_len;
	strtab_init(&c->strtab);
	if ((ret = ring_attach(c)) < 0) {
		snprintf(reason, sizeof(reason), "out of memory");
		goto err_refuse;
	}
	if ((ret = seg_open(c)) < 0) {
		snprintf(reason, sizeof(reason), "cannot create segment: %s", strerror(-ret));
		goto err_refuse;
	}
	rpd.nclients++;
	c->state = CLIENT_ACTIVE;
	log_info("accepted pid %d (%s) as client %u: %u rings of %u bytes, session %s",
		 (int)c->pid, c->name, c->id, c->geo.ring_count, c->geo.ring_bytes, c->session);
	if ((ret = client_answer(c, 0, "")) < 0) {
		log_info("client %u: answer not delivered: %s", c->id, strerror(-ret));
		client_finish(c, RP_SEG_END_EXIT);
		return;
	}
	client_arm_watch(c);
	client_arm_pidfd(c);
	if (c->evfd >= 0)
		client_arm_evfd(c);
	return;

err_refuse:
	client_refuse(c, ret, "%s", reason);
}

/* The whole hello is in: check it, the fds and the region. */
static void client_register(struct client *c)
{
	const struct rp_hello *h = &c->in.hello;
	uint32_t want = (h->flags & RP_HELLO_F_EVENTFD) ? 2 : 1;
	char reason[RP_REASON_MAX];
	struct stat st;
	int seals, ret;

#define REFUSE(err, ...) do { ret = -(err); snprintf(reason, sizeof(reason), __VA_ARGS__); goto err_refuse; } while (0)
	if ((ret = access_check(&c->cred, reason)) < 0)
		goto err_refuse;
	if (memchr(h->name, '\0', sizeof(h->name)) == NULL ||
	    memchr(h->session, '\0', sizeof(h->session)) == NULL)
		REFUSE(EINVAL, "name or session not NUL-terminated");
	if ((h->flags & ~(RP_HELLO_F_LOSSLESS | RP_HELLO_F_EVENTFD)) != 0)
		REFUSE(EINVAL, "unknown hello flags 0x%x", h->flags);
	if (c->fds_overflow || c->nfds > (int)want)
		REFUSE(EINVAL, "too many file descriptors attached (expected %u)", want);
	if (c->nfds < (int)want)
		REFUSE(EBADF, "%d file descriptors attached, expected %u", c->nfds, want);
	if (h->pid != (uint32_t)c->pid)
		REFUSE(EPERM, "pid %u in the hello differs from the peer pid %d", h->pid, (int)c->pid);
	if (rpd.nclients >= rpd.conf.max_clients)
		REFUSE(EUSERS, "too many clients (limit %u)", rpd.conf.max_clients);
	c->memfd = c->fds[0];
	c->evfd = c->fds[1];
	c->fds[0] = c->fds[1] = -1;
	if (!client_fd_is(c->memfd, "/memfd:"))
		REFUSE(EINVAL, "file descriptor is not a memfd");
	if (c->evfd >= 0 && !client_fd_is(c->evfd, "anon_inode:[eventfd]"))
		REFUSE(EINVAL, "second file descriptor is not an eventfd");
	seals = fcntl(c->memfd, F_GET_SEALS);
	if (seals < 0)
		REFUSE(EINVAL, "cannot read the memfd seals: %s", strerror(errno));
	if (!(seals & F_SEAL_SHRINK))
		REFUSE(EINVAL, "memfd is not sealed against shrinking (F_SEAL_SHRINK missing)");
	if (!(seals & F_SEAL_GROW))
		REFUSE(EINVAL, "memfd is not sealed against growing (F_SEAL_GROW missing)");
	if (fstat(c->memfd, &st) < 0)
		REFUSE(EINVAL, "fstat of the memfd: %s", strerror(errno));
	if ((uint64_t)st.st_size != h->region_size)
		REFUSE(EINVAL, "memfd size %llu differs from region_size %llu in the hello",
		       (unsigned long long)st.st_size, (unsigned long long)h->region_size);
	if (h->region_size > rpd.conf.max_region)
		REFUSE(E2BIG, "region of %llu bytes exceeds --max-region %llu",
		       (unsigned long long)h->region_size, (unsigned long long)rpd.conf.max_region);
	if (h->region_size < sizeof(struct rp_shm_header))
		REFUSE(EINVAL, "region of %llu bytes is smaller than its header",
		       (unsigned long long)h->region_size);
	c->region = mmap(NULL, h->region_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (c->region == MAP_FAILED) {
		c->region = NULL;
		REFUSE(errno, "mmap of the region: %s", strerror(errno));
	}
	c->region_size = h->region_size;
	/* one copy of the header; only the copy is validated and used */
	memcpy(&c->geo, c->region, sizeof(c->geo));
	if ((ret = client_check_geometry(c, &c->geo, h->region_size, reason)) < 0)
		goto err_refuse;
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd < 0)
		REFUSE(errno, "pidfd_open: %s", strerror(errno));
	seg_sanitize(c->session, h->session, sizeof(h->session));
#undef REFUSE
	client_accept(c);
	return;

err_refuse:
	client_refuse(c, ret, "%s", reason);
}

/* Check the version-independent prefix and then the fixed part. */
static bool client_hello_is_ok(struct client *c)
{
	const struct rp_hello *h = &c->in.hello;

	if (c->got == CLIENT_PREFIX) {
		if (h->magic != RP_HELLO_MAGIC) {
			client_refuse(c, -EPROTO, "bad hello magic 0x%08x", h->magic);
			return false;
		}
		if (h->version != RP_WIRE_VERSION) {
			client_refuse(c, -EPROTONOSUPPORT,
				      "unsupported protocol version %u (this daemon speaks version %u)",
				      h->version, RP_WIRE_VERSION);
			return false;
		}
		if (h->size != sizeof(struct rp_hello)) {
			client_refuse(c, -EPROTO, "hello size %u, expected %zu", h->size,
				      sizeof(struct rp_hello));
			return false;
		}
	}
	if (c->got == sizeof(struct rp_hello)) {
		seg_sanitize(c->name, h->name, sizeof(h->name));
		if (h->cmdline_len > RP_CMDLINE_MAX) {
			client_refuse(c, -EMSGSIZE, "command line of %u bytes exceeds %u",
				      h->cmdline_len, RP_CMDLINE_MAX);
			return false;
		}
	}
	return true;
}

static void client_on_hello(struct client *c, int res)
{
	size_t need;

	if (res == -EINTR || res == -EAGAIN) {
		client_arm_hello(c);
		return;
	}
	if (res >= 0)
		client_take_fds(c);
	if (res < 0) {
		client_refuse(c, res, "receive failed: %s", strerror(-res));
		return;
	}
	if (res == 0) {
		if (c->got == 0 && c->nfds == 0) {
			log_debug("connection from pid %d closed before a hello", (int)c->pid);
			client_close(c);
			return;
		}
		client_refuse(c, -ECONNRESET, "connection closed after %zu hello bytes", c->got);
		return;
	}
	need = client_need(c);
	c->got += (size_t)res;
	if (c->got < need) {
		client_arm_hello(c);
		return;
	}
	/* a boundary: the prefix, the fixed part or the whole hello */
	if (c->got == CLIENT_PREFIX && c->in.hello.magic == RP_STATUS_MAGIC) {
		status_open(c);  /* takes the connection */
		client_close(c);
		return;
	}
	if (!client_hello_is_ok(c))
		return;
	if (c->got >= sizeof(struct rp_hello) && c->got == client_need(c))
		client_register(c);
	else
		client_arm_hello(c);
}

void client_on_recv(struct op *op, int res)
{
	struct client *c = op->owner;

	switch (c->state) {
	case CLIENT_CLOSED:
		client_release(c);
		return;
	case CLIENT_HANDSHAKE:
		client_on_hello(c, res);
		return;
	case CLIENT_ACTIVE:
		break;
	}
	if (res == -EINTR || res == -EAGAIN) {
		client_arm_watch(c);
	} else if (res > 0) {
		snprintf(c->reason, sizeof(c->reason), "%d bytes sent after the hello", res);
		client_quarantine(c);
	} else {
		client_finish(c, RP_SEG_END_EXIT);
	}
}

void client_on_pidfd(struct op *op, int res)
{
	struct client *c = op->owner;

	if (c->state == CLIENT_CLOSED) {
		client_release(c);
		return;
	}
	if (res == -EINTR || res == -EAGAIN)
		client_arm_pidfd(c);
	else
		client_finish(c, RP_SEG_END_EXIT);
}

void client_on_evfd(struct op *op, int res)
{
	struct client *c = op->owner;

	if (c->state == CLIENT_CLOSED) {
		client_release(c);
		return;
	}
	if (!c->evfd_reading && res > 0) {
		c->evfd_reading = true;
		io_uring_prep_read(loop_sqe(&c->evfd_op), c->evfd, &c->evfd_value,
				   sizeof(c->evfd_value), 0);
		return;
	}
	if (res == (int)sizeof(c->evfd_value) || res == -EINTR || res == -EAGAIN) {
		/* a lossless producer waits: drain now rather than at the tick */
		if (res > 0 && ring_drain(c, false) == -EBADMSG) {
			client_quarantine(c);
			return;
		}
		client_arm_evfd(c);
		return;
	}
	log_info("client %u: eventfd read: %s; draining on ticks only", c->id,
		 res < 0 ? strerror(-res) : "short read");
}

/* Flush every encoder, record loss counters, seal. */
static void client_seal(struct client *c, uint32_t end_reason)
{
	ring_flush_older(c, 0, 0);
	ring_loss_all(c);
	if (c->seg != NULL) {
		status_sealed(c);
		seg_seal(c->seg, end_reason, c->geo.clock_source);
		c->seg = NULL;
	}
}

static void client_close(struct client *c)
{
	status_closed(c);
	if (c->state == CLIENT_ACTIVE)
		rpd.nclients--;
	c->state = CLIENT_CLOSED;
	loop_cancel(&c->recv_op);
	loop_cancel(&c->pidfd_op);
	loop_cancel(&c->evfd_op);
	ring_detach(c);
	strtab_free(&c->strtab);
	if (c->region != NULL)
		munmap(c->region, c->region_size);
	c->region = NULL;
	for (int i = 0; i < 2; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->evfd >= 0)
		close(c->evfd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	close(c->sock);
	c->fds[0] = c->fds[1] = c->memfd = c->evfd = c->pidfd = c->sock = -1;
	client_release(c);
}

void client_quarantine(struct client *c)
{
	log_warn("quarantined client %u pid %d (%s): %s", c->id, (int)c->pid, c->name,
		 c->reason);
	client_seal(c, RP_SEG_END_QUARANTINE);
	status_quarantined(c);
	/* one byte before the close: the client tells a quarantine from a
	 * daemon that went away, and does not register again (wire.h) */
	if (send(c->sock, "Q", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("client %u: quarantine byte: %s", c->id, strerror(errno));
	client_close(c);
}

void client_finish(struct client *c, uint32_t end_reason)
{
	if (c->state != CLIENT_ACTIVE)
		return;
	if (ring_drain(c, end_reason == RP_SEG_END_EXIT) == -EBADMSG) {
		client_quarantine(c);
		return;
	}
	log_info("client %u pid %d (%s) %s: %u threads", c->id, (int)c->pid, c->name,
		 end_reason == RP_SEG_END_EXIT ? "gone" : "closed at shutdown", c->threads);
	client_seal(c, end_reason);
	client_close(c);
}

int client_rotate(struct client *c, uint32_t end_reason)
{
	bool retry = c->seg == NULL;
	int ret;

	client_seal(c, end_reason);
	c->seg_seq++;
	c->rotate_pending = false;
	if ((ret = seg_open(c)) < 0) {
		if (!retry)
			log_error("client %u: no segment after rotation, its events are dropped "
				  "and counted (a new one is tried every second)", c->id);
		c->seg_retry_ns = clock_mono_ns() + RPD_DISK_RETRY_NS;
		return ret;
	}
	ring_restart_all(c);
	return 0;
}

/* Bytes consumed so far over all rings of c (free-running, wraps). */
static uint64_t client_tails(const struct client *c)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < c->geo.ring_count; i++)
		sum += c->slots[i].tail;
	return sum;
}

uint32_t client_tick(uint64_t now)
{
	uint64_t flush_ns = (uint64_t)rpd.conf.flush_ms * RPD_NSEC_PER_MSEC;
	struct client *c, *next;
	uint64_t fill, fullest = 0;   /* per mille of one ring */

	seg_orphan_tick(now);
	for (c = LIST_FIRST(&rpd.clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state == CLIENT_HANDSHAKE) {
			if (now >= c->deadline)
				client_refuse(c, -ETIMEDOUT, "handshake not completed within %llu ms",
					      (unsigned long long)(RPD_HANDSHAKE_NS / RPD_NSEC_PER_MSEC));
			continue;
		}
		if (c->state != CLIENT_ACTIVE)
			continue;
		fill = client_tails(c);
		if (ring_drain(c, false) == -EBADMSG) {
			client_quarantine(c);
			continue;
		}
		fill = (client_tails(c) - fill) * 1000 / c->geo.ring_bytes;
		if (fill > fullest)
			fullest = fill;
		ring_flush_older(c, now, flush_ns);
		if (c->seg == NULL) {
			if (now >= c->seg_retry_ns)
				client_rotate(c, RP_SEG_END_ROTATE);
			continue;
		}
		if (now - c->seg->clock_ns >= RPD_CLOCK_PAIR_NS)
			seg_clock(c->seg, c->geo.clock_source);
		if (seg_wants_rotation(c->seg, now) ||
		    (c->rotate_pending && c->acct->segs < RPD_CLIENT_SEGS_MAX))
			client_rotate(c, RP_SEG_END_ROTATE);
		if (c->seg != NULL)
			seg_flush(c->seg);
	}
	return fullest > UINT32_MAX ? UINT32_MAX : (uint32_t)fullest;
}

void client_rotate_all(void)
{
	struct client *c, *next;

	for (c = LIST_FIRST(&rpd.clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state != CLIENT_ACTIVE)
			continue;
		if (ring_drain(c, false) == -EBADMSG) {
			client_quarantine(c);
			continue;
		}
		/* at the limit of open segments: rotated once one is done */
		if (c->seg != NULL && c->acct->segs >= RPD_CLIENT_SEGS_MAX) {
			log_info("client %u: %u segments still being written, rotation waits "
				 "for one", c->id, c->acct->segs);
			c->rotate_pending = true;
			continue;
		}
		client_rotate(c, RP_SEG_END_ROTATE);
		if (c->seg != NULL)
			seg_flush(c->seg);
	}
}

void client_shutdown_all(void)
{
	struct client *c, *next;

	for (c = LIST_FIRST(&rpd.clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state == CLIENT_ACTIVE)
			client_finish(c, RP_SEG_END_SHUTDOWN);
		else if (c->state == CLIENT_HANDSHAKE)
			client_close(c);
	}
}
