/* metrics.c: Prometheus counters and histograms, kept in fixed tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define NBUCKETS 12
static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					   0.1,	  0.25,	  0.5,	 1,    2.5,   10};

struct hist {
	unsigned long long count;
	double sum;
	unsigned long long le[NBUCKETS]; /* cumulative at render time */
};

struct series {
	char labels[3][64];
	unsigned long long count;
	struct hist h;
};

struct family {
	struct series s[METRICS_MAX_SERIES];
	size_t n;
};

struct metrics {
	struct family requests;	   /* op, profile, outcome */
	struct family latency;	   /* op */
	struct family backend;	   /* backend, status */
	struct family admin;	   /* route, code */
	struct http_counters http; /* the SCEP listeners */
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

/* Label values are names from the config or fixed tables; anything else is
 * replaced so the text format stays valid. */
static void
label_copy(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i < 63; i++)
		dst[i] =
		    src[i] == '"' || src[i] == '\\' || (unsigned char)src[i] < 0x20 ? '_' : src[i];
	dst[i] = '\0';
}

static struct series *
series_get(struct family *f, const char *a, const char *b, const char *c)
{
	char l[3][64];
	size_t i;

	label_copy(l[0], a != NULL ? a : "-");
	label_copy(l[1], b != NULL ? b : "-");
	label_copy(l[2], c != NULL ? c : "-");
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->s[i].labels[0], l[0]) && !strcmp(f->s[i].labels[1], l[1]) &&
		    !strcmp(f->s[i].labels[2], l[2]))
			return &f->s[i];
	if (f->n == METRICS_MAX_SERIES) {
		struct series *last = &f->s[METRICS_MAX_SERIES - 1];

		snprintf(last->labels[0], sizeof(last->labels[0]), "other");
		last->labels[1][0] = last->labels[2][0] = '\0';
		return last;
	}
	memcpy(f->s[f->n].labels, l, sizeof(l));
	return &f->s[f->n++];
}

static void
hist_observe(struct hist *h, double seconds)
{
	h->count++;
	h->sum += seconds;
	for (int i = 0; i < NBUCKETS; i++)
		if (seconds <= bucket_le[i])
			h->le[i]++;
}

void
metrics_request(struct metrics *m, const char *op, const char *profile, const char *outcome,
		double ms)
{
	if (m == NULL)
		return;
	series_get(&m->requests, op, profile, outcome)->count++;
	hist_observe(&series_get(&m->latency, op, NULL, NULL)->h, ms / 1e3);
}

void
metrics_backend(struct metrics *m, const char *backend, const char *status, double seconds)
{
	struct series *s;

	if (m == NULL)
		return;
	s = series_get(&m->backend, backend, status, NULL);
	s->count++;
	hist_observe(&series_get(&m->backend, backend, "*", NULL)->h, seconds);
}

void
metrics_admin(struct metrics *m, const char *route, int http_status)
{
	char code[16];

	if (m == NULL)
		return;
	snprintf(code, sizeof(code), "%d", http_status);
	series_get(&m->admin, route, code, NULL)->count++;
}

struct http_counters *
metrics_http(struct metrics *m)
{
	return m != NULL ? &m->http : NULL;
}

/* ---- rendering ----------------------------------------------------------- */

static void
render_http(const struct http_counters *c, struct evbuffer *out)
{
	const struct {
		const char *reason;
		unsigned long long n;
	} r[] = {
	    {"max_sockets", c->refused_sockets},     {"max_sockets_per_peer", c->refused_peer},
	    {"request_timeout", c->request_timeout}, {"max_body", c->too_large},
	    {"bad_request", c->bad_request},	     {"incomplete", c->incomplete},
	    {"accept_failed", c->accept_failed},
	};

	evbuffer_add_printf(out,
			    "# HELP scepgw_http_connections Open SCEP connections.\n"
			    "# TYPE scepgw_http_connections gauge\n"
			    "scepgw_http_connections %llu\n",
			    c->open);
	evbuffer_add_printf(out, "# HELP scepgw_http_refused_total SCEP connections and requests "
				 "refused by the HTTP limits, by reason.\n"
				 "# TYPE scepgw_http_refused_total counter\n");
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		evbuffer_add_printf(out, "scepgw_http_refused_total{reason=\"%s\"} %llu\n",
				    r[i].reason, r[i].n);
}

