/* ctl.c: scepgwctl, the command-line client of the scepgw admin API.
 *
 *   scepgwctl [options] pending | show ID | approve ID | reject ID --reason TEXT
 *             | challenge PROFILE [--ttl 1h] [--subject CN] | certs [--subject S]
 *             | revoke SERIAL [--reason R] | profiles | token new NAME [--role R]
 *
 * It is a short-lived CLI, not the daemon, so waiting for the one transfer
 * is fine; it still goes through a libcurl multi handle (curl_multi_poll),
 * like everything in gateway/, so the blocking easy-perform call stays banned
 * without exceptions.  It reads its settings (lines "key = value": url,
 * token_file, cacert, cert, key) from --config FILE, else $SCEPGWCTL_CONFIG,
 * else /etc/scepgw/scepgwctl.conf, and says which on stderr unless it was
 * named on the command line; it never falls back to the quickstart's
 * development config (another gateway's), and refuses to guess. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "ctl_print.h"
#include "ctl_token.h"

#define CTL_MAX_REPLY (8 * 1024 * 1024)
#define CTL_PATH 1024
#define CTL_CERTS 100 /* rows scepgwctl certs gathers before it stops */

struct ctl {
	char url[CTL_PATH], token_file[CTL_PATH], cacert[CTL_PATH], cert[CTL_PATH], key[CTL_PATH];
	char token[512];
	int json;
	const char *reason, *ttl, *subject, *serial, *state, *before, *role;
	int help, version;
};

struct reply {
	char *buf;
	size_t len;
	long code;
};

#define CTL_CONF_DEFAULT "/etc/scepgw/scepgwctl.conf"

static void
usage(FILE *out)
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
	      "  profiles                             the SCEP profiles the gateway serves\n"
	      "  token new NAME [--role admin|read|challenge]   a new API token (printed "
	      "once) and\n"
	      "                                       its line for the gateway's tokens_file\n"
	      "options:\n"
	      "  --url URL  --token-file FILE  --cacert FILE  --cert FILE --key FILE (mTLS)\n"
	      "  --config FILE  --json (print the API's JSON)  --help  --version\n"
	      "Settings: --config FILE, else $SCEPGWCTL_CONFIG, else " CTL_CONF_DEFAULT "\n"
	      "(lines url = ..., token_file, cacert, cert, key); $SCEPGWCTL_TOKEN overrides "
	      "the token file.\n",
	      out);
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
	} else if (!strcmp(cmd, "profiles")) {
		snprintf(p, n, "/api/v1/profiles");
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
		usage(stderr);
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
			o != NULL ? ctl_js(o, "error") : (r.buf != NULL ? r.buf : ""));
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
		ctl_print_certs(all);
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
		ctl_print_human(cmd, o);
	}
	json_decref(o);
	return 0;
}

static int
parse_args(int argc, char **argv, struct ctl *c, const char **conf)
{
	static const struct option lo[] = {
	    {"url", 1, 0, 'u'},	    {"token-file", 1, 0, 't'},
	    {"cacert", 1, 0, 'C'},  {"cert", 1, 0, 'E'},
	    {"key", 1, 0, 'K'},	    {"config", 1, 0, 'c'},
	    {"json", 0, 0, 'j'},    {"reason", 1, 0, 'r'},
	    {"ttl", 1, 0, 'T'},	    {"subject", 1, 0, 's'},
	    {"serial", 1, 0, 'S'},  {"state", 1, 0, 'x'},
	    {"before", 1, 0, 'b'},  {"help", 0, 0, 'h'},
	    {"version", 0, 0, 'V'}, {"role", 1, 0, 'R'},
	    {0, 0, 0, 0},
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
		case 'h':
			c->help = 1;
			break;
		case 'V':
			c->version = 1;
			break;
		case 'R':
			c->role = optarg;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* The settings: --config, else $SCEPGWCTL_CONFIG, else the default file;
 * said on stderr when not named on the command line.  0, or the exit status. */
static int
conf_resolve(struct ctl *c, const char *cli, const char *env)
{
	const char *path = cli != NULL ? cli : env != NULL && env[0] ? env : NULL;
	struct stat st;

	if (path == NULL && !c->url[0] && stat(CTL_CONF_DEFAULT, &st) == 0)
		path = CTL_CONF_DEFAULT;
	if (path != NULL) {
		if (conf_load(c, path, 1) < 0)
			return 1;
		if (cli == NULL)
			fprintf(stderr, "scepgwctl: settings from %s%s\n", path,
				path == env ? " ($SCEPGWCTL_CONFIG)" : "");
	}
	if (c->url[0])
		return 0;
	if (path != NULL)
		fprintf(stderr, "scepgwctl: %s: no url = ... line\n", path);
	else
		fputs("scepgwctl: no settings: give --config FILE (or --url), or set "
		      "$SCEPGWCTL_CONFIG; " CTL_CONF_DEFAULT " does not exist (the quickstart "
		      "writes its own in its state directory, /var/lib/scepgw-dev by default)\n",
		      stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	struct ctl c = {0};
	const char *conf = NULL, *cmd, *arg = NULL, *arg2 = NULL;
	int r;

	/* options may come before or after the command */
	if (parse_args(argc, argv, &c, &conf) < 0) {
		usage(stderr);
		return 2;
	}
	if (c.help || c.version || optind >= argc) {
		if (c.version)
			printf("scepgwctl %s\n", SGW_VERSION);
		else
			usage(c.help ? stdout : stderr);
		return c.help || c.version ? 0 : 2;
	}
	cmd = argv[optind++];
	if (optind < argc && argv[optind][0] != '-')
		arg = argv[optind++];
	if (!strcmp(cmd, "token") && optind < argc && argv[optind][0] != '-')
		arg2 = argv[optind++];
	if (parse_args(argc, argv, &c, &conf) < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (c.help) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "token")) { /* local: no gateway, no settings */
		if (arg == NULL || strcmp(arg, "new") != 0 || arg2 == NULL) {
			usage(stderr);
			return 2;
		}
		return ctl_token_new(arg2, c.role);
	}
	if ((r = conf_resolve(&c, conf, getenv("SCEPGWCTL_CONFIG"))) != 0)
		return r;
	if (token_load(&c) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = run(&c, cmd, arg);
	curl_global_cleanup();
	memset(c.token, 0, sizeof(c.token));
	return r;
}
