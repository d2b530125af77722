/*
 * faults_harness.h - real ringprofd and e2e_client processes for the fault
 * and load tests (test_faults.c): start, kill and restart the daemon on one
 * socket and state directory, spawn clients with a MAP_SHARED counts file,
 * sample the daemon's memory, and read every segment back with per-thread
 * accounting.
 */
#ifndef FAULTS_HARNESS_H
#define FAULTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FT_SLOTS 128  /* e2e_client's counts slots (2 x its 64 threads) */

/* tests/e2e_client.c's --counts file. */
struct ft_counts {
	uint64_t committed[FT_SLOTS];
	uint64_t registrations;
	uint64_t dropped;
	uint64_t no_slot;
	uint64_t done;
	uint64_t pid;
};

struct ft_env {
	char dir[64];
	char sock[128];
	char state[128];
	char log[128];
	pid_t daemon;
	unsigned starts;     /* daemons started on this socket */
};

struct ft_client {
	pid_t pid;
	FILE *out;                  /* its stdout */
	char counts_path[160];
	struct ft_counts *counts;   /* mapped counts file; NULL without */
};

extern struct ft_env ft;

int64_t ft_now_ms(void);
void ft_sleep_ms(long ms);
/* Temporary directory, socket and state paths; no daemon yet. */
void ft_setup(void);
/* Kill whatever daemon runs, remove the directory (unless
 * $RINGPROF_TEST_KEEP). */
void ft_teardown(void);
/* Start ringprofd with the extra arguments (NULL-terminated list, may be
 * NULL), appending to the log; return once it listens. */
void ft_daemon_start(const char *const *extra);
/* SIGKILL the daemon and reap it. */
void ft_daemon_kill(void);
/* SIGTERM the daemon; its exit status, -1 if killed by a signal. */
int ft_daemon_stop(void);
void ft_dump_log(void);

/* Spawn e2e_client with args (NULL-terminated); counts_name: file name of
 * its --counts file under the test directory (NULL: none); extra_env: up to
 * two "NAME=value" strings (NULL-terminated list, may be NULL). */
struct ft_client ft_client_spawn(const char *session, const char *const *args,
				 const char *counts_name, const char *const *extra_env);
/* Map another counts file under the test directory (after it exists). */
struct ft_counts *ft_counts_map(const char *name);
/* Read one line of the client's stdout and check it is want. */
void ft_client_expect_line(struct ft_client *c, const char *want);
/* Read the client's report until EOF (lines "<prefix>thread <t> committed
 * <n>"), wait for it to exit (at most 60 s), return its wait status.
 * committed[t] for prefix "" and again[t] for "again " (either may be
 * NULL). */
int ft_client_finish(struct ft_client *c, uint64_t *committed, uint64_t *again);

/* Daemon memory in kB, from /proc/<pid>/status. */
struct ft_mem { uint64_t rss_kb, hwm_kb, anon_kb; };
bool ft_daemon_mem(struct ft_mem *m);

/* One thread number of one registration, as read back. */
struct ft_thread {
	uint64_t daemon_pid;
	uint32_t client_id, pid, thread, tid;
	int worker;              /* from "worker-<w>" or the argument; -1 */
	char cmdline_tail[32];   /* last argument of the segment's cmdline */
	uint64_t records;        /* events of every type, name included */
	uint64_t events;         /* events but the name */
	uint64_t integers;       /* E2E events */
	uint64_t next_index;     /* index the next event must have */
	bool index_gap;          /* an event index was skipped */
	bool values_ok;          /* E2E values strictly increasing, args match */
	uint64_t first_value, last_value;
	uint64_t missing;        /* E2E values skipped between first and last */
	bool nest_ok;            /* --nest pattern held from index 0 */
	bool has_loss;
	struct rp_seg_loss_copy {
		uint64_t written, client_dropped, daemon_dropped;
	} loss;
	bool ended;              /* THREAD END seen */
};

struct ft_read {
	struct ft_thread *th;
	size_t n, cap;
	unsigned segments, sealed, unsealed, cut;
	uint64_t no_slot[64];    /* thread-0 LOSS per registration (pid % 64) */
	uint64_t events;
};

/* Read every segment under path (flags: RP_READER_*; 0 = strict, every
 * segment sealed).  nest: check e2e_client's --nest pattern. */
void ft_read_all(struct ft_read *rd, const char *path, unsigned flags, bool nest);
void ft_read_free(struct ft_read *rd);
/* The thread of registration (pid, daemon) that recorded worker w; NULL
 * when none.  daemon 0: any daemon, the first found. */
struct ft_thread *ft_find(struct ft_read *rd, uint32_t pid, uint64_t daemon, int w);

/* Run the ringprof command with args; the lines of its stdout that contain
 * keep (all when NULL) into out (cap bytes, NUL terminated, as many whole
 * lines as fit); returns its exit status. */
int ft_cli(char *out, size_t cap, const char *keep, const char *const *args);

#endif /* FAULTS_HARNESS_H */
