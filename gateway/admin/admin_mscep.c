/* admin_mscep.c: GET /certsrv/mscep_admin/, the page Microsoft NDES serves
 * to hand out a one-time challenge.  MDMs (Fleet, Intune connectors, network
 * gear scripts) fetch it with basic auth, decode UTF-16 and pick the password
 * after "The enrollment challenge password is: <B> ".  Same shape here: an
 * UTF-16LE HTML page with a byte order mark, the password as uppercase hex. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "admin_mscep.h"
#include "admin_otp.h"
#include "admin_reply.h"
#include "metrics.h"
#include "validator_otp.h"

static int
add_utf16le(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char u[2] = {(unsigned char)*s, 0}; /* the page is ASCII */

		if (evbuffer_add(out, u, 2) != 0)
			return -1;
	}
	return 0;
}

static void
mscep_issued(struct admin_otp *j)
{
	const struct otp_issue *is = &j->is;
	char html[1024], what[128];
	struct evbuffer *out;
	int minutes = (is->default_ttl + 59) / 60;

	if (is->rc < 0) {
		admin_reply_error(j->a, j->req, &j->p, "mscep_admin",
				  is->rc == -SGW_EDENIED ? 429 : 500, "%s",
				  is->rc == -SGW_EDENIED ? "The password cache is full."
							 : "cannot issue a challenge");
		return;
	}
	snprintf(html, sizeof(html),
		 "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; "
		 "charset=UTF-16\">\r\n<Title>Network Device Enrollment Service</Title></Head>\r\n"
		 "<Body BgColor=#FFFFFF>\r\n<Font ID=locPageFont Face=\"Arial\">\r\n"
		 "<P ID=locPageTitle> <Font Size=+1><B>Network Device Enrollment Service (scepgw, "
		 "profile %s)</B></Font>\r\n"
		 "<P> The enrollment challenge password is: <B> %s </B>\r\n"
		 "<P> The password is valid for one enrollment and expires in %d minutes.\r\n"
		 "</Font></Body></HTML>\r\n",
		 is->profile, is->secret, minutes);
	out = evbuffer_new();
	if (out == NULL || evbuffer_add(out, "\xff\xfe", 2) != 0 || add_utf16le(out, html) < 0) {
		OPENSSL_cleanse(html, sizeof(html));
		evbuffer_free(out);
		admin_reply_error(j->a, j->req, &j->p, "mscep_admin", 500, "out of memory");
		return;
	}
	OPENSSL_cleanse(html, sizeof(html));
	snprintf(what, sizeof(what), "profile=%s expires=%lld", is->profile,
		 (long long)is->expires);
	admin_audit(&j->p, "mscep_admin", 200, what);
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type",
			  "text/html; charset=utf-16");
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Cache-Control", "no-store");
	admin_send(j->a, j->req, "mscep_admin", 200, out);
}

void
admin_mscep(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	const char *profile = a->cfg->mscep_profile;
	struct profile *prof = profile != NULL ? profiles_find(a->gw->profiles, profile) : NULL;
	struct otp *otp = prof != NULL ? validator_as_otp(prof->validator) : NULL;
	struct admin_otp *j;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || otp == NULL) {
		admin_reply_error(a, req, p, "mscep_admin", 409,
				  "admin.mscep_profile must name a profile with an otp challenge");
		return;
	}
	if ((j = admin_otp_new(a, req, p, mscep_issued)) == NULL)
		return;
	snprintf(j->is.profile, sizeof(j->is.profile), "%s", profile);
	admin_otp_start(j, otp, "mscep_admin");
}
