/*
 * test_daemon.c - ringprofd driven from outside, as a client would.
 *
 * Each test spawns the built daemon on a private socket and state
 * directory, crafts registrations and regions by hand (following
 * ringprof/shm.h and wire.h, not through the client header), and decodes
 * the segments it writes with the codec.  Every wait polls for a condition
 * under a deadline; nothing sleeps and hopes.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <criterion/criterion.h>

#include <ringprof/atomic.h>
#include <ringprof/seg.h>
#include <ringprof/shm.h>
#include <ringprof/wire.h>

#include "codec.h"
#include "harness.h"

/* ---- the daemon under test: harness.h ---- */

/* Run ringprofd with args (NULL-terminated, after the program) expecting
 * it to exit with code, to print nothing on stdout and exactly err on
 * stderr. */
static void run_expect_exit(const char *const *args, int code, const char *err)
{
	const char *argv[16] = { build_path("daemon/ringprofd") };
	char *out, *got;
	int status, n = 1;

	for (; *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = run(argv, NULL, &out, &got);
	cr_assert(exited_with(status, code), "status 0x%x: %s", status, got);
	cr_assert_str_eq(out, "");
	cr_assert_str_eq(got, err);
	free(out);
	free(got);
}

/* ---- a hand-made client region ---- */

#define T_RINGS 2u
#define T_RING_BYTES 4096u
#define T_STRING_BYTES 4096u

struct region {
	int memfd;
	uint8_t *base;
	size_t size;
	struct rp_shm_header *hdr;
	uint64_t head[T_RINGS];
	uint32_t next_id;
};

/* seals: what to apply; file_size: bytes of the memfd (0: as the header);
 * ring_bytes, string_bytes: the geometry. */
static void region_make_geo(struct region *r, int seals, size_t file_size,
			    uint32_t ring_bytes, uint32_t string_bytes)
{
	struct rp_shm_header *h;
	uint64_t ring_offset = sizeof(struct rp_shm_header);
	uint64_t stride = sizeof(struct rp_ring_ctl) + ring_bytes;
	uint64_t string_offset = ring_offset + T_RINGS * stride;

	memset(r, 0, sizeof(*r));
	r->size = string_offset + string_bytes;
	r->memfd = memfd_create("ringprof-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert_geq(r->memfd, 0);
	cr_assert_eq(ftruncate(r->memfd, (off_t)(file_size ? file_size : r->size)), 0);
	r->base = mmap(NULL, file_size ? file_size : r->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, r->memfd, 0);
	cr_assert_neq(r->base, MAP_FAILED);
	h = r->hdr = (struct rp_shm_header *)r->base;
	h->magic = RP_SHM_MAGIC;
	h->version = RP_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = r->size;
	h->ring_count = T_RINGS;
	h->ring_bytes = ring_bytes;
	h->ring_offset = ring_offset;
	h->ring_stride = stride;
	h->string_offset = string_offset;
	h->string_bytes = string_bytes;
	h->clock_source = RP_CLOCK_MONOTONIC;
	if (seals != 0)
		cr_assert_eq(fcntl(r->memfd, F_ADD_SEALS, seals), 0);
	if (file_size != 0)
		r->size = file_size;
}

static void region_make(struct region *r, int seals, size_t file_size)
{
	region_make_geo(r, seals, file_size, T_RING_BYTES, T_STRING_BYTES);
}

static void region_free(struct region *r)
{
	munmap(r->base, r->size);
	close(r->memfd);
}

static uint32_t region_intern(struct region *r, const char *s)
{
	uint8_t *area = r->base + r->hdr->string_offset;
	uint64_t used = r->hdr->string_used;
	struct rp_str_entry e = { .id = ++r->next_id, .len = (uint32_t)strlen(s) };

	memcpy(area + used, &e, sizeof(e));
	memcpy(area + used + sizeof(e), s, e.len);
	/* pairs with the acquire of string_used in the daemon's string scan */
	rp_store_release(&r->hdr->string_used, used + RP_STR_ENTRY_SIZE(e.len));
	return e.id;
}

static struct rp_ring_ctl *region_ctl(struct region *r, uint32_t slot)
{
	return (struct rp_ring_ctl *)(r->base + r->hdr->ring_offset +
				      slot * r->hdr->ring_stride);
}

static void ring_claim(struct region *r, uint32_t slot, uint32_t tid, uint64_t seq)
{
	struct rp_ring_ctl *ctl = region_ctl(r, slot);

	ctl->tid = tid;
	ctl->owner_seq = seq;
	/* pairs with the acquire of state in the daemon's drain */
	rp_store_release(&ctl->state, RP_SLOT_OWNED);
}

static void ring_put(struct region *r, uint32_t slot, uint32_t type, uint32_t id,
		     uint32_t arg, uint64_t ts)
{
	struct rp_ring_ctl *ctl = region_ctl(r, slot);
	struct rp_record rec = { .ts = ts, .kind_type = RP_REC_PACK(type, id), .arg = arg };

	memcpy((uint8_t *)(ctl + 1) + (r->head[slot] & (r->hdr->ring_bytes - 1)), &rec, sizeof(rec));
	r->head[slot] += sizeof(rec);
}

static void ring_publish(struct region *r, uint32_t slot)
{
	/* pairs with the acquire of head in the daemon's drain */
	rp_store_release(&region_ctl(r, slot)->head, r->head[slot]);
}

static void ring_retire(struct region *r, uint32_t slot, uint64_t dropped)
{
	struct rp_ring_ctl *ctl = region_ctl(r, slot);

	rp_store_release(&ctl->dropped, dropped);
	rp_store_release(&ctl->state, RP_SLOT_RETIRED);
}

/* Wait until the daemon consumed everything published in slot. */
static void ring_wait_drained(struct region *r, uint32_t slot)
{
	uint64_t end = now_ms() + WAIT_MS;

	/* pairs with the release of tail in the daemon's drain */
	while (rp_load_acquire(&region_ctl(r, slot)->tail) != r->head[slot]) {
		cr_assert_leq(now_ms(), end, "ring %u not drained", slot);
		nap();
	}
}

static void ring_wait_free(struct region *r, uint32_t slot)
{
	uint64_t end = now_ms() + WAIT_MS;

	/* pairs with the daemon's CAS RETIRED->FREE */
	while (rp_load_acquire(&region_ctl(r, slot)->state) != RP_SLOT_FREE) {
		cr_assert_leq(now_ms(), end, "ring %u not freed", slot);
		nap();
	}
}

/* ---- registration ---- */

static void hello_init(struct rp_hello *h, const struct region *r, const char *name,
		       const char *session, uint32_t cmdline_len)
{
	memset(h, 0, sizeof(*h));
	h->magic = RP_HELLO_MAGIC;
	h->version = RP_WIRE_VERSION;
	h->size = sizeof(*h);
	h->pid = (uint32_t)getpid();
	h->region_size = r->size;
	h->ring_count = T_RINGS;
	h->ring_bytes = r->hdr->ring_bytes;
	h->string_bytes = r->hdr->string_bytes;
	h->clock_source = RP_CLOCK_MONOTONIC;
	h->tick_hz = 1000000000;
	strncpy(h->name, name, sizeof(h->name) - 1);
	strncpy(h->session, session, sizeof(h->session) - 1);
	h->cmdline_len = cmdline_len;
}

/* Send the hello with nfds descriptors attached. */
static void hello_send_fds(int fd, const struct rp_hello *h, const void *cmdline,
			   const int *fds, int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = sizeof(*h) },
		{ .iov_base = (void *)cmdline, .iov_len = h->cmdline_len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	if (nfds > 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)(sizeof(*h) + h->cmdline_len))
		_exit(3);  /* also runs in a forked child: no assertion here */
}

static void hello_send(int fd, const struct rp_hello *h, const void *cmdline, int memfd)
{
	hello_send_fds(fd, h, cmdline, &memfd, 1);
}

static void answer_read(int fd, struct rp_answer *a)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no answer from ringprofd");
	cr_assert_eq(recv(fd, a, sizeof(*a), MSG_WAITALL), (ssize_t)sizeof(*a),
		     "short answer");
	cr_assert_eq(a->magic, RP_ANSWER_MAGIC);
	cr_assert_eq(a->version, RP_WIRE_VERSION);
	cr_assert_eq(a->size, sizeof(*a));
}

/* Register r; returns the connected socket and fills *a. */
static int client_register(const struct daemon *d, struct region *r, const char *name,
			   const char *session, struct rp_answer *a)
{
	static const char cmdline[] = "cc\0-c\0x.c";
	struct rp_hello h;
	int fd = sock_connect(d->sock);

	cr_assert_geq(fd, 0);
	hello_init(&h, r, name, session, sizeof(cmdline));
	hello_send(fd, &h, cmdline, r->memfd);
	answer_read(fd, a);
	return fd;
}

/* ---- segments ---- */

static char *seg_path_pid(const struct daemon *d, const char *session, const char *name,
			  pid_t pid, uint32_t client_id, uint32_t seq)
{
	char *path;

	cr_assert_geq(asprintf(&path, "%s/%s/%s-%d-%u-%u.rpseg", d->state, session, name,
			       (int)pid, client_id, seq), 0);
	return path;
}

static char *seg_path(const struct daemon *d, const char *session, const char *name,
		      uint32_t client_id, uint32_t seq)
{
	return seg_path_pid(d, session, name, getpid(), client_id, seq);
}

static bool seg_is_sealed(const char *path)
{
	size_t len;
	char *data = slurp(path, &len);
	bool sealed = data != NULL && len >= 32 &&
		      memcmp(data + len - 8, RP_SEG_TRAILER_MAGIC, 8) == 0;

	free(data);
	return sealed;
}

static void seg_wait_sealed(const char *path)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (!seg_is_sealed(path)) {
		cr_assert_leq(now_ms(), end, "segment %s not sealed", path);
		nap();
	}
}

static const char *type_name(uint8_t type)
{
	static const char *const names[] = { "?", "BEGIN", "END", "INSTANT", "INTEGER",
					     "VALUE", "THREAD_NAME" };
	return type < 7 ? names[type] : "?";
}

/*
 * Decode a sealed segment into text: its header, thread items, events with
 * their strings resolved through the segment's own STRINGS blocks, loss
 * items and footer.  Structural checks (preamble, CRCs, block count, footer
 * offset, trailer) are asserted on the way.
 */
