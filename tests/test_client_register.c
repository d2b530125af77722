/*
 * test_client_register.c - the client's registration against a fake
 * daemon played by a thread of the test: the hello, the sealed memfd, the
 * answer (accept, refusal, silence).
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct fake {
	char path[108];
	int listen_fd;
	int32_t status;          /* answer status; 1 = never answer */
	const char *reason;
	/* what the fake received */
	struct rp_hello hello;
	char cmdline[RP_CMDLINE_MAX];
	int nfds;
	int memfd;
	int fds[4];
	int conn;
};

static uint64_t page_up(uint64_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

static void *fake_main(void *arg)
{
	struct fake *f = (struct fake *)arg;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(((struct fake *)0)->fds))];
	} ctl;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	struct rp_answer a;
	size_t got = 0;
	ssize_t n;

	f->conn = accept(f->listen_fd, NULL, NULL);
	if (f->conn < 0)
		return NULL;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &f->hello;
	iov.iov_len = sizeof(f->hello);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(f->conn, &msg, MSG_WAITALL);
	if (n != (ssize_t)sizeof(f->hello))
		return NULL;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			f->nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(f->fds, CMSG_DATA(cm), (size_t)f->nfds * sizeof(int));
			f->memfd = f->fds[0];
		}
	}
	while (got < f->hello.cmdline_len && got < sizeof(f->cmdline)) {
		n = recv(f->conn, f->cmdline + got, f->hello.cmdline_len - got, 0);
		if (n <= 0)
			return NULL;
		got += (size_t)n;
	}
	if (f->status == 1)
		return NULL; /* silent daemon */
	memset(&a, 0, sizeof(a));
	a.magic = RP_ANSWER_MAGIC;
	a.version = RP_WIRE_VERSION;
	a.size = sizeof(a);
	a.status = f->status;
	a.client_id = 7;
	snprintf(a.reason, sizeof(a.reason), "%s", f->reason ? f->reason : "");
	send(f->conn, &a, sizeof(a), MSG_NOSIGNAL);
	return NULL;
}

