/* ctl.c: scepgwctl, the command-line client of the scepgw admin API.
 *
 *   scepgwctl [options] pending | show ID | approve ID | reject ID --reason TEXT
 *             | challenge PROFILE [--ttl 1h] [--subject CN] | certs [--subject S]
 *             | revoke SERIAL [--reason R]
 *
 * It is a short-lived CLI, not the daemon, so waiting for the one transfer
 * is fine; it still goes through a libcurl multi handle (curl_multi_poll),
 * like everything in gateway/, so the blocking easy-perform call stays banned
 * without exceptions.  Without options it reads its settings from
 * $SCEPGWCTL_CONFIG, /etc/scepgw/scepgwctl.conf or the quickstart's
 * /var/lib/scepgw-dev/scepgwctl.conf (lines "key = value": url, token_file,
 * cacert, cert, key). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define CTL_MAX_REPLY (8 * 1024 * 1024)
#define CTL_PATH 1024
#define CTL_CERTS 100 /* rows scepgwctl certs gathers before it stops */

struct ctl {
	char url[CTL_PATH], token_file[CTL_PATH], cacert[CTL_PATH], cert[CTL_PATH], key[CTL_PATH];
	char token[512];
	int json;
	const char *reason, *ttl, *subject, *serial, *state, *before;
};

struct reply {
	char *buf;
	size_t len;
	long code;
};

static const char *const conf_paths[] = {"/etc/scepgw/scepgwctl.conf",
					 "/var/lib/scepgw-dev/scepgwctl.conf", NULL};

static void
usage(void)
{
	fputs("usage: scepgwctl [options] COMMAND\n"
	      "commands:\n"
	      "  pending [--state S]                  requests awaiting approval (S: pending, all, "
	      "issued, ...)\n"
	      "  show ID                              one transaction\n"
	      "  approve ID                           approve; the device's next poll gets the "
	      "certificate\n"
	      "  reject ID --reason TEXT              reject; the device gets FAILURE with TEXT\n"
	      "  challenge PROFILE [--ttl 1h] [--subject CN]   issue a one-time challenge\n"
	      "  certs [--subject S] [--serial HEX] [--before N]   issued certificates, newest "
	      "first\n"
	      "  revoke SERIAL [--reason keyCompromise|superseded|...]\n"
	      "options:\n"
	      "  --url URL  --token-file FILE  --cacert FILE  --cert FILE --key FILE (mTLS)\n"
	      "  --config FILE  --json (print the API's JSON)\n"
	      "Without --url: $SCEPGWCTL_CONFIG, /etc/scepgw/scepgwctl.conf, "
	      "/var/lib/scepgw-dev/scepgwctl.conf.\n",
	      stderr);
}

static void
set(char *dst, const char *v)
{
	snprintf(dst, CTL_PATH, "%s", v);
}

static int
conf_load(struct ctl *c, const char *path, int must)
{
	char line[CTL_PATH + 64], *k, *v, *e;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (must)
			fprintf(stderr, "scepgwctl: cannot open %s\n", path);
		return must ? -1 : 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		k = line + strspn(line, " \t");
		if (*k == '#' || *k == '\0' || (v = strchr(k, '=')) == NULL)
			continue;
		for (e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		v++;
		v += strspn(v, " \t");
		if (!strcmp(k, "url") && !c->url[0])
			set(c->url, v);
		else if (!strcmp(k, "token_file") && !c->token_file[0])
			set(c->token_file, v);
		else if (!strcmp(k, "cacert") && !c->cacert[0])
			set(c->cacert, v);
		else if (!strcmp(k, "cert") && !c->cert[0])
			set(c->cert, v);
		else if (!strcmp(k, "key") && !c->key[0])
			set(c->key, v);
	}
	fclose(f);
	return 0;
}

static int
token_load(struct ctl *c)
{
	const char *env = getenv("SCEPGWCTL_TOKEN");
	struct stat st;
	FILE *f;

	if (env != NULL && env[0]) {
		snprintf(c->token, sizeof(c->token), "%s", env);
		return 0;
	}
	if (!c->token_file[0])
		return 0;
	if ((f = fopen(c->token_file, "re")) == NULL) {
		fprintf(stderr, "scepgwctl: cannot read the token file %s\n", c->token_file);
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "scepgwctl: warning: %s is readable by others\n", c->token_file);
	if (fgets(c->token, sizeof(c->token), f) == NULL)
		c->token[0] = '\0';
	c->token[strcspn(c->token, "\r\n")] = '\0';
	fclose(f);
	return 0;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > CTL_MAX_REPLY || (nb = realloc(r->buf, r->len + len + 1)) == NULL)
		return 0;
	memcpy(nb + r->len, p, len);
	r->buf = nb;
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

