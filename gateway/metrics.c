/* metrics.c: Prometheus counters and histograms, kept in fixed tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "config.h"

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

#define METRICS_MAX_BACKENDS 64

/* What the health check and the gauges need of a backend, by name (so it
 * lasts across reloads, which make new instances). */
struct backend_state {
	char name[64];
	int64_t last_ok, last_fail; /* seconds since the epoch, 0: never */
	int64_t crl_next_update;    /* 0: no CRL served yet */
};

struct metrics {
	struct family requests;	   /* op, profile, outcome */
	struct family latency;	   /* op */
	struct family backend;	   /* backend, status */
	struct family admin;	   /* route, code */
	struct http_counters http; /* the SCEP listeners */
	struct backend_state bs[METRICS_MAX_BACKENDS];
	size_t n_bs;
	unsigned long long reloads[2]; /* refused, ok */
	int64_t started;
	struct profile_set *const *profiles;
	char instance[64]; /* the label on every sample; "" none */
};

static const char *const status_names[BACKEND_STATUS_MAX] = {
    "issued", "pending", "rejected", "fail_temp", "fail_perm",
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(struct metrics));

	if (m != NULL)
		m->started = (int64_t)time(NULL);
	return m;
}

void
metrics_set_profiles(struct metrics *m, struct profile_set *const *current)
{
	if (m != NULL)
		m->profiles = current;
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

static struct backend_state *
bstate(struct metrics *m, const char *backend)
{
	char name[64];

	label_copy(name, backend);
	for (size_t i = 0; i < m->n_bs; i++)
		if (strcmp(m->bs[i].name, name) == 0)
			return &m->bs[i];
	if (m->n_bs == METRICS_MAX_BACKENDS)
		return NULL;
	memcpy(m->bs[m->n_bs].name, name, sizeof(name));
	return &m->bs[m->n_bs++];
}

void
metrics_backend(struct metrics *m, const char *backend, int status, const struct timespec *t0)
{
	struct backend_state *b;
	struct timespec t1;
	double seconds;

	if (m == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	series_get(&m->backend, backend,
		   (unsigned)status < BACKEND_STATUS_MAX ? status_names[status] : "?", NULL)
	    ->count++;
	hist_observe(&series_get(&m->backend, backend, "*", NULL)->h, seconds);
	if ((b = bstate(m, backend)) == NULL)
		return;
	if (status == BACKEND_FAIL_TEMP)
		b->last_fail = (int64_t)time(NULL);
	else
		b->last_ok = (int64_t)time(NULL);
}

int
metrics_backend_up(const struct metrics *m, const char *backend)
{
	for (size_t i = 0; m != NULL && i < m->n_bs; i++)
		if (strcmp(m->bs[i].name, backend) == 0)
			return !(m->bs[i].last_fail > 0 && m->bs[i].last_fail >= m->bs[i].last_ok);
	return 1;
}

void
metrics_crl(struct metrics *m, const char *backend, int64_t next_update)
{
	struct backend_state *b = m != NULL ? bstate(m, backend) : NULL;

	if (b != NULL)
		b->crl_next_update = next_update;
}

void
metrics_reload(struct metrics *m, int ok)
{
	if (m != NULL)
		m->reloads[ok != 0]++;
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

static int metrics_render_raw(const struct metrics *m, const struct metrics_store *ms,
			      struct evbuffer *out);

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
	    {"accept_failed", c->accept_failed},     {"proxy_protocol", c->refused_proxy},
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

static void
render_health(const struct metrics *m, struct evbuffer *out)
{
	evbuffer_add_printf(out,
			    "# HELP scepgw_build_info The running build.\n"
			    "# TYPE scepgw_build_info gauge\n"
			    "scepgw_build_info{version=\"%s\"} 1\n"
			    "# HELP scepgw_start_time_seconds When the process started.\n"
			    "# TYPE scepgw_start_time_seconds gauge\n"
			    "scepgw_start_time_seconds %lld\n"
			    "# HELP scepgw_config_reloads_total Reloads (SIGHUP) by result.\n"
			    "# TYPE scepgw_config_reloads_total counter\n"
			    "scepgw_config_reloads_total{result=\"ok\"} %llu\n"
			    "scepgw_config_reloads_total{result=\"refused\"} %llu\n",
			    SGW_VERSION, (long long)m->started, m->reloads[1], m->reloads[0]);
	evbuffer_add_printf(out, "# HELP scepgw_backend_up 0 when the backend's last call found "
				 "it unreachable (fail_temp), else 1.\n"
				 "# TYPE scepgw_backend_up gauge\n");
	for (size_t i = 0; i < m->n_bs; i++)
		evbuffer_add_printf(out, "scepgw_backend_up{backend=\"%s\"} %d\n", m->bs[i].name,
				    metrics_backend_up(m, m->bs[i].name));
	evbuffer_add_printf(out, "# HELP scepgw_backend_last_success_seconds When the backend "
				 "last answered (not fail_temp).\n"
				 "# TYPE scepgw_backend_last_success_seconds gauge\n");
	for (size_t i = 0; i < m->n_bs; i++)
		if (m->bs[i].last_ok > 0)
			evbuffer_add_printf(out,
					    "scepgw_backend_last_success_seconds{backend=\"%s\"} "
					    "%lld\n",
					    m->bs[i].name, (long long)m->bs[i].last_ok);
	evbuffer_add_printf(out, "# HELP scepgw_crl_next_update_seconds nextUpdate of the last "
				 "CRL served, by backend.\n"
				 "# TYPE scepgw_crl_next_update_seconds gauge\n");
	for (size_t i = 0; i < m->n_bs; i++)
		if (m->bs[i].crl_next_update > 0)
			evbuffer_add_printf(out,
					    "scepgw_crl_next_update_seconds{backend=\"%s\"} %lld\n",
					    m->bs[i].name, (long long)m->bs[i].crl_next_update);
}

static void
render_cert(struct evbuffer *out, const char *kind, const char *name, X509 *x)
{
	struct tm tm;
	char sub[256] = "?", l[3][64];

	if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), sub, sizeof(sub));
	label_copy(l[0], kind);
	label_copy(l[1], name);
	label_copy(l[2], sub);
	evbuffer_add_printf(out,
			    "scepgw_certificate_not_after_seconds{kind=\"%s\",name=\"%s\","
			    "subject=\"%s\"} %lld\n",
			    l[0], l[1], l[2], (long long)timegm(&tm));
}

/* notAfter of every RA certificate and CA certificate in service. */
static void
render_certs(const struct profile_set *ps, struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP scepgw_certificate_not_after_seconds notAfter of the RA "
				 "and CA certificates in service.\n"
				 "# TYPE scepgw_certificate_not_after_seconds gauge\n");
	for (size_t i = 0; ps != NULL && i < ps->n_ids; i++) {
		const struct ra_identity *id = &ps->ids[i];

		render_cert(out, "ra_sign", id->cfg->name, id->sign_cert);
		if (id->enc_cert != id->sign_cert)
			render_cert(out, "ra_encrypt", id->cfg->name, id->enc_cert);
		for (int k = 0; k < sk_X509_num(id->ca_chain); k++)
			render_cert(out, "ca", id->cfg->name, sk_X509_value(id->ca_chain, k));
	}
	for (size_t i = 0; ps != NULL && i < ps->n_backends; i++) {
		STACK_OF(X509) *chain = backend_ca_chain(ps->backends[i]);

		for (int k = 0; k < sk_X509_num(chain); k++)
			render_cert(out, "backend_ca", backend_name(ps->backends[i]),
				    sk_X509_value(chain, k));
	}
}