static void fake_start(struct fake *f, pthread_t *th, int32_t status, const char *reason)
{
	struct sockaddr_un addr;

	memset(f, 0, sizeof(*f));
	f->memfd = -1;
	f->status = status;
	f->reason = reason;
	snprintf(f->path, sizeof(f->path), "/tmp/ringprof-test-%d.sock", (int)getpid());
	unlink(f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(f->listen_fd, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, f->path, strlen(f->path));
	cr_assert_eq(bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(f->listen_fd, 4), 0);
	setenv("RINGPROF_SOCKET", f->path, 1);
	setenv("RINGPROF_SESSION", "unit-tests", 1);
	setenv("RINGPROF_CLOCK", "monotonic", 1);
	setenv("RINGPROF_RING_SIZE", "8192", 1);
	setenv("RINGPROF_RINGS", "3", 1);
	setenv("RINGPROF_STRINGS", "4096", 1);
	unsetenv("RINGPROF_DISABLE");
	unsetenv("RINGPROF_EVENTS");
	unsetenv("RINGPROF_LOSSLESS");
	cr_assert_eq(pthread_create(th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f, pthread_t th)
{
	pthread_join(th, NULL);
	close(f->listen_fd);
	unlink(f->path);
}

Test(client_register, accepted_hello_carries_the_region_and_events_land_in_it, .timeout = 30)
{
	struct fake f;
	pthread_t th;
	struct stat sb;
	char cmdline[RP_CMDLINE_MAX];
	ssize_t clen;
	int fd;
	unsigned char *base;
	struct rp_shm_header *h;
	struct rp_ring_ctl *ctl;
	struct rp_record r;
	uint32_t k;

	fake_start(&f, &th, 0, NULL);
	cr_assert_eq(rp_init(), 0, "%s", rp_status_reason());
	fake_stop(&f, th);
	snprintf(cmdline, sizeof(cmdline), "recording (client 7 of the daemon at %s)", f.path);
	cr_assert_str_eq(rp_status_reason(), cmdline);

	cr_assert_eq(f.hello.magic, RP_HELLO_MAGIC);
	cr_assert_eq(f.hello.version, RP_WIRE_VERSION);
	cr_assert_eq(f.hello.size, sizeof(struct rp_hello));
	cr_assert_eq(f.hello.pid, (uint32_t)getpid());
	cr_assert_eq(f.hello.flags, 0);
	cr_assert_eq(f.hello.ring_count, 3);
	cr_assert_eq(f.hello.ring_bytes, 8192);
	cr_assert_eq(f.hello.string_bytes, 4096);
	cr_assert_eq(f.hello.clock_source, RP_CLOCK_MONOTONIC);
	cr_assert_eq(f.hello.tick_hz, 1000000000u);
	cr_assert_str_eq(f.hello.session, "unit-tests");
	cr_assert_str_eq(f.hello.name, "test_client_reg"); /* comm: 15 bytes */
	fd = open("/proc/self/cmdline", O_RDONLY);
	cr_assert_geq(fd, 0);
	clen = read(fd, cmdline, sizeof(cmdline));
	close(fd);
	cr_assert_eq(f.hello.cmdline_len, (uint32_t)clen);
	cr_assert_eq(memcmp(f.cmdline, cmdline, (size_t)clen), 0);
	/* the string area starts on a page of its own (fork keeps it alone) */
	cr_assert_eq(f.hello.region_size, page_up(256 + 3 * (256 + 8192)) + 4096);

	/* the fd: the right size, sealed, and the same memory */
	cr_assert_eq(f.nfds, 1);
	cr_assert_eq(fstat(f.memfd, &sb), 0);
	cr_assert_eq((uint64_t)sb.st_size, f.hello.region_size);
	cr_assert_eq(fcntl(f.memfd, F_GET_SEALS),
		     F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	cr_assert_neq(ftruncate(f.memfd, 0), 0);
	base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, f.memfd, 0);
	cr_assert_neq(base, MAP_FAILED);
	h = (struct rp_shm_header *)base;
	cr_assert_eq(h->magic, RP_SHM_MAGIC);
	cr_assert_eq(h->version, RP_SHM_VERSION);
	cr_assert_eq(h->header_size, 256);
	cr_assert_eq(h->region_size, f.hello.region_size);
	cr_assert_eq(h->ring_offset, 256);
	cr_assert_eq(h->ring_stride, 256 + 8192);
	cr_assert_eq(h->string_offset, page_up(256 + 3 * (256 + 8192)));
	cr_assert_eq(h->clock_source, RP_CLOCK_MONOTONIC);

	k = rp_kind("Query");
	cr_assert_eq(k, 1);
	rp_instant(k, 0);
	ctl = (struct rp_ring_ctl *)(base + h->ring_offset);
	cr_assert_eq(rp_load_acquire(&ctl->state), RP_SLOT_OWNED);
	cr_assert_eq(rp_load_acquire(&ctl->head), 16);
	memcpy(&r, (unsigned char *)ctl + sizeof(*ctl), sizeof(r));
	cr_assert_eq(r.kind_type, RP_REC_PACK(RP_REC_INSTANT, k));
	cr_assert_eq(rp_load_acquire(&h->string_used), 16);
	munmap(base, (size_t)sb.st_size);
	close(f.memfd);
	close(f.conn);
}

Test(client_register, lossless_hello_attaches_an_eventfd, .timeout = 30)
{
	struct fake f;
	pthread_t th;
	char path[64], link[64];
	ssize_t n;

	fake_start(&f, &th, 0, NULL);
	setenv("RINGPROF_LOSSLESS", "1", 1);
	cr_assert_eq(rp_init(), 0, "%s", rp_status_reason());
	fake_stop(&f, th);
	cr_assert_eq(f.hello.flags, RP_HELLO_F_LOSSLESS | RP_HELLO_F_EVENTFD);
	cr_assert_eq(f.nfds, 2);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f.fds[1]);
	n = readlink(path, link, sizeof(link) - 1);
	cr_assert_gt(n, 0);
	link[n] = '\0';
	cr_assert_str_eq(link, "anon_inode:[eventfd]");
	close(f.fds[1]);
	close(f.memfd);
	close(f.conn);
}

Test(client_register, refusal_disables_with_the_daemons_reason, .timeout = 30)
{
	struct fake f;
	pthread_t th;
	char want[256];

	fake_start(&f, &th, -EPERM, "uid 1000 not allowed");
	cr_assert_eq(rp_init(), -EPERM);
	fake_stop(&f, th);
	snprintf(want, sizeof(want), "refused by daemon at %s: uid 1000 not allowed", f.path);
	cr_assert_str_eq(rp_status_reason(), want);
	cr_assert_eq(rp_kind("Query"), 0);
	cr_assert_null(rp_test_region(NULL));
	close(f.conn);
	close(f.memfd);
}

Test(client_register, silent_daemon_times_out_and_disables, .timeout = 30)
{
	struct fake f;
	pthread_t th;
	char want[256];

	fake_start(&f, &th, 1, NULL);
	cr_assert_eq(rp_init(), -ETIMEDOUT);
	fake_stop(&f, th);
	snprintf(want, sizeof(want), "no answer from daemon at %s: timed out", f.path);
	cr_assert_str_eq(rp_status_reason(), want);
	cr_assert_not(rp_is_enabled());
	close(f.conn);
	close(f.memfd);
}