/* One transfer through a multi handle, waiting in curl_multi_poll. */
static CURLcode
run_transfer(CURL *h)
{
	CURLM *m = curl_multi_init();
	CURLcode rc = CURLE_FAILED_INIT;
	CURLMsg *msg;
	int running = 1, left;

	if (m == NULL || curl_multi_add_handle(m, h) != CURLM_OK) {
		curl_multi_cleanup(m);
		return rc;
	}
	while (running > 0) {
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK))
			break;
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			rc = msg->data.result;
	curl_multi_remove_handle(m, h);
	curl_multi_cleanup(m);
	return rc;
}

/* One API call; body NULL = GET.  Returns the HTTP status, -1 on transport errors. */
static long
call(const struct ctl *c, const char *path, const char *body, struct reply *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char url[4 * CTL_PATH], auth[600];
	CURLcode rc;

	if (h == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->cacert[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert[0])
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	if (c->key[0])
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	if (c->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	rc = run_transfer(h);
	if (rc != CURLE_OK)
		fprintf(stderr, "scepgwctl: %s: %s\n", url, curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	memset(auth, 0, sizeof(auth));
	return rc == CURLE_OK ? r->code : -1;
}

/* ---- output -------------------------------------------------------------- */

static const char *
js(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static void
age(long long s, char *buf, int n)
{
	if (s < 120)
		snprintf(buf, (size_t)n, "%llds", s);
	else if (s < 7200)
		snprintf(buf, (size_t)n, "%lldm", s / 60);
	else if (s < 172800)
		snprintf(buf, (size_t)n, "%lldh", s / 3600);
	else
		snprintf(buf, (size_t)n, "%lldd", s / 86400);
}

static void
sans_text(const json_t *t, char *buf, size_t n)
{
	const char *kinds[] = {"dns", "ip", "email", "uri"};
	size_t used = 0, i;
	json_t *v;

	buf[0] = '\0';
	for (int k = 0; k < 4; k++)
		json_array_foreach(json_object_get(json_object_get(t, "sans"), kinds[k]), i, v)
		{
			int w = snprintf(buf + used, n - used, "%s%s:%s", used ? "," : "", kinds[k],
					 json_string_value(v));

			if (w < 0 || (size_t)w >= n - used)
				return;
			used += (size_t)w;
		}
	if (!buf[0])
		snprintf(buf, (size_t)n, "-");
}

static void
print_txns(const json_t *arr)
{
	char a[32], sans[256], key[64];
	size_t i;
	json_t *t;

	printf("%-6s %-6s %-18s %-10s %-10s %-40s %s\n", "ID", "AGE", "STATE", "PROFILE", "KEY",
	       "SUBJECT", "SANS / PEER");
	json_array_foreach(arr, i, t)
	{
		json_t *k = json_object_get(t, "key");

		age(json_integer_value(json_object_get(t, "age_seconds")), a, (int)sizeof(a));
		snprintf(key, sizeof(key), "%s-%lld", js(k, "type"),
			 (long long)json_integer_value(json_object_get(k, "bits")));
		sans_text(t, sans, sizeof(sans));
		printf("%-6lld %-6s %-18s %-10s %-10s %-40s %s / %s\n",
		       (long long)json_integer_value(json_object_get(t, "id")), a, js(t, "state"),
		       js(t, "profile"), key, js(t, "subject"), sans, js(t, "peer"));
	}
	if (i == 0)
		printf("(none)\n");
}

static void
print_txn(const json_t *t)
{
	char sans[512];
	json_t *k = json_object_get(t, "key");

	sans_text(t, sans, sizeof(sans));
	printf("id:             %lld\nstate:          %s\nprofile:        %s\n"
	       "transaction_id: %s\nsubject:        %s\nsans:           %s\n"
	       "key:            %s %lld\npeer:           %s\nage:            %llds\n",
	       (long long)json_integer_value(json_object_get(t, "id")), js(t, "state"),
	       js(t, "profile"), js(t, "transaction_id"), js(t, "subject"), sans, js(k, "type"),
	       (long long)json_integer_value(json_object_get(k, "bits")), js(t, "peer"),
	       (long long)json_integer_value(json_object_get(t, "age_seconds")));
	if (js(t, "reason")[0])
		printf("reason:         %s\n", js(t, "reason"));
	if (js(t, "serial")[0])
		printf("serial:         %s\n", js(t, "serial"));
}

static void
print_certs(const json_t *arr)
{
	char nb[32], na[32];
	size_t i;
	json_t *c;

	printf("%-34s %-10s %-10s %-8s %s\n", "SERIAL", "NOT_BEFORE", "NOT_AFTER", "STATUS",
	       "SUBJECT");
	json_array_foreach(arr, i, c)
	{
		time_t b = (time_t)json_integer_value(json_object_get(c, "not_before"));
		time_t e = (time_t)json_integer_value(json_object_get(c, "not_after"));
		struct tm tb, te;

		strftime(nb, sizeof(nb), "%Y-%m-%d", gmtime_r(&b, &tb));
		strftime(na, sizeof(na), "%Y-%m-%d", gmtime_r(&e, &te));
		printf("%-34s %-10s %-10s %-8s %s\n", js(c, "serial"), nb, na,
		       json_is_true(json_object_get(c, "revoked")) ? "revoked" : "valid",
		       js(c, "subject"));
	}
	if (i == 0)
		printf("(none)\n");
}

static void
print_human(const char *cmd, const json_t *o)
{
	if (!strcmp(cmd, "pending"))
		print_txns(json_object_get(o, "transactions"));
	else if (!strcmp(cmd, "certs"))
		print_certs(json_object_get(o, "certificates"));
	else if (!strcmp(cmd, "challenge")) {
		time_t e = (time_t)json_integer_value(json_object_get(o, "expires"));
		char when[64];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&e, &tm));
		printf("%s\n", js(o, "challenge"));
		fprintf(stderr, "one-time challenge for profile %s%s%s, expires %s\n",
			js(o, "profile"), js(o, "subject")[0] ? ", subject " : "", js(o, "subject"),
			when);
	} else if (!strcmp(cmd, "revoke"))
		printf("revoked %s (%s)\n", js(o, "serial"), js(o, "reason"));
	else
		print_txn(o);
}

/* ---- commands ------------------------------------------------------------ */

static void
query_add(char *q, size_t n, const char *k, const char *v)
{
	char *e;

	if (v == NULL)
		return;
	e = curl_easy_escape(NULL, v, 0);
	if (e == NULL)
		return;
	snprintf(q + strlen(q), n - strlen(q), "%s%s=%s", strchr(q, '?') ? "&" : "?", k, e);
	curl_free(e);
}

static char *
body_of(const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_t *o = json_object();
	char *s;

	if (v1 != NULL)
		json_object_set_new(o, k1, json_string(v1));
	if (k2 != NULL && v2 != NULL)
		json_object_set_new(o, k2, json_string(v2));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Build the request for cmd: path into p, body (malloc'd or NULL) returned. */
static int
request_for(const struct ctl *c, const char *cmd, const char *arg, char *p, size_t n, char **body)
{
	*body = NULL;
	if (!strcmp(cmd, "pending")) {
		snprintf(p, n, "/api/v1/transactions");
		query_add(p, n, "state", c->state != NULL ? c->state : "pending");
	} else if (!strcmp(cmd, "certs")) {
		snprintf(p, n, "/api/v1/certificates");
		query_add(p, n, "subject", c->subject);
		query_add(p, n, "serial", c->serial);
		query_add(p, n, "before", c->before);
	} else if (arg == NULL) {
		return -1;
	} else if (strspn(arg,
			  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		   strlen(arg)) {
		fprintf(stderr, "scepgwctl: bad argument '%s'\n", arg);
		return -1;
	} else if (!strcmp(cmd, "show")) {
		snprintf(p, n, "/api/v1/transactions/%s", arg);
	} else if (!strcmp(cmd, "approve")) {
		snprintf(p, n, "/api/v1/transactions/%s/approve", arg);
		*body = body_of("x", NULL, NULL, NULL);
	} else if (!strcmp(cmd, "reject")) {
		snprintf(p, n, "/api/v1/transactions/%s/reject", arg);
		*body = body_of("reason", c->reason != NULL ? c->reason : "rejected", NULL, NULL);
	} else if (!strcmp(cmd, "challenge")) {
		snprintf(p, n, "/api/v1/profiles/%s/challenges", arg);
		*body = body_of("ttl", c->ttl, "subject", c->subject);
	} else if (!strcmp(cmd, "revoke")) {
		snprintf(p, n, "/api/v1/certificates/%s/revoke", arg);
		*body = body_of("reason", c->reason, NULL, NULL);
	} else {
		return -1;
	}
	return 0;
}

/* One request; *ret the parsed reply when it is a 2xx JSON object (the
 * caller's), else the error printed. */
static int
request(struct ctl *c, const char *cmd, const char *arg, json_t **ret)
{
	struct reply r = {0};
	char path[2 * CTL_PATH], *body;
	json_t *o;
	long code;
	int rc = 1;

	*ret = NULL;
	if (request_for(c, cmd, arg, path, sizeof(path), &body) < 0) {
		usage();
		return 2;
	}
	code = call(c, path, body, &r);
	free(body);
	if (code < 0)
		goto out;
	o = r.buf != NULL ? json_loads(r.buf, 0, NULL) : NULL;
	if (code >= 200 && code < 300 && json_is_object(o)) {
		*ret = o;
		rc = 0;
	} else {
		fprintf(stderr, "scepgwctl: %s: HTTP %ld: %s\n", cmd, code,
			o != NULL ? js(o, "error") : (r.buf != NULL ? r.buf : ""));
		json_decref(o);
	}
out:
	free(r.buf);
	return rc;
}

/* certs, for a person: one search reads a bounded window of the store
 * (GET /api/v1/certificates), so follow "next" until CTL_CERTS rows or the
 * oldest certificate. */
static int
run_certs(struct ctl *c)
{
	json_t *all = json_array(), *o = NULL;
	json_int_t next = 0;
	char before[32];
	int rc = all == NULL;

	while (rc == 0 && (rc = request(c, "certs", NULL, &o)) == 0) {
		json_array_extend(all, json_object_get(o, "certificates"));
		next = json_integer_value(json_object_get(o, "next"));
		json_decref(o);
		if (next <= 0 || json_array_size(all) >= CTL_CERTS)
			break;
		snprintf(before, sizeof(before), "%lld", (long long)next);
		c->before = before;
	}
	if (rc == 0) {
		print_certs(all);
		if (next > 0)
			printf("(more: scepgwctl certs ... --before %lld)\n", (long long)next);
	}
	json_decref(all);
	return rc;
}

static int
run(struct ctl *c, const char *cmd, const char *arg)
{
	json_t *o;
	int rc;

	if (!strcmp(cmd, "certs") && !c->json)
		return run_certs(c);
	if ((rc = request(c, cmd, arg, &o)) != 0)
		return rc;
	if (c->json) {
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_human(cmd, o);
	}
	json_decref(o);
	return 0;
}

static int
parse_args(int argc, char **argv, struct ctl *c, const char **conf)
{
	static const struct option lo[] = {
	    {"url", 1, 0, 'u'},	    {"token-file", 1, 0, 't'}, {"cacert", 1, 0, 'C'},
	    {"cert", 1, 0, 'E'},    {"key", 1, 0, 'K'},	       {"config", 1, 0, 'c'},
	    {"json", 0, 0, 'j'},    {"reason", 1, 0, 'r'},     {"ttl", 1, 0, 'T'},
	    {"subject", 1, 0, 's'}, {"serial", 1, 0, 'S'},     {"state", 1, 0, 'x'},
	    {"before", 1, 0, 'b'},  {"help", 0, 0, 'h'},       {0, 0, 0, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:jh", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			set(c->url, optarg);
			break;
		case 't':
			set(c->token_file, optarg);
			break;
		case 'C':
			set(c->cacert, optarg);
			break;
		case 'E':
			set(c->cert, optarg);
			break;
		case 'K':
			set(c->key, optarg);
			break;
		case 'c':
			*conf = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'r':
			c->reason = optarg;
			break;
		case 'T':
			c->ttl = optarg;
			break;
		case 's':
			c->subject = optarg;
			break;
		case 'S':
			c->serial = optarg;
			break;
		case 'x':
			c->state = optarg;
			break;
		case 'b':
			c->before = optarg;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl c = {0};
	const char *conf = getenv("SCEPGWCTL_CONFIG"), *cmd, *arg = NULL;
	int r;

	/* options may come before or after the command */
	if (parse_args(argc, argv, &c, &conf) < 0 || optind >= argc) {
		usage();
		return 2;
	}
	cmd = argv[optind++];
	if (optind < argc && argv[optind][0] != '-')
		arg = argv[optind++];
	if (parse_args(argc, argv, &c, &conf) < 0 || optind != argc) {
		usage();
		return 2;
	}
	if (conf != NULL && conf_load(&c, conf, 1) < 0)
		return 1;
	for (int i = 0; !c.url[0] && conf == NULL && conf_paths[i] != NULL; i++)
		if (conf_load(&c, conf_paths[i], 0) == 0)
			break;
	if (!c.url[0]) {
		fprintf(stderr, "scepgwctl: no admin URL (--url, or a scepgwctl.conf)\n");
		return 2;
	}
	if (token_load(&c) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = run(&c, cmd, arg);
	curl_global_cleanup();
	memset(c.token, 0, sizeof(c.token));
	return r;
}
