/*
 * listen.c - the registration socket: create, accept, close.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>
#include <liburing.h>
#include <systemd/sd-daemon.h>

#include "ringprofd.h"

static struct op listen_op = { .kind = OP_ACCEPT };
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static bool listen_paused;  /* out of fds or memory: re-armed by ticks */

/* True when something accepts connections at addr. */
static bool listen_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true;  /* cannot tell: do not remove it */
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ||
	       (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

/* Take the socket systemd passed (socket activation): 1 when taken, 0
 * when none was passed, -EINVAL when it is not what we need. */
static int listen_inherit(void)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return 0;
	if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
		log_error("systemd passed %d sockets; expected one listening Unix stream socket", n);
		return -EINVAL;
	}
	rpd.listen_fd = SD_LISTEN_FDS_START;
	listen_path[0] = '\0';  /* systemd owns the path */
	log_info("listening on the socket passed by systemd");
	return 1;
}

/* Give the socket file to --socket-group (a name or a gid); 0 or -errno
 * logged.  The daemon must be that group's member or root. */
static int listen_group(const char *path)
{
	const char *name = rpd.conf.socket_group;
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long gid;
	int ret;

	if (name == NULL)
		return 0;
	errno = 0;
	gid = strtoul(name, &end, 10);
	if (errno != 0 || end == name || *end != '\0' || gid >= UINT32_MAX) {
		ret = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
		if (ret != 0 || res == NULL) {
			log_error("--socket-group: unknown group '%s'", name);
			return -EINVAL;
		}
		gid = gr.gr_gid;
	}
	if (chown(path, (uid_t)-1, (gid_t)gid) < 0) {
		ret = -errno;
		log_error("chown %s to group %s: %s", path, name, strerror(errno));
		return ret;
	}
	return 0;
}

int listen_open(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if ((ret = listen_inherit()) != 0)
		return ret < 0 ? ret : 0;

	if (strlcpy(addr.sun_path, path, sizeof(addr.sun_path)) >= sizeof(addr.sun_path)) {
		log_error("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		log_error("socket: %s", strerror(errno));
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno != EADDRINUSE)
			goto err_bind;
		if (listen_is_live(&addr)) {
			errno = EADDRINUSE;
			log_error("%s: another daemon is listening there", path);
			ret = -EADDRINUSE;
			goto err_close;
		}
		log_info("removing stale socket %s", path);
		if (unlink(path) < 0 ||
		    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			goto err_bind;
	}
	strlcpy(listen_path, path, sizeof(listen_path));
	if ((ret = listen_group(path)) < 0)
		goto err_unlink;
	if (chmod(path, rpd.conf.socket_mode) < 0) {
		ret = -errno;
		log_error("chmod %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	if (listen(fd, 128) < 0) {
		ret = -errno;
		log_error("listen %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	rpd.listen_fd = fd;
	log_info("listening on %s", path);
	return 0;

err_bind:
	ret = -errno;
	log_error("bind %s: %s", path, strerror(errno));
	goto err_close;
err_unlink:
	unlink(path);
	listen_path[0] = '\0';
err_close:
	close(fd);
	return ret;
}

void listen_close(void)
{
	if (rpd.listen_fd < 0)
		return;
	loop_cancel(&listen_op);
	close(rpd.listen_fd);
	rpd.listen_fd = -1;
	if (listen_path[0] != '\0')
		unlink(listen_path);
	listen_path[0] = '\0';
}

void listen_arm(void)
{
	io_uring_prep_accept(loop_sqe(&listen_op), rpd.listen_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* Connections that have not completed their hello. */
static uint32_t listen_handshakes(void)
{
	const struct client *c;
	uint32_t n = 0;

	LIST_FOREACH(c, &rpd.clients, entry)
		n += c->state == CLIENT_HANDSHAKE;
	return n;
}

/* Too many connections wait for their hello: answer this one at once
 * (without waiting for its hello) and close it, logging once per burst. */
static void listen_turn_away(int fd)
{
	static uint64_t logged_ns;
	struct rp_answer a = {
		.magic = RP_ANSWER_MAGIC, .version = RP_WIRE_VERSION, .size = sizeof(a),
		.status = -EAGAIN,
	};
	uint64_t now = clock_mono_ns();

	snprintf(a.reason, sizeof(a.reason), "%u connections already wait for a handshake",
		 RPD_HANDSHAKE_MAX);
	if (send(fd, &a, sizeof(a), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("turned away a connection: %s", strerror(errno));
	close(fd);
	if (now - logged_ns >= RPD_HANDSHAKE_NS) {
		log_warn("%s; turning new connections away", a.reason);
		logged_ns = now;
	}
}

void listen_on_accept(struct op *op, int res)
{
	(void)op;
	if (rpd.listen_fd < 0) {
		if (res >= 0)
			close(res);
		return;
	}
	if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		/* retrying at once would spin: wait for the next tick */
		if (!listen_paused)
			log_warn("accept: %s; retrying on every tick", strerror(-res));
		listen_paused = true;
		return;
	}
	if (res >= 0 && listen_handshakes() >= RPD_HANDSHAKE_MAX)
		listen_turn_away(res);
	else if (res >= 0)
		client_open(res);
	else if (res != -EINTR && res != -EAGAIN && res != -ECONNABORTED)
		log_warn("accept: %s", strerror(-res));
	if (listen_paused && res >= 0)
		log_info("accepting again");
	listen_paused = false;
	listen_arm();
}

void listen_tick(void)
{
	if (listen_paused && rpd.listen_fd >= 0 && !listen_op.busy)
		listen_arm();
}
