/* store_sqlite_sync.c: group commit for the SQLite store (store_sync.h).
 *
 * Once attached to the loop, the loop's connection runs with
 * synchronous=NORMAL: a commit appends to the WAL with write() and returns at
 * once.  It survives a crash of the process (kill -9) from that moment; the
 * sync thread then makes it survive power loss too, by fdatasync() of the WAL
 * file, and the replies that depend on it wait for that (store_await_durable).
 * All commits made during one fdatasync share the next one.
 *
 * The WAL hook replaces SQLite's automatic checkpoint, which would fsync on
 * the loop thread at every SQS_CKPT_PAGES: the sync thread checkpoints on its
 * own connection instead (PASSIVE: it never blocks the loop).  Under constant
 * load the loop commits during each of those, so the WAL never gets fully
 * copied and never starts over; past SQS_RESTART_PAGES the loop therefore
 * checkpoints once itself, right after a commit, when nothing can race it
 * (little is left to copy; it costs the two fsyncs), and its next commit
 * starts the WAL over.  From that size on the sync thread stops
 * checkpointing: its checkpoint would hold the checkpoint lock and make the
 * loop's fail with SQLITE_BUSY, commit after commit, on a busy machine. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_sqlite_row.h"
#include "store_sqlite_sync.h"
#include "store_sync.h"

#define SQS_CKPT_PAGES 1000    /* SQLite's own wal_autocheckpoint default */
#define SQS_RESTART_PAGES 8000 /* about 32 MB of WAL with 4 KiB pages */
#define SQS_BUSY_TIMEOUT_MS 2000

struct sq_sync {
	struct store_sync *y;
	sqlite3 *ckpt_db; /* the sync thread's connection */
	int wal_fd;
	int wal_pages; /* from the WAL hook; __atomic */
	int ckpt_at;   /* sync thread: WAL frames copied by its last checkpoint */
};

/* Loop thread, after each commit of the loop's connection. */
static int
sqs_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_sync *s = arg;

	__atomic_store_n(&s->wal_pages, pages, __ATOMIC_RELAXED);
	store_sync_committed(s->y);
	if (pages >= SQS_RESTART_PAGES) {
		/* SQLITE_BUSY while the sync thread checkpoints: next commit */
		int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_err("store: checkpoint: %s", sqlite3_errmsg(db));
	}
	return SQLITE_OK;
}

/* Sync thread. */
static int
sqs_flush(void *arg)
{
	struct sq_sync *s = arg;
	int pages = __atomic_load_n(&s->wal_pages, __ATOMIC_RELAXED);
	int r = 0, nlog = 0, nckpt = 0, rc;

	if (fdatasync(s->wal_fd) != 0) {
		log_err("store: fdatasync of the WAL: %s", strerror(errno));
		r = -SGW_EIO;
	}
	if (pages < SQS_CKPT_PAGES || pages >= SQS_RESTART_PAGES) /* the loop's turn */
		return r;
	rc =
	    sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_err("store: checkpoint: %s", sqlite3_errmsg(s->ckpt_db));
	else
		log_debug("store: checkpoint: %d of %d WAL frames in the database", nckpt, nlog);
	return r;
}

void
sqs_detach(sqlite3 *db, struct sq_sync *s)
{
	if (s == NULL)
		return;
	store_sync_free(s->y); /* the last flush, then the thread ends */
	(void)sqlite3_wal_hook(db, NULL, NULL);
	(void)sq_exec_db(db, "PRAGMA synchronous = FULL", NULL);
	if (s->ckpt_db != NULL)
		sqlite3_close(s->ckpt_db);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s);
}

int
sqs_attach(sqlite3 *db, const char *path, struct event_base *base, struct sq_sync **ret,
	   struct sgw_err *err)
{
	char wal[4096];
	struct sq_sync *s;
	int r;

	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) >= sizeof(wal))
		return sgw_err_set(err, SGW_EINVAL, "store.path: too long");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	/* the migrations at open created the WAL; this connection and the
	 * checkpoint connection keep it from being deleted */
	s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0) {
		r = sgw_err_set(err, SGW_EIO, "store: %s: %s", wal, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    sqlite3_busy_timeout(s->ckpt_db, SQS_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		r = sgw_err_set(err, SGW_EIO, "store: checkpoint connection: %s",
				s->ckpt_db != NULL ? sqlite3_errmsg(s->ckpt_db) : "out of memory");
		goto fail;
	}
	if ((r = sq_exec_db(s->ckpt_db, "PRAGMA synchronous = FULL", err)) < 0 ||
	    (r = store_sync_new(base, sqs_flush, s, &s->y, err)) < 0)
		goto fail;
	/* a WAL that starts over is cut back to this size */
	if ((r = sq_exec_db(db, "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 33554432",
			    err)) < 0) {
		store_sync_free(s->y);
		s->y = NULL;
		goto fail;
	}
	(void)sqlite3_wal_hook(db, sqs_wal_hook, s);
	*ret = s;
	return 0;
fail:
	if (s->ckpt_db != NULL)
		sqlite3_close(s->ckpt_db);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s);
	return r;
}

int
sqs_await(struct sq_sync *s, store_durable_fn cb, void *arg)
{
	return s == NULL ? 0 : store_sync_await(s->y, cb, arg);
}