static void
render_hist(struct evbuffer *out, const char *name, const char *label, const struct series *s)
{
	for (int i = 0; i < NBUCKETS; i++)
		evbuffer_add_printf(out, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label,
				    s->labels[0], bucket_le[i], s->h.le[i]);
	evbuffer_add_printf(out, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label,
			    s->labels[0], s->h.count);
	evbuffer_add_printf(out, "%s_sum{%s=\"%s\"} %.6f\n", name, label, s->labels[0], s->h.sum);
	evbuffer_add_printf(out, "%s_count{%s=\"%s\"} %llu\n", name, label, s->labels[0],
			    s->h.count);
}

static void
render_requests(const struct metrics *m, struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP scepgw_requests_total SCEP requests by operation, "
				 "profile and outcome.\n# TYPE scepgw_requests_total counter\n");
	for (size_t i = 0; i < m->requests.n; i++) {
		const struct series *s = &m->requests.s[i];

		evbuffer_add_printf(out,
				    "scepgw_requests_total{operation=\"%s\",profile=\"%s\","
				    "outcome=\"%s\"} %llu\n",
				    s->labels[0], s->labels[1], s->labels[2], s->count);
	}
	evbuffer_add_printf(out, "# HELP scepgw_request_duration_seconds SCEP request latency.\n"
				 "# TYPE scepgw_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->latency.n; i++)
		render_hist(out, "scepgw_request_duration_seconds", "operation", &m->latency.s[i]);
}

static void
render_backend(const struct metrics *m, struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP scepgw_backend_results_total Backend answers by status.\n"
				 "# TYPE scepgw_backend_results_total counter\n");
	for (size_t i = 0; i < m->backend.n; i++) {
		const struct series *s = &m->backend.s[i];

		if (strcmp(s->labels[1], "*") != 0)
			evbuffer_add_printf(out,
					    "scepgw_backend_results_total{backend=\"%s\","
					    "status=\"%s\"} %llu\n",
					    s->labels[0], s->labels[1], s->count);
	}
	evbuffer_add_printf(out, "# HELP scepgw_backend_duration_seconds Backend latency.\n"
				 "# TYPE scepgw_backend_duration_seconds histogram\n");
	for (size_t i = 0; i < m->backend.n; i++)
		if (strcmp(m->backend.s[i].labels[1], "*") == 0)
			render_hist(out, "scepgw_backend_duration_seconds", "backend",
				    &m->backend.s[i]);
	evbuffer_add_printf(out, "# HELP scepgw_admin_requests_total Admin API calls.\n"
				 "# TYPE scepgw_admin_requests_total counter\n");
	for (size_t i = 0; i < m->admin.n; i++)
		evbuffer_add_printf(
		    out, "scepgw_admin_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
		    m->admin.s[i].labels[0], m->admin.s[i].labels[1], m->admin.s[i].count);
}

int
metrics_render(const struct metrics *m, struct store *s, struct evbuffer *out)
{
	struct store_stats st = {0};
	int64_t pending = 0, bpending = 0;
	int r;

	if ((r = store_txn_count(s, TXN_AWAITING_APPROVAL, &pending)) < 0 ||
	    (r = store_txn_count(s, TXN_BACKEND_PENDING, &bpending)) < 0 ||
	    (r = store_stats(s, &st)) < 0)
		return r;
	render_requests(m, out);
	render_backend(m, out);
	render_http(&m->http, out);
	evbuffer_add_printf(out,
			    "# HELP scepgw_pending_transactions Requests waiting.\n"
			    "# TYPE scepgw_pending_transactions gauge\n"
			    "scepgw_pending_transactions{state=\"awaiting_approval\"} %lld\n"
			    "scepgw_pending_transactions{state=\"backend_pending\"} %lld\n",
			    (long long)pending, (long long)bpending);
	evbuffer_add_printf(out,
			    "# HELP scepgw_store_statements_total SQL statements run.\n"
			    "# TYPE scepgw_store_statements_total counter\n"
			    "scepgw_store_statements_total %llu\n"
			    "# HELP scepgw_store_seconds_total Time spent in the store.\n"
			    "# TYPE scepgw_store_seconds_total counter\n"
			    "scepgw_store_seconds_total %.6f\n",
			    (unsigned long long)st.statements, st.seconds);
	return 0;
}