static char *seg_decode(const char *path)
{
	size_t size, off = sizeof(struct rp_seg_preamble);
	char *data = slurp(path, &size);
	char *strings[256] = { 0 };
	struct rp_blockdec *dec;
	struct rp_buf payload = { 0 };
	struct rp_seg_trailer trailer;
	uint64_t blocks = 0, raw_bytes = 0, clocks = 0;
	char *text;
	size_t text_len;
	FILE *out = open_memstream(&text, &text_len);

	cr_assert_not_null(data, "cannot read %s", path);
	cr_assert_geq(size, sizeof(struct rp_seg_preamble) + sizeof(trailer));
	cr_assert_eq(memcmp(data, RP_SEG_MAGIC, 8), 0);
	memcpy(&trailer, data + size - sizeof(trailer), sizeof(trailer));
	cr_assert_eq(memcmp(trailer.magic, RP_SEG_TRAILER_MAGIC, 8), 0, "%s not sealed", path);
	cr_assert_eq(rp_blockdec_open(&dec), 0);
	while (off < size - sizeof(trailer)) {
		struct rp_block_hdr h;
		const uint8_t *p;

		cr_assert_leq(off + sizeof(h), size - sizeof(trailer));
		memcpy(&h, data + off, sizeof(h));
		cr_assert_eq(rp_block_hdr_check(&h), 0, "bad block header at %zu", off);
		cr_assert_leq(off + sizeof(h) + h.stored_len, size - sizeof(trailer));
		cr_assert_eq(rp_blockdec_payload(dec, &h, data + off + sizeof(h), &payload), 0,
			     "bad block at %zu", off);
		cr_assert_eq(payload.len, h.raw_len);
		p = payload.data;
		switch (h.type) {
		case RP_BLK_HEADER: {
			struct rp_seg_info info;

			cr_assert_eq(blocks, 0);
			memcpy(&info, p, sizeof(info));
			cr_assert_eq(payload.len, sizeof(info) + info.cmdline_len);
			fprintf(out, "header pid=%u client=%u seq=%u name=%s session=%s cmdline=",
				info.pid, info.client_id, info.segment_seq, info.name, info.session);
			for (uint32_t i = 0; i < info.cmdline_len; i++)
				fputc(p[sizeof(info) + i] ? p[sizeof(info) + i] : ' ', out);
			fputc('\n', out);
			cr_assert_eq(info.clock_source, RP_CLOCK_MONOTONIC);
			cr_assert_eq(info.tick_hz, 1000000000u);
			break;
		}
		case RP_BLK_STRINGS:
			for (uint32_t i = 0, pos = 0; i < h.count; i++) {
				struct rp_str_entry e;

				memcpy(&e, p + pos, sizeof(e));
				cr_assert_lt(e.id, 256u);
				free(strings[e.id]);
				strings[e.id] = strndup((const char *)p + pos + sizeof(e), e.len);
				pos += sizeof(e) + e.len;
			}
			break;
		case RP_BLK_THREADS:
			for (uint32_t i = 0; i < h.count; i++) {
				struct rp_seg_thread t;

				memcpy(&t, p + i * sizeof(t), sizeof(t));
				fprintf(out, "thread %s %u tid=%u slot=%u\n",
					t.event == RP_THREAD_START ? "start" : "end", t.thread,
					t.tid, t.slot);
			}
			break;
		case RP_BLK_EVENTS: {
			struct rp_evdec ed;
			struct rp_event ev;
			int ret;

			cr_assert_eq(rp_evdec_begin(&ed, p, payload.len, h.count), 0);
			while ((ret = rp_evdec_next(&ed, &ev)) == 1) {
				cr_assert_lt(ev.id, 256u);
				cr_assert_lt(ev.arg, 256u);
				fprintf(out, "event %u %s %s %s %llu", ed.hdr.thread, type_name(ev.type),
					strings[ev.id] ? strings[ev.id] : "UNDEFINED",
					ev.arg == 0 ? "-" : strings[ev.arg] ? strings[ev.arg] : "UNDEFINED",
					(unsigned long long)ev.ts);
				if (ev.type == RP_REC_INTEGER)
					fprintf(out, " %llu", (unsigned long long)ev.value);
				fputc('\n', out);
			}
			cr_assert_eq(ret, 0);
			break;
		}
		case RP_BLK_CLOCK:
			clocks++;
			break;
		case RP_BLK_LOSS:
			for (uint32_t i = 0; i < h.count; i++) {
				struct rp_seg_loss l;

				memcpy(&l, p + i * sizeof(l), sizeof(l));
				fprintf(out, "loss %u written=%llu client_dropped=%llu daemon_dropped=%llu\n",
					l.thread, (unsigned long long)l.written,
					(unsigned long long)l.client_dropped,
					(unsigned long long)l.daemon_dropped);
			}
			break;
		case RP_BLK_FOOTER: {
			struct rp_seg_footer f;

			memcpy(&f, p, sizeof(f));
			cr_assert_eq(trailer.footer_offset, off);
			cr_assert_eq(f.blocks, blocks);
			cr_assert_eq(f.raw_bytes, raw_bytes);
			fprintf(out, "footer events=%llu threads=%u reason=%u\n",
				(unsigned long long)f.events, f.threads, f.end_reason);
			break;
		}
		default:
			cr_assert_fail("unknown block type %u at %zu", h.type, off);
		}
		blocks++;
		raw_bytes += h.raw_len;
		off += sizeof(h) + h.stored_len;
	}
	cr_assert_eq(off, size - sizeof(trailer));
	cr_assert_geq(clocks, 2, "a sealed segment has a CLOCK pair at open and at seal");
	fclose(out);
	rp_buf_free(&payload);
	rp_blockdec_close(dec);
	for (int i = 0; i < 256; i++)
		free(strings[i]);
	free(data);
	return text;
}

static void seg_expect(const char *path, const char *expected)
{
	char *text = seg_decode(path);

	cr_assert_str_eq(text, expected, "segment %s:\n%s\nexpected:\n%s", path, text, expected);
	free(text);
}

/* ---- a complete good client ---- */

/* Strings of the standard recording. */
struct names {
	uint32_t query, key, size, hit, main;
};

static void names_intern(struct region *r, struct names *n)
{
	n->query = region_intern(r, "Query");
	n->key = region_intern(r, "typeck(foo)");
	n->size = region_intern(r, "ArtifactSize");
	n->hit = region_intern(r, "QueryCacheHit");
	n->main = region_intern(r, "main");
}

/* Five events into slot, starting at ts base. */
static void record_five(struct region *r, uint32_t slot, const struct names *n, uint64_t base)
{
	ring_put(r, slot, RP_REC_BEGIN, n->query, n->key, base);
	ring_put(r, slot, RP_REC_END, n->query, n->key, base + 500);
	ring_put(r, slot, RP_REC_INTEGER, n->size, 0, base + 600);
	ring_put(r, slot, RP_REC_VALUE, 0, 0, 4096);
	ring_put(r, slot, RP_REC_INSTANT, n->hit, n->key, base + 700);
	ring_put(r, slot, RP_REC_THREAD_NAME, n->main, 0, base + 800);
	ring_publish(r, slot);
}

static char *five_text(uint32_t thread, uint64_t base)
{
	char *s;

	cr_assert_geq(asprintf(&s,
		"event %u BEGIN Query typeck(foo) %llu\n"
		"event %u END Query typeck(foo) %llu\n"
		"event %u INTEGER ArtifactSize - %llu 4096\n"
		"event %u INSTANT QueryCacheHit typeck(foo) %llu\n"
		"event %u THREAD_NAME main - %llu\n",
		thread, (unsigned long long)base, thread, (unsigned long long)base + 500,
		thread, (unsigned long long)base + 600, thread, (unsigned long long)base + 700,
		thread, (unsigned long long)base + 800), 0);
	return s;
}

/* Register a well-behaved client, record five events on one thread that
 * then exits with 2 drops counted, disconnect, and check its segment
 * exactly. */
static void good_client_check(const struct daemon *d, const char *name)
{
	struct region r;
	struct rp_answer a;
	struct names n;
	char *path, *five, *expected;
	int fd;

	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, 0);
	fd = client_register(d, &r, name, "tests", &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	names_intern(&r, &n);
	ring_claim(&r, 0, 101, 1);
	record_five(&r, 0, &n, 1000);
	ring_retire(&r, 0, 2);
	ring_wait_free(&r, 0);
	close(fd);

	path = seg_path(d, "tests", name, a.client_id, 0);
	seg_wait_sealed(path);
	five = five_text(1, 1000);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=0 name=%s session=tests cmdline=cc -c x.c \n"
		"thread start 1 tid=101 slot=0\n"
		"%s"
		"thread end 1 tid=101 slot=0\n"
		"loss 1 written=5 client_dropped=2 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)getpid(), a.client_id, name, five, RP_SEG_END_EXIT), 0);
	seg_expect(path, expected);
	free(expected);
	free(five);
	free(path);
	region_free(&r);
}

/* A refused registration: status and reason exact, one log line naming
 * the pid and the name as the daemon knew it, then a good client still
 * works. */
static void refusal_check(struct daemon *d, const struct rp_answer *a, int status,
			  const char *name, const char *reason)
{
	char *line;

	cr_assert_eq(a->status, status, "status %d, reason \"%s\"", a->status, a->reason);
	cr_assert_str_eq(a->reason, reason);
	cr_assert_geq(asprintf(&line, "refused pid %d (%s): %s", (int)getpid(), name, reason), 0);
	log_wait(d, line);
	good_client_check(d, "after");
	cr_assert_eq(log_count(d, line), 1);
	cr_assert_eq(log_count(d, "refused"), 1);
	free(line);
}

/* ---- tests ---- */

/* Register region r as client name of session, with "Query" interned (*id)
 * and ring 0 claimed by thread tid; the connection's fd. */
static int query_client(struct daemon *d, struct region *r, const char *name,
			const char *session, uint32_t tid, struct rp_answer *a, uint32_t *id)
{
	int fd = client_register(d, r, name, session, a);

	cr_assert_eq(a->status, 0, "refused: %s", a->reason);
	*id = region_intern(r, "Query");
	ring_claim(r, 0, tid, 1);
	return fd;
}

/* The thread of ring 0 ends, the daemon drains and frees it; then the
 * connection closes. */
static void ring0_close(struct region *r, int fd)
{
	ring_retire(r, 0, 0);
	ring_wait_free(r, 0);
	close(fd);
}

Test(daemon, accepts_a_client_and_writes_its_events_exactly, .timeout = 60)
{
	struct daemon d;

	daemon_start(&d, NULL);
	good_client_check(&d, "cc1");
	cr_assert_eq(log_count(&d, "refused"), 0);
	daemon_stop(&d);
}

Test(daemon, refuses_an_unknown_protocol_version_naming_both, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_hello h;
	struct rp_answer a;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = sock_connect(d.sock);
	hello_init(&h, &r, "future", "tests", 0);
	h.version = 99;
	hello_send(fd, &h, NULL, r.memfd);
	answer_read(fd, &a);
	refusal_check(&d, &a, -EPROTONOSUPPORT, "?",
		      "unsupported protocol version 99 (this daemon speaks version 1)");
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, refuses_a_memfd_not_sealed_against_shrinking, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "unsealed", "tests", &a);
	refusal_check(&d, &a, -EINVAL, "unsealed",
		      "memfd is not sealed against shrinking (F_SEAL_SHRINK missing)");
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, refuses_a_memfd_shorter_than_its_header_says, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	char reason[RP_REASON_MAX];
	size_t full;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 4096);
	full = r.hdr->region_size;
	fd = client_register(&d, &r, "short", "tests", &a);
	snprintf(reason, sizeof(reason), "region header says %zu bytes, the memfd has 4096", full);
	refusal_check(&d, &a, -EINVAL, "short", reason);
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, refuses_a_hello_whose_pid_is_not_the_peer, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_hello h;
	struct rp_answer a;
	char reason[RP_REASON_MAX];
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = sock_connect(d.sock);
	hello_init(&h, &r, "liar", "tests", 0);
	h.pid = (uint32_t)getpid() + 1;
	hello_send(fd, &h, NULL, r.memfd);
	answer_read(fd, &a);
	snprintf(reason, sizeof(reason), "pid %u in the hello differs from the peer pid %d",
		 (unsigned)getpid() + 1, (int)getpid());
	refusal_check(&d, &a, -EPERM, "liar", reason);
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, survives_garbage_bytes_then_close, .timeout = 60)
{
	struct daemon d;
	int fd;

	daemon_start(&d, NULL);
	fd = sock_connect(d.sock);
	cr_assert_eq(send(fd, "GARBAGE!!", 9, MSG_NOSIGNAL), 9);
	close(fd);
	/* "GARB" read as a little-endian u32 */
	log_wait(&d, "bad hello magic 0x42524147");
	good_client_check(&d, "after");
	cr_assert_eq(log_count(&d, "refused"), 1);
	daemon_stop(&d);
}

