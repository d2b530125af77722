/*
 * listen.c - the registration socket: create, accept, close.
 */
#include <errno.h>
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
	if (chmod(path, 0660) < 0) {
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
	if (res >= 0)
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
