/* ctl_print.c: what scepgwctl prints for a person (without --json): the
 * admin API's JSON replies as tables and "approved 12" lines. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_print.h"

const char *
ctl_js(const json_t *o, const char *k)
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
		snprintf(key, sizeof(key), "%s-%lld", ctl_js(k, "type"),
			 (long long)json_integer_value(json_object_get(k, "bits")));
		sans_text(t, sans, sizeof(sans));
		printf("%-6lld %-6s %-18s %-10s %-10s %-40s %s / %s\n",
		       (long long)json_integer_value(json_object_get(t, "id")), a,
		       ctl_js(t, "state"), ctl_js(t, "profile"), key, ctl_js(t, "subject"), sans,
		       ctl_js(t, "peer"));
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
	       (long long)json_integer_value(json_object_get(t, "id")), ctl_js(t, "state"),
	       ctl_js(t, "profile"), ctl_js(t, "transaction_id"), ctl_js(t, "subject"), sans,
	       ctl_js(k, "type"), (long long)json_integer_value(json_object_get(k, "bits")),
	       ctl_js(t, "peer"), (long long)json_integer_value(json_object_get(t, "age_seconds")));
	if (ctl_js(t, "reason")[0])
		printf("reason:         %s\n", ctl_js(t, "reason"));
	if (ctl_js(t, "serial")[0])
		printf("serial:         %s\n", ctl_js(t, "serial"));
}

void
ctl_print_certs(const json_t *arr)
{
	char nb[32], na[32];
	size_t i;
	json_t *c;

	printf("%-34s %-10s %-10s %-10s %s\n", "SERIAL", "NOT_BEFORE", "NOT_AFTER", "STATUS",
	       "SUBJECT");
	json_array_foreach(arr, i, c)
	{
		time_t b = (time_t)json_integer_value(json_object_get(c, "not_before"));
		time_t e = (time_t)json_integer_value(json_object_get(c, "not_after"));
		struct tm tb, te;

		strftime(nb, sizeof(nb), "%Y-%m-%d", gmtime_r(&b, &tb));
		strftime(na, sizeof(na), "%Y-%m-%d", gmtime_r(&e, &te));
		printf("%-34s %-10s %-10s %-10s %s\n", ctl_js(c, "serial"), nb, na,
		       json_is_true(json_object_get(c, "revoked"))
			   ? "revoked"
			   : (ctl_js(c, "superseded_by")[0] ? "superseded" : "valid"),
		       ctl_js(c, "subject"));
	}
	if (i == 0)
		printf("(none)\n");
}

static void
print_profiles(const json_t *arr)
{
	size_t i;
	json_t *p;

	printf("%-16s %-10s %-12s %-10s %-8s %s\n", "PROFILE", "CHALLENGE", "BACKEND", "APPROVAL",
	       "RENEWAL", "URL PATH");
	json_array_foreach(arr, i, p)
	    printf("%-16s %-10s %-12s %-10s %-8s /scep/%s/pkiclient.exe\n", ctl_js(p, "name"),
		   ctl_js(p, "challenge"), ctl_js(p, "backend"), ctl_js(p, "approval"),
		   json_is_true(json_object_get(p, "renewal")) ? "yes" : "no", ctl_js(p, "name"));
	if (i == 0)
		printf("(none)\n");
}

void
ctl_print_human(const char *cmd, const json_t *o)
{
	if (!strcmp(cmd, "pending"))
		print_txns(json_object_get(o, "transactions"));
	else if (!strcmp(cmd, "certs"))
		ctl_print_certs(json_object_get(o, "certificates"));
	else if (!strcmp(cmd, "challenge")) {
		time_t e = (time_t)json_integer_value(json_object_get(o, "expires"));
		char when[64];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&e, &tm));
		printf("%s\n", ctl_js(o, "challenge"));
		fprintf(stderr, "one-time challenge for profile %s%s%s, expires %s\n",
			ctl_js(o, "profile"), ctl_js(o, "subject")[0] ? ", subject " : "",
			ctl_js(o, "subject"), when);
	} else if (!strcmp(cmd, "revoke")) {
		printf("revoked %s (%s)\n", ctl_js(o, "serial"), ctl_js(o, "reason"));
	} else if (!strcmp(cmd, "profiles")) {
		print_profiles(json_object_get(o, "profiles"));
	} else if (!strcmp(cmd, "approve") || !strcmp(cmd, "reject")) {
		printf("%s %lld (%s)\n", !strcmp(cmd, "approve") ? "approved" : "rejected",
		       (long long)json_integer_value(json_object_get(o, "id")), ctl_js(o, "state"));
		print_txn(o);
	} else {
		print_txn(o);
	}
}
