/* worker.c: fixed thread pool for CPU jobs.  Jobs queue under a mutex; a
 * finished job moves to the done list and an eventfd wakes the loop, which
 * runs the `done` callbacks (nginx thread pools, with an eventfd notifier). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "worker.h"

#define WORKER_MAX_THREADS 64

struct job {
	worker_fn work;
	worker_fn done;
	worker_fn drop; /* instead of done when done never runs, or NULL */
	void *arg;
	struct job *next;
};

struct job_list {
	struct job *head;
	struct job *tail;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_list queue; /* waiting for a thread */
	struct job_list done;  /* finished, waiting for the loop */
	int stopping;
	int efd;
	struct event *ev;
	int n;
	pthread_t threads[WORKER_MAX_THREADS];
};

static void
list_push(struct job_list *l, struct job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *
list_take_all(struct job_list *l)
{
	struct job *h = l->head;

	l->head = l->tail = NULL;
	return h;
}

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;
	struct job *j;
	uint64_t one = 1;
	int wake;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->queue.head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		j = p->queue.head;
		if (j == NULL) { /* stopping and drained */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->queue.head = j->next;
		if (p->queue.head == NULL)
			p->queue.tail = NULL;
		pthread_mutex_unlock(&p->lock);

		j->work(j->arg);

		/* Only the job that makes the done list non-empty wakes the
		 * loop: on_done() takes the whole list after reading the
		 * eventfd, so the later ones ride along (one wakeup and one
		 * read per batch instead of per job). */
		pthread_mutex_lock(&p->lock);
		wake = p->done.head == NULL;
		list_push(&p->done, j);
		pthread_mutex_unlock(&p->lock);
		while (wake && write(p->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

/* Loop thread: run the done callbacks of finished jobs. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;
	struct job *j, *next;
	uint64_t v;

	(void)what;
	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->lock);
	j = list_take_all(&p->done);
	pthread_mutex_unlock(&p->lock);
	for (; j != NULL; j = next) {
		next = j->next;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

static int
online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

struct worker_pool *
worker_pool_new(struct event_base *base, int n)
{
	return worker_pool_new_named(base, n, "scepgw-worker");
}

struct worker_pool *
worker_pool_new_named(struct event_base *base, int n, const char *name)
{
	struct worker_pool *p;

	if (n <= 0)
		n = online_cores();
	if (n > WORKER_MAX_THREADS)
		n = WORKER_MAX_THREADS;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0)
		goto fail;
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_done, p);
	if (p->ev == NULL || event_add(p->ev, NULL) != 0)
		goto fail;
	for (; p->n < n; p->n++) {
		if (pthread_create(&p->threads[p->n], NULL, worker_main, p) != 0)
			goto fail;
		/* for top -H and perf; failing to name it is harmless */
		(void)pthread_setname_np(p->threads[p->n], name);
	}
	return p;
fail:
	log_err("%s pool: cannot start %d threads", name, n);
	worker_pool_free(p);
	return NULL;
}

/* Joins the threads once `stopping` is set; jobs still queued are run
 * first unless the caller took them. */
static void
join_all(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	p->n = 0;
}

/* Jobs whose done will never run: their owners' drop (when registered)
 * frees what they pointed to. */
static void
jobs_free(struct job *j)
{
	struct job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		if (j->drop != NULL)
			j->drop(j->arg);
		free(j);
	}
}

void
worker_pool_stop(struct worker_pool *p)
{
	struct job *queued;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	queued = list_take_all(&p->queue);
	pthread_mutex_unlock(&p->lock);
	jobs_free(queued);
	join_all(p);
}

void
worker_pool_free(struct worker_pool *p)
{
	if (p == NULL)
		return;
	join_all(p);
	jobs_free(list_take_all(&p->done));
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int
worker_pool_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg)
{
	return worker_pool_submit_drop(p, work, done, NULL, arg);
}

int
worker_pool_submit_drop(struct worker_pool *p, worker_fn work, worker_fn done, worker_fn drop,
			void *arg)
{
	struct job *j = malloc(sizeof(*j));

	if (j == NULL)
		return -SGW_ENOMEM;
	j->work = work;
	j->done = done;
	j->drop = drop;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		free(j);
		return -SGW_EAGAIN;
	}
	list_push(&p->queue, j);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
worker_pool_size(const struct worker_pool *p)
{
	return p->n;
}