Test(daemon, stalled_handshake_does_not_stop_others_and_times_out, .timeout = 60)
{
	struct daemon d;
	struct rp_answer a;
	char line[160];
	int stalled, partial;

	daemon_start(&d, NULL);
	stalled = sock_connect(d.sock);
	partial = sock_connect(d.sock);
	cr_assert_geq(stalled, 0);
	/* a third of a hello, then nothing */
	cr_assert_eq(send(partial, "RPHL\1\0\310\0", 8, MSG_NOSIGNAL), 8);
	good_client_check(&d, "meanwhile");
	answer_read(stalled, &a);
	cr_assert_eq(a.status, -ETIMEDOUT);
	cr_assert_str_eq(a.reason, "handshake not completed within 2000 ms");
	answer_read(partial, &a);
	cr_assert_eq(a.status, -ETIMEDOUT);
	snprintf(line, sizeof(line), "refused pid %d (?): handshake not completed within 2000 ms",
		 (int)getpid());
	log_wait_n(&d, line, 2);
	cr_assert_eq(log_count(&d, "refused"), 2);
	close(stalled);
	close(partial);
	daemon_stop(&d);
}

Test(daemon, sigterm_drains_and_seals_every_segment, .timeout = 60)
{
	struct daemon d;
	struct region r[2];
	struct rp_answer a[2];
	struct names n[2];
	int fd[2];

	daemon_start(&d, NULL);
	for (int i = 0; i < 2; i++) {
		region_make(&r[i], F_SEAL_SHRINK | F_SEAL_GROW, 0);
		fd[i] = client_register(&d, &r[i], i ? "two" : "one", "tests", &a[i]);
		cr_assert_eq(a[i].status, 0, "refused: %s", a[i].reason);
		names_intern(&r[i], &n[i]);
		ring_claim(&r[i], 1, 200 + (uint32_t)i, 1);
		record_five(&r[i], 1, &n[i], 5000);
	}
	/* left published but undrained as far as the test knows, threads live */
	daemon_terminate(&d);
	for (int i = 0; i < 2; i++) {
		char *path = seg_path(&d, "tests", i ? "two" : "one", a[i].client_id, 0);
		char *five = five_text(1, 5000), *expected;

		cr_assert_geq(asprintf(&expected,
			"header pid=%d client=%u seq=0 name=%s session=tests cmdline=cc -c x.c \n"
			"thread start 1 tid=%d slot=1\n"
			"%s"
			"loss 1 written=5 client_dropped=0 daemon_dropped=0\n"
			"footer events=5 threads=1 reason=%u\n",
			(int)getpid(), a[i].client_id, i ? "two" : "one", 200 + i, five,
			RP_SEG_END_SHUTDOWN), 0);
		seg_expect(path, expected);
		free(expected);
		free(five);
		free(path);
		close(fd[i]);
		region_free(&r[i]);
	}
	cr_assert_eq(log_count(&d, "stopped"), 1);
	daemon_stop(&d);
}

Test(daemon, quarantines_a_client_scribbling_its_head, .timeout = 60)
{
	struct daemon d;
	struct region bad, good;
	struct rp_answer a, b;
	struct names nb, ng;
	char *path, *five, *expected, line[200];
	int fbad, fgood;

	daemon_start(&d, NULL);
	region_make(&bad, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	region_make(&good, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fbad = client_register(&d, &bad, "hostile", "tests", &a);
	fgood = client_register(&d, &good, "honest", "tests", &b);
	cr_assert_eq(a.status, 0);
	cr_assert_eq(b.status, 0);
	names_intern(&bad, &nb);
	names_intern(&good, &ng);
	ring_claim(&bad, 0, 301, 1);
	ring_claim(&good, 0, 302, 1);
	record_five(&bad, 0, &nb, 100);
	ring_wait_drained(&bad, 0);

	/* half a record past the tail: not a multiple of 16 */
	rp_store_release(&region_ctl(&bad, 0)->head, bad.head[0] + 8);
	snprintf(line, sizeof(line),
		 "quarantined client %u pid %d (hostile): ring 0: head %llu invalid "
		 "(tail %llu, ring 4096 bytes)", a.client_id, (int)getpid(),
		 (unsigned long long)bad.head[0] + 8, (unsigned long long)bad.head[0]);
	log_wait(&d, line);
	path = seg_path(&d, "tests", "hostile", a.client_id, 0);
	seg_wait_sealed(path);
	five = five_text(1, 100);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=0 name=hostile session=tests cmdline=cc -c x.c \n"
		"thread start 1 tid=301 slot=0\n"
		"%s"
		"loss 1 written=5 client_dropped=0 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)getpid(), a.client_id, five, RP_SEG_END_QUARANTINE), 0);
	seg_expect(path, expected);
	free(expected);
	free(five);
	free(path);

	/* the honest client goes on recording after the quarantine */
	record_five(&good, 0, &ng, 7000);
	ring_retire(&good, 0, 0);
	ring_wait_free(&good, 0);
	close(fgood);
	path = seg_path(&d, "tests", "honest", b.client_id, 0);
	seg_wait_sealed(path);
	five = five_text(1, 7000);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=0 name=honest session=tests cmdline=cc -c x.c \n"
		"thread start 1 tid=302 slot=0\n"
		"%s"
		"thread end 1 tid=302 slot=0\n"
		"loss 1 written=5 client_dropped=0 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)getpid(), b.client_id, five, RP_SEG_END_EXIT), 0);
	seg_expect(path, expected);
	free(expected);
	free(five);
	free(path);
	cr_assert_eq(log_count(&d, "quarantined"), 1);
	close(fbad);
	region_free(&bad);
	region_free(&good);
	daemon_stop(&d);
}

Test(daemon, quarantines_a_record_with_an_undefined_string_id, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	char *path, line[200];
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "undef", "tests", &a);
	cr_assert_eq(a.status, 0);
	region_intern(&r, "Query");
	ring_claim(&r, 0, 7, 1);
	ring_put(&r, 0, RP_REC_INSTANT, 1, 0, 10);
	ring_put(&r, 0, RP_REC_INSTANT, 9, 0, 20);
	ring_publish(&r, 0);
	snprintf(line, sizeof(line), "quarantined client %u pid %d (undef): ring 0: undefined "
		 "string id 9", a.client_id, (int)getpid());
	log_wait(&d, line);
	path = seg_path(&d, "tests", "undef", a.client_id, 0);
	seg_wait_sealed(path);
	{
		char *expected;

		cr_assert_geq(asprintf(&expected,
			"header pid=%d client=%u seq=0 name=undef session=tests cmdline=cc -c x.c \n"
			"thread start 1 tid=7 slot=0\n"
			"event 1 INSTANT Query - 10\n"
			"loss 1 written=1 client_dropped=0 daemon_dropped=0\n"
			"footer events=1 threads=1 reason=%u\n",
			(int)getpid(), a.client_id, RP_SEG_END_QUARANTINE), 0);
		seg_expect(path, expected);
		free(expected);
	}
	free(path);
	good_client_check(&d, "after");
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

static char tree[4096];
static size_t tree_len;
static size_t tree_root;

static int tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	tree_len += (size_t)snprintf(tree + tree_len, sizeof(tree) - tree_len, "%s\n",
				     path + tree_root);
	return 0;
}

Test(daemon, keeps_hostile_names_inside_the_state_directory, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	char *expected;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "../../etc", "a/b/../..", &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	close(fd);
	{
		char *path = seg_path(&d, "a_b_.._..", "_._.._etc", a.client_id, 0);
		seg_wait_sealed(path);
		free(path);
	}
	tree_len = 0;
	tree_root = strlen(d.dir);
	cr_assert_eq(nftw(d.dir, tree_entry, 16, FTW_PHYS), 0);
	cr_assert_geq(asprintf(&expected,
		"\n/log\n/sock\n/state\n/state/a_b_.._..\n/state/a_b_.._../_._.._etc-%d-%u-0.rpseg\n",
		(int)getpid(), a.client_id), 0);
	/* nftw order within a directory is readdir order: compare sorted */
	{
		char *lines[16], *got[16], *save = NULL, *copy = strdup(tree), *exp = strdup(expected);
		int n = 0, m = 0;

		for (char *l = strtok_r(copy, "\n", &save); l && n < 16; l = strtok_r(NULL, "\n", &save))
			got[n++] = l;
		for (char *l = strtok_r(exp, "\n", &save); l && m < 16; l = strtok_r(NULL, "\n", &save))
			lines[m++] = l;
		cr_assert_eq(n, m, "tree:\n%s", tree);
		for (int i = 0; i < m; i++) {
			bool found = false;
			for (int j = 0; j < n; j++)
				found |= strcmp(lines[i], got[j]) == 0;
			cr_assert(found, "missing %s in tree:\n%s", lines[i], tree);
		}
		free(copy);
		free(exp);
	}
	free(expected);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, sighup_rotates_and_redefines_strings, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct names n;
	char *p0, *p1, *five0, *five1, *expected;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "rot", "tests", &a);
	cr_assert_eq(a.status, 0);
	names_intern(&r, &n);
	ring_claim(&r, 0, 55, 1);
	record_five(&r, 0, &n, 100);
	ring_wait_drained(&r, 0);
	kill(d.pid, SIGHUP);
	p0 = seg_path(&d, "tests", "rot", a.client_id, 0);
	seg_wait_sealed(p0);
	record_five(&r, 0, &n, 900);
	ring0_close(&r, fd);
	p1 = seg_path(&d, "tests", "rot", a.client_id, 1);
	seg_wait_sealed(p1);

	five0 = five_text(1, 100);
	five1 = five_text(1, 900);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=0 name=rot session=tests cmdline=cc -c x.c \n"
		"thread start 1 tid=55 slot=0\n"
		"%s"
		"loss 1 written=5 client_dropped=0 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)getpid(), a.client_id, five0, RP_SEG_END_ROTATE), 0);
	seg_expect(p0, expected);
	free(expected);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=1 name=rot session=tests cmdline=cc -c x.c \n"
		"thread start 1 tid=55 slot=0\n"
		"%s"
		"thread end 1 tid=55 slot=0\n"
		"loss 1 written=10 client_dropped=0 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)getpid(), a.client_id, five1, RP_SEG_END_EXIT), 0);
	seg_expect(p1, expected);
	free(expected);
	free(five0);
	free(five1);
	free(p0);
	free(p1);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, rejects_bad_option_values_with_status_2, .timeout = 30)
{
	static const char *const args[] = { "--tick-ms", "0", NULL };

	run_expect_exit(args, 2, "ringprofd: --tick-ms: invalid value '0' (expected 1..1000)\n");
}

