/*
 * loop.c - the one io_uring loop: submission helpers and completion
 * dispatch.
 *
 * Every submitted operation is a struct op; its address is the user_data.
 * Completions with user_data 0 belong to cancellations and are ignored.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <liburing.h>

#include "ringprofd.h"

static struct io_uring loop_ring;
static struct op loop_tick_op = { .kind = OP_TICK };
static struct op loop_signal_op = { .kind = OP_SIGNAL };
static struct __kernel_timespec loop_tick_ts;
static struct signalfd_siginfo loop_siginfo;
static uint64_t loop_last_refine;  /* CLOCK_MONOTONIC ns */
static uint64_t loop_tick_ns;      /* current tick interval, 0 = not set yet */

/*
 * The tick adapts to the rings' fill: it doubles, up to LOOP_TICK_MAX_NS,
 * while a tick drains less than 1/32 of a ring (per client, summed over its
 * rings), and drops back to --tick-ms as soon as one drains 1/8 or more.  A
 * compiler's trickle of events then costs the daemon one wake-up per 8 ms
 * instead of per 1 ms.  Bound: from an idle 8 ms tick, a default 4 MiB ring
 * (262144 records) overflows only if one thread records over 32 million
 * events/s; a sustained rate that fills 1/8 of a ring per tick keeps the
 * tick at its minimum.
 */
#define LOOP_TICK_MAX_NS (8u * RPD_NSEC_PER_MSEC)
#define LOOP_FILL_TIGHTEN 125u  /* per mille of a ring drained in one tick */
#define LOOP_FILL_RELAX   31u

static uint64_t loop_tick_min_ns(void)
{
	return (uint64_t)rpd.conf.tick_ms * RPD_NSEC_PER_MSEC;
}

static void loop_tick_adapt(uint32_t fill)
{
	uint64_t min = loop_tick_min_ns();
	uint64_t max = min > LOOP_TICK_MAX_NS ? min : LOOP_TICK_MAX_NS;

	if (fill >= LOOP_FILL_TIGHTEN)
		loop_tick_ns = min;
	else if (fill < LOOP_FILL_RELAX)
		loop_tick_ns = loop_tick_ns * 2 > max ? max : loop_tick_ns * 2;
}

int loop_open(unsigned entries)
{
	return io_uring_queue_init(entries, &loop_ring, 0);
}

void loop_close(void)
{
	io_uring_queue_exit(&loop_ring);
}

static struct io_uring_sqe *loop_get(void)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&loop_ring)) == NULL)
		io_uring_submit(&loop_ring);
	return sqe;
}

struct io_uring_sqe *loop_sqe(struct op *op)
{
	struct io_uring_sqe *sqe = loop_get();

	op->busy = true;
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

struct io_uring_sqe *loop_sqe_untracked(void)
{
	struct io_uring_sqe *sqe = loop_get();

	io_uring_sqe_set_data(sqe, NULL);
	return sqe;
}

void loop_cancel(struct op *op)
{
	if (!op->busy)
		return;
	io_uring_prep_cancel(loop_sqe_untracked(), op, 0);
}

void loop_arm_tick(void)
{
	if (loop_tick_ns == 0)
		loop_tick_ns = loop_tick_min_ns();
	loop_tick_ts.tv_sec = (long long)(loop_tick_ns / RPD_NSEC_PER_SEC);
	loop_tick_ts.tv_nsec = (long long)(loop_tick_ns % RPD_NSEC_PER_SEC);
	io_uring_prep_timeout(loop_sqe(&loop_tick_op), &loop_tick_ts, 0, 0);
}

void loop_arm_signal(void)
{
	io_uring_prep_read(loop_sqe(&loop_signal_op), rpd.signal_fd, &loop_siginfo,
			   sizeof(loop_siginfo), 0);
}

static void loop_on_tick(void)
{
	uint64_t now = clock_mono_ns();

	if (now - loop_last_refine >= RPD_NSEC_PER_SEC) {
		clock_refine();
		loop_last_refine = now;
	}
	ringprofd_tick(now);
	listen_tick();
	loop_tick_adapt(client_tick(now));
	status_tick(now);
	if (!rpd.stopping)
		loop_arm_tick();
}

static void loop_on_signal(int res)
{
	if (res != (int)sizeof(loop_siginfo)) {
		if (res < 0 && res != -EINTR && res != -EAGAIN)
			log_error("signalfd read: %s", strerror(-res));
		loop_arm_signal();
		return;
	}
	switch (loop_siginfo.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		if (!rpd.stopping) {
			log_info("signal %u: draining and sealing every segment",
				 loop_siginfo.ssi_signo);
			ringprofd_stop();
		}
		break;
	case SIGHUP:
		ringprofd_reload();
		break;
	default:
		break;
	}
	if (!rpd.stopping)
		loop_arm_signal();
}

static void loop_dispatch(struct op *op, int res)
{
	op->busy = false;
	switch (op->kind) {
	case OP_ACCEPT:
		listen_on_accept(op, res);
		break;
	case OP_SIGNAL:
		loop_on_signal(res);
		break;
	case OP_TICK:
		loop_on_tick();
		break;
	case OP_CLIENT_RECV:
		client_on_recv(op, res);
		break;
	case OP_CLIENT_PIDFD:
		client_on_pidfd(op, res);
		break;
	case OP_CLIENT_EVFD:
		client_on_evfd(op, res);
		break;
	case OP_SEG_WRITE:
		seg_on_write(op, res);
		break;
	case OP_SEG_SYNC:
		seg_on_sync(op, res);
		break;
	case OP_STATUS:
		status_on_op(op, res);
		break;
	}
}

/* Shutdown is complete when every client is released and every segment
 * synced and closed. */
static bool loop_is_done(void)
{
	return rpd.stopping && LIST_EMPTY(&rpd.clients) && !seg_has_pending();
}

int loop_run(void)
{
	loop_last_refine = clock_mono_ns();
	while (!loop_is_done()) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret;

		ret = io_uring_submit_and_wait(&loop_ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
			return ret;
		io_uring_for_each_cqe(&loop_ring, head, cqe) {
			struct op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			if (op != NULL)
				loop_dispatch(op, res);
		}
		io_uring_cq_advance(&loop_ring, seen);
	}
	return 0;
}