void
metrics_set_instance(struct metrics *m, const char *instance)
{
	if (m != NULL)
		label_copy(m->instance, instance);
}

/* Every sample line of raw into out with the label scepgw_instance="NAME" last:
 * before the '}' that ends its labels, or as its only label.  The value is
 * what follows the line's last space (a label value may hold spaces). */
static int
relabel(const char *instance, struct evbuffer *raw, struct evbuffer *out)
{
	size_t len = evbuffer_get_length(raw);
	const char *p = (const char *)evbuffer_pullup(raw, -1), *end = p + len;

	if (len > 0 && p == NULL)
		return -SGW_ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp, *e = nl != NULL ? nl : end;

		for (sp = e; sp > p && sp[-1] != ' '; sp--)
			;
		if (p[0] == '#' || sp <= p + 1) {
			evbuffer_add(out, p, (size_t)(e - p));
		} else if (sp[-2] == '}') {
			evbuffer_add(out, p, (size_t)(sp - 2 - p));
			evbuffer_add_printf(out, ",scepgw_instance=\"%s\"", instance);
			evbuffer_add(out, sp - 2, (size_t)(e - (sp - 2)));
		} else {
			evbuffer_add(out, p, (size_t)(sp - 1 - p));
			evbuffer_add_printf(out, "{scepgw_instance=\"%s\"}", instance);
			evbuffer_add(out, sp - 1, (size_t)(e - (sp - 1)));
		}
		evbuffer_add(out, "\n", nl != NULL);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int
metrics_store_read(struct store *s, struct metrics_store *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = store_txn_count(s, TXN_AWAITING_APPROVAL, &ret->pending)) < 0 ||
	    (r = store_txn_count(s, TXN_BACKEND_PENDING, &ret->bpending)) < 0 ||
	    (r = store_stats(s, &ret->st)) < 0)
		return r;
	return 0;
}

int
metrics_render(const struct metrics *m, const struct metrics_store *ms, struct evbuffer *out)
{
	struct evbuffer *raw;
	int r;

	if (m->instance[0] == '\0')
		return metrics_render_raw(m, ms, out);
	if ((raw = evbuffer_new()) == NULL)
		return -SGW_ENOMEM;
	r = metrics_render_raw(m, ms, raw);
	if (r == 0)
		r = relabel(m->instance, raw, out);
	evbuffer_free(raw);
	return r;
}

static int
metrics_render_raw(const struct metrics *m, const struct metrics_store *ms, struct evbuffer *out)
{
	render_requests(m, out);
	render_backend(m, out);
	render_health(m, out);
	render_certs(m->profiles != NULL ? *m->profiles : NULL, out);
	render_http(&m->http, out);
	evbuffer_add_printf(out,
			    "# HELP scepgw_pending_transactions Requests waiting.\n"
			    "# TYPE scepgw_pending_transactions gauge\n"
			    "scepgw_pending_transactions{state=\"awaiting_approval\"} %lld\n"
			    "scepgw_pending_transactions{state=\"backend_pending\"} %lld\n",
			    (long long)ms->pending, (long long)ms->bpending);
	evbuffer_add_printf(out,
			    "# HELP scepgw_store_statements_total SQL statements run.\n"
			    "# TYPE scepgw_store_statements_total counter\n"
			    "scepgw_store_statements_total %llu\n"
			    "# HELP scepgw_store_seconds_total Time spent in the store.\n"
			    "# TYPE scepgw_store_seconds_total counter\n"
			    "scepgw_store_seconds_total %.6f\n",
			    (unsigned long long)ms->st.statements, ms->st.seconds);
	return 0;
}