Test(daemon, drains_across_ring_wraps_and_slot_reuse_exactly, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	uint32_t query, key;
	char *path, *expected;
	size_t len;
	FILE *out;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "wrap", "tests", &a);
	cr_assert_eq(a.status, 0);
	query = region_intern(&r, "Query");
	key = region_intern(&r, "key");

	/* 1000 events = 16000 bytes through a 4096-byte ring */
	ring_claim(&r, 0, 11, 1);
	for (uint64_t i = 0; i < 1000; i += 50) {
		for (uint64_t k = i; k < i + 50; k++)
			ring_put(&r, 0, RP_REC_INSTANT, query, k % 2 ? key : 0, 1000 + k * 3);
		ring_publish(&r, 0);
		ring_wait_drained(&r, 0);
	}
	ring_retire(&r, 0, 3);
	ring_wait_free(&r, 0);

	/* the slot's next owner: drops count from the previous owner's total */
	ring_claim(&r, 0, 12, 2);
	for (uint64_t k = 0; k < 10; k++)
		ring_put(&r, 0, RP_REC_BEGIN, key, 0, 90000 - k);
	ring_publish(&r, 0);
	ring_retire(&r, 0, 7);
	ring_wait_free(&r, 0);
	close(fd);

	out = open_memstream(&expected, &len);
	fprintf(out, "header pid=%d client=%u seq=0 name=wrap session=tests cmdline=cc -c x.c \n",
		(int)getpid(), a.client_id);
	fprintf(out, "thread start 1 tid=11 slot=0\n");
	for (uint64_t k = 0; k < 1000; k++)
		fprintf(out, "event 1 INSTANT Query %s %llu\n", k % 2 ? "key" : "-",
			(unsigned long long)(1000 + k * 3));
	fprintf(out, "thread end 1 tid=11 slot=0\n"
		"loss 1 written=1000 client_dropped=3 daemon_dropped=0\n"
		"thread start 2 tid=12 slot=0\n");
	for (uint64_t k = 0; k < 10; k++)
		fprintf(out, "event 2 BEGIN key - %llu\n", (unsigned long long)(90000 - k));
	fprintf(out, "thread end 2 tid=12 slot=0\n"
		"loss 2 written=10 client_dropped=4 daemon_dropped=0\n"
		"footer events=1010 threads=2 reason=%u\n", RP_SEG_END_EXIT);
	fclose(out);
	path = seg_path(&d, "tests", "wrap", a.client_id, 0);
	seg_wait_sealed(path);
	seg_expect(path, expected);
	free(expected);
	free(path);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, refuses_clients_beyond_max_clients, .timeout = 60)
{
	static const char *const args[] = { "--max-clients", "1", NULL };
	struct daemon d;
	struct region r1, r2;
	struct rp_answer a1, a2;
	int f1, f2;

	daemon_start(&d, args);
	region_make(&r1, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	region_make(&r2, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	f1 = client_register(&d, &r1, "first", "tests", &a1);
	cr_assert_eq(a1.status, 0);
	f2 = client_register(&d, &r2, "second", "tests", &a2);
	cr_assert_eq(a2.status, -EUSERS);
	cr_assert_str_eq(a2.reason, "too many clients (limit 1)");
	close(f1);
	close(f2);
	/* the slot is given back when the first client goes */
	{
		char *path = seg_path(&d, "tests", "first", a1.client_id, 0);
		seg_wait_sealed(path);
		free(path);
	}
	good_client_check(&d, "after");
	cr_assert_eq(log_count(&d, "refused"), 1);
	region_free(&r1);
	region_free(&r2);
	daemon_stop(&d);
}

/* Child side of the SIGKILL test: register the inherited region under the
 * child's own pid, report the answer through a pipe, wait to be killed.
 * No assertions here: failures show as a short read in the parent. */
static void killed_child(const struct daemon *d, const struct region *r, int report)
{
	struct rp_hello h;
	struct rp_answer a;
	int fd = sock_connect(d->sock);

	if (fd < 0)
		_exit(1);
	hello_init(&h, r, "victim", "tests", 0);
	hello_send(fd, &h, NULL, r->memfd);
	if (recv(fd, &a, sizeof(a), MSG_WAITALL) != (ssize_t)sizeof(a))
		_exit(1);
	if (write(report, &a, sizeof(a)) != (ssize_t)sizeof(a))
		_exit(1);
	for (;;)
		pause();
}

Test(daemon, keeps_everything_a_killed_client_committed, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct names n;
	char *path, *five, *expected;
	int report[2], status;
	pid_t child;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	cr_assert_eq(pipe(report), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		killed_child(&d, &r, report[1]);
	close(report[1]);
	cr_assert_eq(read(report[0], &a, sizeof(a)), (ssize_t)sizeof(a), "child did not register");
	close(report[0]);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);

	/* the region is shared with the child: record as if it were the child,
	 * publish, and kill it at once without waiting for a drain */
	names_intern(&r, &n);
	ring_claim(&r, 1, 4242, 1);
	record_five(&r, 1, &n, 300);
	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, &status, 0), child);

	path = seg_path_pid(&d, "tests", "victim", child, a.client_id, 0);
	seg_wait_sealed(path);
	five = five_text(1, 300);
	cr_assert_geq(asprintf(&expected,
		"header pid=%d client=%u seq=0 name=victim session=tests cmdline=\n"
		"thread start 1 tid=4242 slot=1\n"
		"%s"
		"thread end 1 tid=4242 slot=1\n"
		"loss 1 written=5 client_dropped=0 daemon_dropped=0\n"
		"footer events=5 threads=1 reason=%u\n",
		(int)child, a.client_id, five, RP_SEG_END_EXIT), 0);
	seg_expect(path, expected);
	free(expected);
	free(five);
	free(path);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, drains_a_lossless_client_poked_through_its_eventfd, .timeout = 60)
{
	static const char *const args[] = { "--tick-ms", "1000", NULL };
	struct daemon d;
	struct region r;
	struct rp_hello h;
	struct rp_answer a;
	struct pollfd p;
	struct names n;
	uint64_t end;
	int fd, fds[2];

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	r.hdr->flags = RP_SHM_F_LOSSLESS;
	fds[0] = r.memfd;
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(fds[1], 0);
	fd = sock_connect(d.sock);
	hello_init(&h, &r, "lossless", "tests", 0);
	h.flags = RP_HELLO_F_LOSSLESS | RP_HELLO_F_EVENTFD;
	hello_send_fds(fd, &h, NULL, fds, 2);
	answer_read(fd, &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);

	names_intern(&r, &n);
	ring_claim(&r, 0, 9, 1);
	record_five(&r, 0, &n, 10);
	cr_assert_eq(eventfd_write(fds[1], 1), 0);
	/* the daemon consumes the poke, then the ring is drained */
	p = (struct pollfd){ .fd = fds[1], .events = POLLIN };
	end = now_ms() + WAIT_MS;
	while (poll(&p, 1, 0) == 1) {
		cr_assert_leq(now_ms(), end, "eventfd never read by ringprofd");
		nap();
	}
	ring_wait_drained(&r, 0);
	/* pairs with the release of daemon_heartbeat in the daemon's drain */
	cr_assert_neq(rp_load_acquire(&r.hdr->daemon_heartbeat), 0);
	close(fd);
	close(fds[1]);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, refuses_a_second_descriptor_that_is_not_an_eventfd, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_hello h;
	struct rp_answer a;
	int fd, fds[2];

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fds[0] = fds[1] = r.memfd;
	fd = sock_connect(d.sock);
	hello_init(&h, &r, "twofd", "tests", 0);
	h.flags = RP_HELLO_F_EVENTFD;
	hello_send_fds(fd, &h, NULL, fds, 2);
	answer_read(fd, &a);
	refusal_check(&d, &a, -EINVAL, "twofd", "second file descriptor is not an eventfd");
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

/* Keep only the event lines of a decoded segment, appending to out. */
static void event_lines(const char *text, FILE *out)
{
	for (const char *l = text; *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);

		if (strncmp(l, "event ", 6) == 0)
			fwrite(l, 1, n, out);
		l += n;
	}
}

Test(daemon, rotates_by_size_and_loses_nothing_across_segments, .timeout = 60)
{
	static const char *const args[] = { "--rotate-size", "4K", "--flush-ms", "1", NULL };
	struct daemon d;
	struct region r;
	struct rp_answer a;
	uint32_t ids[8];
	uint64_t ts = 0, x = 1;
	char *expected, *got, line[128];
	size_t elen, glen;
	FILE *exp, *out;
	uint32_t seq, closed = 0;
	int fd;

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "big", "tests", &a);
	cr_assert_eq(a.status, 0);
	for (int i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "kind-%d", i);
		ids[i] = region_intern(&r, line);
	}
	exp = open_memstream(&expected, &elen);
	ring_claim(&r, 0, 77, 1);
	/* poorly compressible timestamps so that segments fill up */
	for (int b = 0; b < 60; b++) {
		for (int k = 0; k < 100; k++) {
			uint32_t kind = ids[(x >> 7) % 8];

			x = x * 6364136223846793005ull + 1442695040888963407ull;
			ts += (x >> 40) & 0xfffff;
			ring_put(&r, 0, RP_REC_INSTANT, kind, 0, ts);
			fprintf(exp, "event 1 INSTANT kind-%u - %llu\n", kind - 1,
				(unsigned long long)ts);
		}
		ring_publish(&r, 0);
		ring_wait_drained(&r, 0);
	}
	fclose(exp);
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (big) gone", a.client_id, (int)getpid());
	log_wait(&d, line);

	/* every segment sealed; all but the last by rotation; each defines the
	 * strings its events use (seg_decode resolves them locally) */
	out = open_memstream(&got, &glen);
	for (seq = 0;; seq++) {
		char *path = seg_path(&d, "tests", "big", a.client_id, seq);
		char *text, *next, reason[96];

		if (access(path, F_OK) != 0) {
			free(path);
			break;
		}
		seg_wait_sealed(path);
		text = seg_decode(path);
		next = seg_path(&d, "tests", "big", a.client_id, seq + 1);
		/* LOSS counters are cumulative: the last segment that has any
		 * for the thread must show all of its events */
		if (strstr(text, "loss 1 ") != NULL)
			closed = strstr(text, "loss 1 written=6000 client_dropped=0 "
				       "daemon_dropped=0\n") != NULL;
		if (access(next, F_OK) == 0) {
			snprintf(reason, sizeof(reason), "reason=%u\n", RP_SEG_END_ROTATE);
		} else {
			/* a rotation held back by the open-segment limit may run after
			 * the thread ended: then the last segment is empty */
			cr_assert(strstr(text, "loss 1 ") != NULL ||
				  strstr(text, "footer events=0 threads=0 ") != NULL,
				  "segment %u:\n%s", seq, text);
			snprintf(reason, sizeof(reason), "reason=%u\n", RP_SEG_END_EXIT);
		}
		cr_assert_not_null(strstr(text, reason), "segment %u:\n%s", seq, text);
		event_lines(text, out);
		free(next);
		free(text);
		free(path);
	}
	fclose(out);
	cr_assert_eq(closed, 1, "the thread's last LOSS does not count 6000 written");
	cr_assert_geq(seq, 3, "only %u segments", seq);
	cr_assert_str_eq(got, expected);
	free(got);
	free(expected);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, never_overwrites_an_existing_segment_file, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	char *dir, *old, *path;
	size_t len;
	int fd;

	daemon_start(&d, NULL);
	/* what an earlier daemon could have left for this pid, name and id 1 */
	cr_assert_geq(asprintf(&dir, "%s/tests", d.state), 0);
	cr_assert_eq(mkdir(dir, 0750), 0);
	old = seg_path(&d, "tests", "again", 1, 0);
	fd = open(old, O_WRONLY | O_CREAT | O_EXCL, 0640);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "old", 3), 3);
	close(fd);

	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "again", "tests", &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	cr_assert_eq(a.client_id, 1);
	close(fd);
	path = seg_path(&d, "tests", "again", 1, 1);
	seg_wait_sealed(path);
	{
		char *text = seg_decode(path), *want;

		cr_assert_geq(asprintf(&want, "header pid=%d client=1 seq=1 name=again "
				       "session=tests cmdline=cc -c x.c \nfooter events=0 "
				       "threads=0 reason=%u\n", (int)getpid(), RP_SEG_END_EXIT), 0);
		cr_assert_str_eq(text, want);
		free(want);
		free(text);
	}
	{
		char *data = slurp(old, &len);

		cr_assert_eq(len, 3);
		cr_assert_eq(memcmp(data, "old", 3), 0);
		free(data);
	}
	free(path);
	free(old);
	free(dir);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon, fails_clearly_when_io_uring_is_refused, .timeout = 30)
{
	const char *argv[] = { build_path("daemon/ringprofd"), "--socket", "/nonexistent/sock",
			       NULL };
	int out[2], status;
	char buf[256] = { 0 };
	pid_t pid;

	cr_assert_eq(pipe(out), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* io_uring_setup fails with EPERM, as under a locked-down policy */
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

		dup2(out[1], STDERR_FILENO);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	cr_assert_geq(read(out[0], buf, sizeof(buf) - 1), 0);
	close(out[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x", status);
	cr_assert_str_eq(buf, "ringprofd: io_uring unavailable: Operation not permitted\n");
}

/* ==== hostile input, disk and access (suite daemon_hostile) ==== */

#define NOBODY 65534u

/* In a child: become uid NOBODY with supplementary group `group` (0: none),
 * make a region, register it and return the answer through a pipe. */
static void register_as_nobody(const struct daemon *d, gid_t group, struct rp_answer *a)
{
	int report[2], status;
	pid_t pid;

	cr_assert_eq(pipe(report), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static const char cmdline[] = "cc";
		struct rp_hello h;
		struct region r;
		struct rp_answer ans;
		int fd;

		if (setgroups(group ? 1 : 0, &group) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) != 0)
			_exit(2);
		region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
		fd = sock_connect(d->sock);
		if (fd < 0)
			_exit(3);
		hello_init(&h, &r, "nobody", "tests", sizeof(cmdline));
		hello_send(fd, &h, cmdline, r.memfd);
		if (recv(fd, &ans, sizeof(ans), MSG_WAITALL) != (ssize_t)sizeof(ans) ||
		    write(report[1], &ans, sizeof(ans)) != (ssize_t)sizeof(ans))
			_exit(4);
		close(fd);
		_exit(0);
	}
	close(report[1]);
	cr_assert_eq(read(report[0], a, sizeof(*a)), (ssize_t)sizeof(*a), "child did not register");
	close(report[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0);
}

Test(daemon_hostile, allow_users_refuses_others_with_the_reason, .timeout = 60)
{
	static const char *const args[] = { "--allow-users", "nobody,daemon", "--socket-mode",
					     "0666", NULL };
	struct daemon d;
	struct region r;
	struct rp_answer a;
	char line[200];
	int fd;

	cr_assert_eq(geteuid(), 0, "this test switches users: run it as root");
	daemon_start(&d, args);
	cr_assert_eq(chmod(d.dir, 0755), 0);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "root", "tests", &a);
	cr_assert_eq(a.status, -EACCES);
	cr_assert_str_eq(a.reason, "uid 0 (root) is not in allow-users");
	snprintf(line, sizeof(line), "refused pid %d (root): uid 0 (root) is not in allow-users",
		 (int)getpid());
	log_wait(&d, line);
	close(fd);
	region_free(&r);
	register_as_nobody(&d, 0, &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	cr_assert_eq(log_count(&d, "refused"), 1);
	daemon_stop(&d);
}

Test(daemon_hostile, allow_groups_checks_supplementary_groups, .timeout = 60)
{
	static const char *const args[] = { "--allow-groups", "4242", "--socket-mode", "0666", NULL };
	struct daemon d;
	struct region r;
	struct rp_answer a;
	int fd;

	cr_assert_eq(geteuid(), 0, "this test switches users: run it as root");
	daemon_start(&d, args);
	cr_assert_eq(chmod(d.dir, 0755), 0);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = client_register(&d, &r, "root", "tests", &a);
	cr_assert_eq(a.status, -EACCES);
	cr_assert_str_eq(a.reason, "uid 0 (root): none of its groups is in allow-groups");
	close(fd);
	region_free(&r);
	/* primary group nogroup, supplementary 4242 */
	register_as_nobody(&d, 4242, &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	register_as_nobody(&d, 4243, &a);
	cr_assert_eq(a.status, -EACCES);
	cr_assert_str_eq(a.reason, "uid 65534 (nobody): none of its groups is in allow-groups");
	/* the daemon answers, then logs */
	log_wait_n(&d, "refused", 2);
	cr_assert_eq(log_count(&d, "refused"), 2);
	daemon_stop(&d);
}

Test(daemon_hostile, unknown_users_and_groups_stop_the_start_up, .timeout = 30)
{
	static const char *const users[] = { "--socket", "/tmp/rp-none/s", "--state-dir",
					     "/tmp/rp-hostile-unknown", "--allow-users",
					     "root,no-such-user-rp", NULL };
	static const char *const groups[] = { "--socket", "/tmp/rp-none/s", "--state-dir",
					      "/tmp/rp-hostile-unknown", "--allow-groups",
					      "no-such-group-rp", NULL };
	static const char *const sgroup[] = { "--socket", "/tmp/rp-hostile-unknown/s",
					      "--state-dir", "/tmp/rp-hostile-unknown",
					      "--socket-group", "no-such-group-rp", NULL };

	run_expect_exit(users, 1, "ringprofd: --allow-users: unknown user 'no-such-user-rp'\n");
	run_expect_exit(groups, 1, "ringprofd: --allow-groups: unknown group 'no-such-group-rp'\n");
	run_expect_exit(sgroup, 1, "ringprofd: --socket-group: unknown group 'no-such-group-rp'\n");
	rmdir("/tmp/rp-hostile-unknown");
}

Test(daemon_hostile, socket_directories_and_segments_get_their_modes, .timeout = 60)
{
	static const char *const args[] = { "--socket-group", "65534", "--socket-mode", "0620", NULL };
	struct daemon d;
	struct stat st;
	char *path;

	daemon_start(&d, args);
	cr_assert_eq(stat(d.sock, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0620, "socket mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_gid, NOBODY);
	good_client_check(&d, "modes");
	cr_assert_eq(stat(d.state, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0750, "state mode %o", st.st_mode & 07777);
	cr_assert_geq(asprintf(&path, "%s/tests", d.state), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0750, "session mode %o", st.st_mode & 07777);
	free(path);
	path = seg_path(&d, "tests", "modes", 1, 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "segment mode %o", st.st_mode & 07777);
	free(path);
	daemon_stop(&d);
}

Test(daemon_hostile, runs_as_an_unprivileged_user, .timeout = 60)
{
	struct daemon d;
	struct stat st;
	char *path;

	cr_assert_eq(geteuid(), 0, "this test switches users: run it as root");
	daemon_dirs(&d);
	cr_assert_eq(chown(d.dir, NOBODY, NOBODY), 0);
	daemon_spawn(&d, NULL, NOBODY);
	cr_assert_eq(stat(d.sock, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY);
	good_client_check(&d, "unpriv");
	path = seg_path(&d, "tests", "unpriv", 1, 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY);
	cr_assert_eq(st.st_mode & 07777, 0640);
	free(path);
	daemon_stop(&d);
}

/* ---- reading back every segment of a session, as a recovering reader ---- */

#define TALLY_THREADS 8

struct tally {
	uint64_t events[TALLY_THREADS];       /* events read, per thread */
	struct rp_seg_loss loss[TALLY_THREADS]; /* latest (largest) LOSS */
	uint32_t files, sealed, cut;          /* cut: unsealed files */
	uint64_t bytes;
	uint32_t client;                      /* only this client; 0 = all */
};

/* Read every whole block of one segment; a file may end at a block
 * boundary without a footer (a write failed), never inside a block. */
static void tally_file(const char *path, struct tally *t)
{
	size_t size, off = sizeof(struct rp_seg_preamble);
	char *data = slurp(path, &size);
	struct rp_blockdec *dec;
	struct rp_buf payload = { 0 };
	bool sealed = false;

	cr_assert_not_null(data);
	t->files++;
	t->bytes += size;
	cr_assert_geq(size, sizeof(struct rp_seg_preamble), "%s: %zu bytes", path, size);
	cr_assert_eq(memcmp(data, RP_SEG_MAGIC, 8), 0);
	cr_assert_eq(rp_blockdec_open(&dec), 0);
	while (!sealed && off < size) {
		struct rp_block_hdr h;

		cr_assert_leq(off + sizeof(h), size, "%s: cut inside a block header at %zu", path, off);
		memcpy(&h, data + off, sizeof(h));
		cr_assert_eq(rp_block_hdr_check(&h), 0, "%s: bad block at %zu", path, off);
		cr_assert_leq(off + sizeof(h) + h.stored_len, size, "%s: cut block at %zu", path, off);
		cr_assert_eq(rp_blockdec_payload(dec, &h, data + off + sizeof(h), &payload), 0);
		if (h.type == RP_BLK_HEADER) {
			struct rp_seg_info info;

			memcpy(&info, payload.data, sizeof(info));
			if (t->client != 0 && info.client_id != t->client) {
				t->files--;
				t->bytes -= size;
				break;
			}
		}
		if (h.type == RP_BLK_EVENTS) {
			struct rp_evdec ed;
			struct rp_event ev;

			cr_assert_eq(rp_evdec_begin(&ed, payload.data, payload.len, h.count), 0);
			cr_assert_lt(ed.hdr.thread, TALLY_THREADS);
			while (rp_evdec_next(&ed, &ev) == 1)
				t->events[ed.hdr.thread]++;
		} else if (h.type == RP_BLK_LOSS) {
			for (uint32_t i = 0; i < h.count; i++) {
				struct rp_seg_loss l;

				memcpy(&l, payload.data + i * sizeof(l), sizeof(l));
				cr_assert_lt(l.thread, TALLY_THREADS);
				if (l.written + l.client_dropped + l.daemon_dropped >=
				    t->loss[l.thread].written + t->loss[l.thread].client_dropped +
				    t->loss[l.thread].daemon_dropped)
					t->loss[l.thread] = l;
			}
		} else if (h.type == RP_BLK_FOOTER) {
			sealed = true;
		}
		off += sizeof(h) + h.stored_len;
	}
	if (sealed)
		t->sealed++;
	else if (off == size)
		t->cut++;
	rp_buf_free(&payload);
	rp_blockdec_close(dec);
	free(data);
}

static void tally_session(const struct daemon *d, const char *session, struct tally *t,
			  uint32_t client)
{
	char dir[256], path[512];
	struct dirent *de;
	DIR *dp;

	memset(t, 0, sizeof(*t));
	t->client = client;
	snprintf(dir, sizeof(dir), "%s/%s", d->state, session);
	dp = opendir(dir);
	cr_assert_not_null(dp, "no session directory %s", dir);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		tally_file(path, t);
	}
	closedir(dp);
}

/* n poorly compressible INSTANT events into slot, published in batches
 * that fit the ring, each batch drained before the next. */
static void record_many(struct region *r, uint32_t slot, uint32_t id, uint64_t n, uint64_t *x)
{
	uint64_t batch = r->hdr->ring_bytes / RP_REC_BYTES;

	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < batch ? n - done : batch;

		for (uint64_t i = 0; i < k; i++) {
			*x = *x * 6364136223846793005ull + 1442695040888963407ull;
			ring_put(r, slot, RP_REC_INSTANT, id, 0, *x >> 20);
		}
		ring_publish(r, slot);
		ring_wait_drained(r, slot);
		done += k;
	}
}

/* Fill the file system of dir; returns the filler's path. */
static char *fill_disk(const char *dir)
{
	static char buf[65536];
	char *path;
	int fd;

	cr_assert_geq(asprintf(&path, "%s/filler", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	memset(buf, 0x5a, sizeof(buf));
	for (size_t n = sizeof(buf); n >= 1;) {
		if (write(fd, buf, n) < 0) {
			cr_assert_eq(errno, ENOSPC);
			n /= 2;
		}
	}
	close(fd);
	return path;
}

static uint32_t dir_count(const char *dir)
{
	struct dirent *de;
	uint32_t n = 0;
	DIR *dp = opendir(dir);

	cr_assert_not_null(dp);
	while ((de = readdir(dp)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dp);
	return n;
}

Test(daemon_hostile, a_full_disk_drops_counts_and_resumes_exactly, .timeout = 90)
{
	static const char *const args[] = { "--flush-ms", "1", NULL };
	const uint64_t before = 3000, during = 3000, after = 3000;
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct tally t;
	char *filler, session[256], line[200];
	uint64_t x = 7, end;
	uint32_t id, files;
	int fd;

	cr_assert_eq(geteuid(), 0, "mounting a small tmpfs needs root: run this test as root");
	daemon_dirs(&d);
	cr_assert_eq(mkdir(d.state, 0750), 0);
	/* a mount namespace of this test's own: a failed assertion cannot
	 * leave the tmpfs mounted behind */
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", d.state, "tmpfs", 0, "size=2m,mode=0750"), 0,
		     "mount tmpfs: %s", strerror(errno));
	daemon_spawn(&d, args, 0);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "full", "tests", 5, &a, &id);
	record_many(&r, 0, id, before, &x);
	snprintf(session, sizeof(session), "%s/tests", d.state);
	/* wait for the first events on disk, then leave no room */
	for (end = now_ms() + WAIT_MS;; nap()) {
		struct tally now;

		tally_session(&d, "tests", &now, 0);
		if (now.events[1] == before)
			break;
		cr_assert_leq(now_ms(), end, "first events never written");
	}
	filler = fill_disk(d.state);
	record_many(&r, 0, id, during, &x);
	log_wait(&d, "events are dropped and counted until writing works again");
	/* retried every second while full: nothing new stays behind */
	files = dir_count(session);
	record_many(&r, 0, id, during, &x);
	cr_assert_eq(unlink(filler), 0);
	log_wait(&d, "the disk takes data again");
	cr_assert_geq(dir_count(session), files + 1);
	record_many(&r, 0, id, after, &x);
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (full) gone", a.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);

	tally_session(&d, "tests", &t, 0);
	cr_assert_eq(t.loss[1].thread, 1);
	cr_assert_eq(t.loss[1].written, t.events[1], "LOSS says %llu written, %llu read back",
		     (unsigned long long)t.loss[1].written, (unsigned long long)t.events[1]);
	cr_assert_eq(t.loss[1].written + t.loss[1].daemon_dropped + t.loss[1].client_dropped,
		     before + 2 * during + after);
	cr_assert_eq(t.loss[1].client_dropped, 0);
	/* the slack of the file's last page may take a few blocks of the first
	 * batch; everything after the logged failure is dropped */
	cr_assert_geq(t.loss[1].daemon_dropped, during);
	cr_assert_geq(t.events[1], before + after);
	cr_assert_geq(t.cut, 1, "the segment that met the full disk ends cut, unsealed");
	cr_assert_eq(log_count(&d, "events are dropped and counted until writing works again"), 1);
	cr_assert_eq(log_count(&d, "the disk takes data again"), 1);
	cr_log_info("disk full: %llu committed, %llu written, %llu dropped, %u files",
		    (unsigned long long)(before + 2 * during + after),
		    (unsigned long long)t.loss[1].written,
		    (unsigned long long)t.loss[1].daemon_dropped, t.files);
	free(filler);
	region_free(&r);
	cr_assert_eq(umount(d.state), 0);
	daemon_stop(&d);
}

/* d->state on a 2 MiB tmpfs, in a mount namespace of this test's own: a
 * failed assertion cannot leave it mounted behind. */
static void state_on_small_tmpfs(struct daemon *d)
{
	cr_assert_eq(geteuid(), 0, "mounting a small tmpfs needs root: run this test as root");
	cr_assert_eq(mkdir(d->state, 0750), 0);
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", d->state, "tmpfs", 0, "size=2m,mode=0750"), 0,
		     "mount tmpfs: %s", strerror(errno));
}

/* True when no file of the session is shorter than its preamble (being
 * created). */
static bool session_is_readable(const struct daemon *d, const char *session)
{
	char dir[256], path[512];
	struct dirent *de;
	struct stat st;
	bool ok = true;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", d->state, session);
	dp = opendir(dir);
	cr_assert_not_null(dp, "no session directory %s", dir);
	while (ok && (de = readdir(dp)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ok = de->d_name[0] == '.' ||
		     (stat(path, &st) == 0 && st.st_size >= (off_t)sizeof(struct rp_seg_preamble));
	}
	closedir(dp);
	return ok;
}

/* Wait until the session holds want events of thread 1 on disk. */
static void wait_written(const struct daemon *d, const char *session, uint64_t want)
{
	for (uint64_t end = now_ms() + WAIT_MS;; nap()) {
		struct tally now;

		cr_assert_leq(now_ms(), end, "%llu events never written", (unsigned long long)want);
		if (!session_is_readable(d, session))
			continue;
		tally_session(d, session, &now, 0);
		if (now.events[1] == want)
			break;
		cr_assert_leq(now_ms(), end, "%llu events never written", (unsigned long long)want);
	}
}

Test(daemon_hostile, a_client_ending_on_a_full_disk_gets_its_counts_written_later,
     .timeout = 90)
{
	static const char *const args[] = { "--flush-ms", "1", NULL };
	const uint64_t before = 3000, during = 3000;
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct tally t;
	char *filler, line[200];
	uint64_t x = 5;
	uint32_t id;
	int fd;

	daemon_dirs(&d);
	state_on_small_tmpfs(&d);
	daemon_spawn(&d, args, 0);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "ends", "tests", 5, &a, &id);
	record_many(&r, 0, id, before, &x);
	wait_written(&d, "tests", before);
	filler = fill_disk(d.state);
	record_many(&r, 0, id, during, &x);
	log_wait(&d, "events are dropped and counted until writing works again");
	/* the thread and the client end while nothing can be written: its
	 * END and final LOSS are kept */
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (ends) ended while its segment could not "
		 "be written: the final counts of 1 threads are kept", a.client_id, (int)getpid());
	log_wait(&d, line);
	/* retried every second while the disk is full: kept, not written */
	nap_ms(1500);
	cr_assert_eq(log_count(&d, "final counts written to a segment of their own"), 0);
	cr_assert_eq(unlink(filler), 0);
	snprintf(line, sizeof(line), "client %u pid %d (ends): final counts written to a segment "
		 "of their own", a.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);

	tally_session(&d, "tests", &t, 0);
	cr_assert_eq(t.loss[1].thread, 1);
	cr_assert_eq(t.loss[1].written, t.events[1], "LOSS says %llu written, %llu read back",
		     (unsigned long long)t.loss[1].written, (unsigned long long)t.events[1]);
	cr_assert_eq(t.events[1] + t.loss[1].daemon_dropped + t.loss[1].client_dropped,
		     before + during);
	cr_assert_eq(t.loss[1].client_dropped, 0);
	/* the slack of the file's last page may take a few blocks */
	cr_assert_geq(t.events[1], before);
	cr_assert_gt(t.loss[1].daemon_dropped, 0);
	cr_assert_eq(log_count(&d, "counts not recorded in any segment"), 0);
	cr_assert_eq(log_count(&d, "ended while its segment could not be written"), 1);
	cr_log_info("ended on a full disk: %llu committed, %llu written, %llu dropped, %u files",
		    (unsigned long long)(before + during), (unsigned long long)t.events[1],
		    (unsigned long long)t.loss[1].daemon_dropped, t.files);
	free(filler);
	region_free(&r);
	cr_assert_eq(umount(d.state), 0);
	daemon_stop(&d);
}

Test(daemon_hostile, a_segment_that_cannot_be_opened_is_retried_and_its_drops_counted,
     .timeout = 90)
{
	static const char *const args[] = { "--flush-ms", "1", NULL };
	const uint64_t before = 2000, during = 2000, after = 2000;
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct tally t;
	char session[256], away[256], line[200];
	uint64_t x = 9;
	uint32_t id;
	int fd;

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "reopen", "tests", 5, &a, &id);
	record_many(&r, 0, id, before, &x);
	wait_written(&d, "tests", before);
	/* the session directory becomes a file (root is not stopped by
	 * modes): the segment of the next rotation cannot be created */
	snprintf(session, sizeof(session), "%s/tests", d.state);
	snprintf(away, sizeof(away), "%s/tests.away", d.state);
	cr_assert_eq(rename(session, away), 0);
	write_text(session, "not a directory\n");
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	snprintf(line, sizeof(line), "client %u: no segment after rotation", a.client_id);
	log_wait(&d, line);
	record_many(&r, 0, id, during, &x);
	/* at least one retry fails too, without a new log line */
	nap_ms(1300);
	cr_assert_eq(log_count(&d, "no segment after rotation"), 1);
	cr_assert_eq(log_count(&d, "Not a directory"), 1);
	cr_assert_eq(unlink(session), 0);
	cr_assert_eq(rename(away, session), 0);
	/* the next retry opens a segment */
	for (uint64_t end = now_ms() + WAIT_MS; dir_count(session) < 2; nap())
		cr_assert_leq(now_ms(), end, "no segment after the directory came back");
	record_many(&r, 0, id, after, &x);
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (reopen) gone", a.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);

	tally_session(&d, "tests", &t, 0);
	cr_assert_eq(t.files, 2);
	cr_assert_eq(t.sealed, 2);
	cr_assert_eq(t.loss[1].written, t.events[1]);
	cr_assert_eq(t.events[1], before + after);
	cr_assert_eq(t.loss[1].daemon_dropped, during);
	cr_assert_eq(t.loss[1].client_dropped, 0);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon_hostile, retention_gives_back_session_quota_bytes, .timeout = 60)
{
	static const char *const args[] = { "--session-quota", "64K", "--retain-bytes", "32K",
					    "--flush-ms", "1", NULL };
	const uint64_t n = 40000, m = 2000;
	struct daemon d;
	struct region r, other;
	struct rp_answer a, b;
	struct tally t;
	char line[200];
	uint64_t x = 13;
	uint32_t id;
	int fd, fo;

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "quota", "kept", 8, &a, &id);
	record_many(&r, 0, id, n, &x);
	log_wait(&d, "session kept reached its quota of 65536 bytes (--session-quota)");
	ring0_close(&r, fd);
	/* sealed: retention removes it (the session is over 32K), and the
	 * quota counts its bytes no more */
	log_wait(&d, "retention: removed");
	log_wait(&d, "session kept: ");
	cr_assert_eq(log_count(&d, "under its quota again"), 1);
	region_make(&other, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fo = client_register(&d, &other, "quota2", "kept", &b);
	cr_assert_eq(b.status, 0);
	id = region_intern(&other, "Query");
	ring_claim(&other, 0, 9, 1);
	record_many(&other, 0, id, m, &x);
	ring_retire(&other, 0, 0);
	ring_wait_free(&other, 0);
	close(fo);
	snprintf(line, sizeof(line), "client %u pid %d (quota2) gone", b.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);
	tally_session(&d, "kept", &t, b.client_id);
	cr_assert_eq(t.events[1], m);
	cr_assert_eq(t.loss[1].written, m);
	cr_assert_eq(t.loss[1].daemon_dropped, 0);
	cr_assert_eq(log_count(&d, "reached its quota"), 1);
	region_free(&r);
	region_free(&other);
	daemon_stop(&d);
}

/* Segment files the daemon has open now. */
static uint32_t daemon_open_segments(const struct daemon *d)
{
	char dir[64], path[384], target[512];
	struct dirent *de;
	uint32_t n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)d->pid);
	dp = opendir(dir);
	cr_assert_not_null(dp);
	while ((de = readdir(dp)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += len > (ssize_t)strlen(RP_SEG_SUFFIX) &&
		     strcmp(target + len - strlen(RP_SEG_SUFFIX), RP_SEG_SUFFIX) == 0;
	}
	closedir(dp);
	return n;
}

Test(daemon_hostile, sighup_rotation_keeps_to_the_open_segment_limit, .timeout = 120)
{
	static const char *const args[] = { "--flush-ms", "1", "--rotate-size", "4096", NULL };
	const uint32_t rounds = 300, batch = T_RING_BYTES / RP_REC_BYTES;
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct tally t;
	char line[200];
	uint64_t x = 17;
	uint32_t id, open, most = 0;
	int fd;

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "hup", "tests", 5, &a, &id);
	/* a burst, a SIGHUP after every ring full, and rotations by size in
	 * between: segments are sealed faster than their data and fdatasync
	 * reach the disk */
	for (uint32_t k = 0; k < rounds; k++) {
		for (uint32_t i = 0; i < batch; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			ring_put(&r, 0, RP_REC_INSTANT, id, 0, x >> 20);
		}
		ring_publish(&r, 0);
		cr_assert_eq(kill(d.pid, SIGHUP), 0);
		open = daemon_open_segments(&d);
		most = open > most ? open : most;
		ring_wait_drained(&r, 0);
		open = daemon_open_segments(&d);
		most = open > most ? open : most;
	}
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (hup) gone", a.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);
	cr_assert_leq(most, 4u /* RPD_CLIENT_SEGS_MAX */, "%u segments open at once", most);
	tally_session(&d, "tests", &t, 0);
	cr_assert_eq(t.sealed, t.files);
	cr_assert_eq(t.loss[1].written, t.events[1]);
	cr_assert_eq(t.loss[1].written + t.loss[1].daemon_dropped, (uint64_t)rounds * batch);
	cr_log_info("sighup storm: %u files, at most %u open at once, %d rotations waited",
		    t.files, most, log_count(&d, "rotation waits for one"));
	region_free(&r);
	daemon_stop(&d);
}

/* Peak of daemon memory from /proc/<pid>/status: VmHWM in KiB. */
static uint64_t daemon_hwm_kib(const struct daemon *d)
{
	char path[64], *text, *p;
	size_t len;
	uint64_t kib = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	text = slurp(path, &len);
	cr_assert_not_null(text);
	p = strstr(text, "VmHWM:");
	if (p != NULL)
		kib = strtoull(p + 6, NULL, 10);
	free(text);
	return kib;
}

Test(daemon_hostile, a_burst_beyond_max_pending_bytes_is_dropped_and_counted, .timeout = 120)
{
	static const char *const args[] = { "--max-pending-bytes", "1M", "--log-level", "debug",
					    "--tick-ms", "100", NULL };
	const uint32_t ring = 16u << 20;
	const uint64_t n = ring / RP_REC_BYTES;
	struct daemon d;
	struct region r;
	struct rp_answer a;
	struct tally t;
	char line[200], *text, *p;
	uint64_t x = 3, peak;
	size_t len;
	uint32_t id;
	int fd;

	daemon_start(&d, args);
	region_make_geo(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0, ring, T_STRING_BYTES);
	fd = query_client(&d, &r, "burst", "tests", 6, &a, &id);
	/* the whole ring at once: one drain meets 16 MiB of records */
	record_many(&r, 0, id, n, &x);
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u: at most ", a.client_id);
	log_wait(&d, line);
	cr_log_info("burst: daemon VmHWM %llu KiB (region %u KiB)",
		    (unsigned long long)daemon_hwm_kib(&d), (unsigned)(r.size >> 10));
	text = slurp(d.log, &len);
	p = strstr(text, line);
	cr_assert_not_null(p);
	peak = strtoull(p + strlen(line), NULL, 10);
	free(text);
	cr_assert_leq(peak, 1u << 20, "%llu bytes waited for the disk", (unsigned long long)peak);
	cr_assert_eq(log_count(&d, "--max-pending-bytes 1048576): events are dropped"), 1);
	daemon_terminate(&d);
	tally_session(&d, "tests", &t, 0);
	cr_assert_eq(t.loss[1].written, t.events[1]);
	cr_assert_eq(t.loss[1].written + t.loss[1].daemon_dropped, n);
	cr_assert_gt(t.loss[1].daemon_dropped, 0);
	cr_assert_gt(t.loss[1].written, 0);
	cr_log_info("burst: %llu committed, %llu written, %llu dropped, peak %llu bytes pending",
		    (unsigned long long)n, (unsigned long long)t.loss[1].written,
		    (unsigned long long)t.loss[1].daemon_dropped, (unsigned long long)peak);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon_hostile, session_quota_stops_writing_and_counts_drops, .timeout = 60)
{
	static const char *const args[] = { "--session-quota", "64K", "--flush-ms", "1", NULL };
	const uint64_t n = 40000;
	struct daemon d;
	struct region r, other;
	struct rp_answer a, b;
	struct tally t;
	char line[200];
	uint64_t x = 11;
	uint32_t id;
	int fd, fo;

	daemon_start(&d, args);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fd = query_client(&d, &r, "quota", "capped", 8, &a, &id);
	record_many(&r, 0, id, n, &x);
	log_wait(&d, "session capped reached its quota of 65536 bytes (--session-quota)");
	/* another session is not affected */
	good_client_check(&d, "uncapped");
	ring0_close(&r, fd);
	snprintf(line, sizeof(line), "client %u pid %d (quota) gone", a.client_id, (int)getpid());
	log_wait(&d, line);
	/* a second client of the full session: its events are dropped too */
	region_make(&other, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fo = client_register(&d, &other, "quota2", "capped", &b);
	cr_assert_eq(b.status, 0);
	id = region_intern(&other, "Query");
	ring_claim(&other, 0, 9, 1);
	record_many(&other, 0, id, 2000, &x);
	ring_retire(&other, 0, 0);
	ring_wait_free(&other, 0);
	close(fo);
	snprintf(line, sizeof(line), "client %u pid %d (quota2) gone", b.client_id, (int)getpid());
	log_wait(&d, line);
	daemon_terminate(&d);
	tally_session(&d, "capped", &t, b.client_id);
	cr_assert_eq(t.loss[1].written + t.loss[1].daemon_dropped, 2000);
	cr_assert_eq(t.loss[1].written, t.events[1]);
	cr_assert_gt(t.loss[1].daemon_dropped, 1000);
	tally_session(&d, "capped", &t, 0);
	{
		struct tally first;

		tally_session(&d, "capped", &first, a.client_id);
		cr_assert_eq(first.loss[1].written + first.loss[1].daemon_dropped, n);
		cr_assert_eq(first.loss[1].written, first.events[1]);
		cr_assert_gt(first.loss[1].daemon_dropped, 0);
		cr_assert_gt(first.loss[1].written, 0);
		t.loss[1] = first.loss[1];
	}
	/* quota bytes: events stop before it; bookkeeping blocks may pass it */
	cr_assert_leq(t.bytes, 65536 + 4096, "%llu bytes on disk", (unsigned long long)t.bytes);
	cr_assert_eq(t.sealed, t.files);
	cr_assert_eq(log_count(&d, "reached its quota"), 1);
	cr_log_info("quota: %llu bytes on disk, %llu written, %llu dropped",
		    (unsigned long long)t.bytes, (unsigned long long)t.loss[1].written,
		    (unsigned long long)t.loss[1].daemon_dropped);
	region_free(&r);
	region_free(&other);
	daemon_stop(&d);
}

Test(daemon_hostile, refuses_a_string_area_beyond_max_string_bytes, .timeout = 60)
{
	static const char *const args[] = { "--max-string-bytes", "4096", NULL };
	struct daemon d;
	struct region r;
	struct rp_answer a;
	int fd;

	daemon_start(&d, args);
	region_make_geo(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0, T_RING_BYTES, 8192);
	fd = client_register(&d, &r, "strings", "tests", &a);
	refusal_check(&d, &a, -E2BIG, "strings",
		      "string area of 8192 bytes exceeds --max-string-bytes 4096");
	close(fd);
	region_free(&r);
	daemon_stop(&d);
}

/* One kind of garbage a client may write into its region after a valid
 * record was drained from ring 0: scribble (may be NULL) breaks the region,
 * then the records rec[0..nrec) are put into ring 0 and published (nrec 0:
 * nothing published); reason: the expected quarantine reason (%llu is
 * replaced by the scribbled head where it appears). */
struct garbage {
	const char *name;
	void (*scribble)(struct region *r);
	struct { uint32_t type, id, arg; } rec[2];
	uint32_t nrec;
	const char *reason;
};

static void g_head_far(struct region *r)
{
	rp_store_release(&region_ctl(r, 0)->head, r->head[0] + 0x9e3779b97f4a7c15ull);
}

static void g_head_torn(struct region *r)
{
	rp_store_release(&region_ctl(r, 0)->head, r->head[0] + 8);
}

static void g_head_back(struct region *r)
{
	rp_store_release(&region_ctl(r, 0)->head, r->head[0] - 16);
}

static void g_string_used(struct region *r)
{
	rp_store_release(&r->hdr->string_used, 1u << 20);
}

/* A string entry (id, len) at offset 16 of the area, string_used then used. */
static void g_string_entry(struct region *r, uint32_t id, uint32_t len, uint64_t used)
{
	struct rp_str_entry e = { .id = id, .len = len };

	memcpy(r->base + r->hdr->string_offset + 16, &e, sizeof(e));
	rp_store_release(&r->hdr->string_used, used);
}

static void g_string_len(struct region *r)
{
	g_string_entry(r, 2, 5000, 16 + 512);
}

static void g_string_id(struct region *r)
{
	g_string_entry(r, 99, 1, 16 + 16);
}

static void g_state(struct region *r)
{
	rp_store_release(&region_ctl(r, 0)->state, 7);
}

static void g_freed(struct region *r)
{
	rp_store_release(&region_ctl(r, 0)->state, RP_SLOT_FREE);
}

static void g_owner(struct region *r)
{
	region_ctl(r, 0)->owner_seq = 0xdeadbeef;
}

#define G_INSTANT { { RP_REC_INSTANT, 1, 0 } }, 1

static const struct garbage garbage[] = {
	{ "headfar", g_head_far, { { 0 } }, 0,
	  "ring 0: head %llu invalid (tail 16, ring 4096 bytes)" },
	{ "headtorn", g_head_torn, { { 0 } }, 0,
	  "ring 0: head %llu invalid (tail 16, ring 4096 bytes)" },
	{ "headback", g_head_back, { { 0 } }, 0,
	  "ring 0: head %llu invalid (tail 16, ring 4096 bytes)" },
	{ "type9", NULL, { { 9, 1, 0 } }, 1, "ring 0: unknown record type 9" },
	{ "type0", NULL, { { 0, 1, 0 } }, 1, "ring 0: unknown record type 0" },
	{ "idrange", NULL, { { RP_REC_BEGIN, RP_REC_ID_MASK, 0 } }, 1,
	  "ring 0: undefined string id 268435455" },
	{ "argrange", NULL, { { RP_REC_INSTANT, 1, 77 } }, 1, "ring 0: undefined string id 77" },
	{ "value", NULL, { { RP_REC_VALUE, 0, 0 } }, 1, "ring 0: VALUE without INTEGER" },
	{ "integer", NULL, { { RP_REC_INTEGER, 1, 0 }, { RP_REC_INSTANT, 1, 0 } }, 2,
	  "ring 0: INTEGER not followed by VALUE" },
	{ "integerlast", NULL, { { RP_REC_INTEGER, 1, 0 } }, 1,
	  "ring 0: INTEGER not followed by VALUE" },
	{ "strused", g_string_used, G_INSTANT,
	  "string_used 1048576 invalid (area 4096 bytes, 16 scanned)" },
	{ "strlen", g_string_len, G_INSTANT, "bad string entry at offset 16 of the string area" },
	{ "strid", g_string_id, G_INSTANT, "bad string entry at offset 16 of the string area" },
	{ "state", g_state, { { 0 } }, 0, "ring 0: bad slot state 7" },
	{ "freed", g_freed, { { 0 } }, 0, "ring 0: slot freed by the client" },
	{ "owner", g_owner, G_INSTANT, "ring 0: owner changed without retiring" },
};

/* Break r as g says. */
static void garbage_apply(const struct garbage *g, struct region *r)
{
	if (g->scribble != NULL)
		g->scribble(r);
	for (uint32_t i = 0; i < g->nrec; i++)
		ring_put(r, 0, g->rec[i].type, g->rec[i].id, g->rec[i].arg, 5 + i);
	if (g->nrec > 0)
		ring_publish(r, 0);
}

Test(daemon_hostile, quarantines_each_kind_of_garbage_alone, .timeout = 120)
{
	const size_t ncase = sizeof(garbage) / sizeof(garbage[0]);
	struct daemon d;
	struct region good;
	struct rp_answer ga;
	struct names ng;
	struct tally t;
	int fgood;

	daemon_start(&d, NULL);
	region_make(&good, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fgood = client_register(&d, &good, "honest", "good", &ga);
	cr_assert_eq(ga.status, 0);
	names_intern(&good, &ng);
	ring_claim(&good, 0, 1, 1);
	for (size_t i = 0; i < ncase; i++) {
		const struct garbage *g = &garbage[i];
		struct region r;
		struct rp_answer a;
		char name[32], reason[RP_REASON_MAX], line[300];
		int fd;

		snprintf(name, sizeof(name), "bad-%s", g->name);
		region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
		fd = client_register(&d, &r, name, "hostile", &a);
		cr_assert_eq(a.status, 0, "refused: %s", a.reason);
		region_intern(&r, "Query");
		ring_claim(&r, 0, 50, 1);
		ring_put(&r, 0, RP_REC_INSTANT, 1, 0, 1);
		ring_publish(&r, 0);
		ring_wait_drained(&r, 0);
		/* the good client records while the other one breaks */
		record_five(&good, 0, &ng, 1000 * (i + 1));
		garbage_apply(g, &r);
		/* "%llu" in a reason stands for the scribbled head */
		{
			const char *mark = strstr(g->reason, "%llu");

			if (mark == NULL)
				strlcpy(reason, g->reason, sizeof(reason));
			else
				snprintf(reason, sizeof(reason), "%.*s%llu%s", (int)(mark - g->reason),
					 g->reason,
					 (unsigned long long)rp_load_relaxed(&region_ctl(&r, 0)->head),
					 mark + 4);
		}
		snprintf(line, sizeof(line), "quarantined client %u pid %d (%s): %s", a.client_id,
			 (int)getpid(), name, reason);
		log_wait(&d, line);
		cr_assert_eq(log_count(&d, "quarantined"), (int)i + 1, "case %s", g->name);
		ring_wait_drained(&good, 0);
		close(fd);
		region_free(&r);
	}
	ring_retire(&good, 0, 0);
	ring_wait_free(&good, 0);
	close(fgood);
	{
		char line[200];

		char *path = seg_path(&d, "good", "honest", ga.client_id, 0);

		snprintf(line, sizeof(line), "client %u pid %d (honest) gone", ga.client_id,
			 (int)getpid());
		log_wait(&d, line);
		seg_wait_sealed(path);
		free(path);
	}
	tally_session(&d, "good", &t, 0);
	cr_assert_eq(t.events[1], 5 * ncase);
	cr_assert_eq(t.loss[1].written, 5 * ncase);
	cr_assert_eq(t.loss[1].daemon_dropped, 0);
	cr_assert_eq(t.sealed, 1);
	cr_assert_eq(log_count(&d, "quarantined"), (int)ncase);
	cr_assert_eq(log_count(&d, "refused"), 0);
	region_free(&good);
	daemon_stop(&d);
}

Test(daemon_hostile, a_sealed_memfd_cannot_shrink_under_the_daemon, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_answer a;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, 0);
	fd = client_register(&d, &r, "shrinker", "tests", &a);
	cr_assert_eq(a.status, 0);
	/* the seals the daemon demands make truncation fail: no SIGBUS path */
	cr_assert_eq(ftruncate(r.memfd, 4096), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(r.memfd, 0), -1);
	cr_assert_eq(fcntl(r.memfd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	close(fd);
	region_free(&r);
	/* and an unsealed one is refused (refuses_a_memfd_not_sealed_...) */
	good_client_check(&d, "after");
	daemon_stop(&d);
}

/* Send raw bytes (and fds) as one hello; return the answer's status and
 * copy its reason. */
static int32_t hello_raw(const struct daemon *d, const void *bytes, size_t len, const int *fds,
			 int nfds, char reason[RP_REASON_MAX])
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct rp_answer a;
	int fd = sock_connect(d->sock);

	cr_assert_geq(fd, 0);
	memset(&u, 0, sizeof(u));
	if (nfds > 0) {
		struct cmsghdr *cm;

		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	/* the daemon may answer and close before reading it all */
	(void)sendmsg(fd, &msg, MSG_NOSIGNAL);
	answer_read(fd, &a);
	close(fd);
	strlcpy(reason, a.reason, RP_REASON_MAX);
	return a.status;
}

Test(daemon_hostile, refuses_malformed_and_oversized_hellos, .timeout = 60)
{
	struct daemon d;
	struct region r;
	struct rp_hello h;
	char reason[RP_REASON_MAX], want[RP_REASON_MAX];
	static uint8_t big[sizeof(struct rp_hello) + RP_CMDLINE_MAX + 64];
	int fds[3];
	int refused = 0;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	fds[0] = fds[1] = fds[2] = r.memfd;

	hello_init(&h, &r, "big", "tests", RP_CMDLINE_MAX + 1);
	memcpy(big, &h, sizeof(h));
	cr_assert_eq(hello_raw(&d, big, sizeof(big), fds, 1, reason), -EMSGSIZE);
	cr_assert_str_eq(reason, "command line of 4097 bytes exceeds 4096");
	refused++;

	hello_init(&h, &r, "size", "tests", 0);
	h.size = 4096;
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 1, reason), -EPROTO);
	cr_assert_str_eq(reason, "hello size 4096, expected 200");
	refused++;

	hello_init(&h, &r, "noterm", "tests", 0);
	memset(h.name, 'A', sizeof(h.name));
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 1, reason), -EINVAL);
	cr_assert_str_eq(reason, "name or session not NUL-terminated");
	refused++;

	hello_init(&h, &r, "flags", "tests", 0);
	h.flags = 0x80;
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 1, reason), -EINVAL);
	cr_assert_str_eq(reason, "unknown hello flags 0x80");
	refused++;

	hello_init(&h, &r, "threefds", "tests", 0);
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 3, reason), -EINVAL);
	cr_assert_str_eq(reason, "too many file descriptors attached (expected 1)");
	refused++;

	hello_init(&h, &r, "nofd", "tests", 0);
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 0, reason), -EBADF);
	cr_assert_str_eq(reason, "0 file descriptors attached, expected 1");
	refused++;

	hello_init(&h, &r, "notmemfd", "tests", 0);
	{
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		cr_assert_eq(hello_raw(&d, &h, sizeof(h), &devnull, 1, reason), -EINVAL);
		close(devnull);
	}
	cr_assert_str_eq(reason, "file descriptor is not a memfd");
	refused++;

	hello_init(&h, &r, "hugeregion", "tests", 0);
	h.region_size = 1ull << 40;
	snprintf(want, sizeof(want), "memfd size %zu differs from region_size %llu in the hello",
		 r.size, 1ull << 40);
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 1, reason), -EINVAL);
	cr_assert_str_eq(reason, want);
	refused++;

	/* a geometry lie inside the region */
	r.hdr->ring_count = 1000;
	hello_init(&h, &r, "geometry", "tests", 0);
	cr_assert_eq(hello_raw(&d, &h, sizeof(h), fds, 1, reason), -EINVAL);
	cr_assert_str_eq(reason, "region header and hello disagree on the geometry");
	refused++;
	r.hdr->ring_count = T_RINGS;

	log_wait_n(&d, "refused", refused);
	good_client_check(&d, "after");
	cr_assert_eq(log_count(&d, "refused"), refused);
	region_free(&r);
	daemon_stop(&d);
}

Test(daemon_hostile, stays_responsive_under_a_connection_flood, .timeout = 120)
{
	static const char *const args[] = { "--max-clients", "4", NULL };
	enum { FLOOD = 300, REGISTERED = 8 };
	static int idle[FLOOD];
	struct daemon d;
	struct region r[REGISTERED];
	struct rp_answer a;
	int fds[REGISTERED], accepted = 0, turned = 0, busy = 0;

	daemon_start(&d, args);
	/* idle connections that never send a byte: the first RPD_HANDSHAKE_MAX
	 * (128) wait for their hello, the daemon answers the rest at once */
	for (int i = 0; i < FLOOD; i++) {
		idle[i] = sock_connect(d.sock);
		cr_assert_geq(idle[i], 0);
	}
	for (int i = 128; i < FLOOD; i++) {
		answer_read(idle[i], &a);
		cr_assert_eq(a.status, -EAGAIN, "connection %d: %d %s", i, a.status, a.reason);
		cr_assert_str_eq(a.reason, "128 connections already wait for a handshake");
		turned++;
	}
	for (int i = 0; i < 128; i++) {
		struct pollfd p = { .fd = idle[i], .events = POLLIN };

		/* a slow machine may have reached the handshake deadline */
		if (poll(&p, 1, 0) == 1) {
			answer_read(idle[i], &a);
			cr_assert_eq(a.status, -ETIMEDOUT, "connection %d: %s", i, a.reason);
		}
	}
	/* the flood goes away; registrations beyond max-clients are refused */
	for (int i = 0; i < FLOOD; i++)
		close(idle[i]);
	for (int i = 0; i < REGISTERED; i++) {
		region_make(&r[i], F_SEAL_SHRINK | F_SEAL_GROW, 0);
		fds[i] = client_register(&d, &r[i], "many", "flood", &a);
		if (a.status == 0)
			accepted++;
		else if (a.status == -EUSERS)
			busy++;
		cr_assert(a.status == 0 || a.status == -EUSERS, "status %d: %s", a.status, a.reason);
	}
	cr_assert_eq(accepted, 4);
	cr_assert_eq(busy, REGISTERED - 4);
	cr_assert_eq(turned, FLOOD - 128);
	for (int i = 0; i < REGISTERED; i++) {
		close(fds[i]);
		region_free(&r[i]);
	}
	/* every accepted client ends its segment: the daemon is all there */
	log_wait_n(&d, "(many) gone", 4);
	good_client_check(&d, "after");
	/* logged once per burst (at most every handshake deadline) */
	cr_assert_eq(log_count(&d, "connections already wait for a handshake"), 1);
	daemon_stop(&d);
}

Test(daemon_hostile, names_with_newlines_and_huge_labels_stay_one_line_inside, .timeout = 60)
{
	static char cmdline[RP_CMDLINE_MAX];
	struct daemon d;
	struct region r;
	struct rp_hello h;
	struct rp_answer a;
	char line[200], *path;
	int fd;

	daemon_start(&d, NULL);
	region_make(&r, F_SEAL_SHRINK | F_SEAL_GROW, 0);
	memset(cmdline, '\n', sizeof(cmdline));
	memcpy(cmdline, "../../x\n/", 9);
	fd = sock_connect(d.sock);
	hello_init(&h, &r, "", "", sizeof(cmdline));
	/* 63 bytes and a NUL: the longest label, full of separators */
	memset(h.name, '\n', sizeof(h.name) - 1);
	memcpy(h.name, "cc\nrefused pid 1 (x): fake", 26);
	memset(h.session, '/', sizeof(h.session) - 1);
	memcpy(h.session, "..", 2);
	hello_send(fd, &h, cmdline, r.memfd);
	answer_read(fd, &a);
	cr_assert_eq(a.status, 0, "refused: %s", a.reason);
	close(fd);
	{
		char name[64], session[64];

		memset(name, '_', 63);
		memcpy(name, "cc_refused_pid_1__x___fake", 26);
		name[63] = '\0';
		memset(session, '_', 63);
		session[0] = session[1] = '_';
		session[63] = '\0';
		session[1] = '.';
		path = seg_path(&d, session, name, a.client_id, 0);
		seg_wait_sealed(path);
		snprintf(line, sizeof(line), "accepted pid %d (%s) as client %u", (int)getpid(), name,
			 a.client_id);
		log_wait(&d, line);
	}
	/* the injected text never starts a line of its own */
	{
		size_t len;
		char *text = slurp(d.log, &len);

		for (char *l = strtok(text, "\n"); l != NULL; l = strtok(NULL, "\n"))
			cr_assert_eq(strncmp(l, "ringprofd: ", 11), 0, "log line \"%s\"", l);
		free(text);
	}
	cr_assert_eq(log_count(&d, "ringprofd: refused"), 0);
	free(path);
	region_free(&r);
	daemon_stop(&d);
}
