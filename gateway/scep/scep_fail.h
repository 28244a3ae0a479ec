/* scep_fail.h: outcomes of a SCEP request and their one mapping to the wire
 * (pkiStatus, failInfo, HTTP status).  Only scep_fail.c holds that table. */
#ifndef SGW_SCEP_FAIL_H
#define SGW_SCEP_FAIL_H

enum scep_pki_status { SCEP_STATUS_SUCCESS = 0, SCEP_STATUS_FAILURE = 2, SCEP_STATUS_PENDING = 3 };

enum scep_fail_info {
	SCEP_FAIL_BADALG = 0,
	SCEP_FAIL_BADMESSAGECHECK = 1,
	SCEP_FAIL_BADREQUEST = 2,
	SCEP_FAIL_BADTIME = 3,
	SCEP_FAIL_BADCERTID = 4,
	SCEP_FAIL_NONE = -1
};

enum scep_outcome {
	SCEP_OUT_SUCCESS,	 /* CertRep SUCCESS */
	SCEP_OUT_PENDING,	 /* CertRep PENDING */
	SCEP_OUT_BAD_ALG,	 /* unsupported or disallowed cipher/digest */
	SCEP_OUT_BAD_MESSAGE,	 /* signature or digest mismatch, undecryptable envelope */
	SCEP_OUT_BAD_REQUEST,	 /* malformed content, unknown messageType */
	SCEP_OUT_DENIED,	 /* challenge wrong, CSR policy, replay */
	SCEP_OUT_BAD_TIME,	 /* signingTime outside the allowed skew */
	SCEP_OUT_BAD_CERT_ID,	 /* no such certificate / transaction */
	SCEP_OUT_BACKEND_FAILED, /* CA backend refused or failed */
	/* no pkiMessage can be formed: answered with an HTTP error */
	SCEP_OUT_HTTP_MALFORMED,   /* 400: body not a pkiMessage, bad base64 */
	SCEP_OUT_HTTP_BAD_OP,	   /* 400: unknown or missing operation */
	SCEP_OUT_HTTP_NO_PROFILE,  /* 404: unknown profile */
	SCEP_OUT_HTTP_METHOD,	   /* 405: wrong HTTP method */
	SCEP_OUT_HTTP_TOO_LARGE,   /* 413: body over the limit */
	SCEP_OUT_HTTP_UNAVAILABLE, /* 503: overloaded or shutting down */
	SCEP_OUT_HTTP_INTERNAL,	   /* 500 */
	SCEP_OUT_MAX
};

struct scep_fail_map {
	const char *name; /* for logs: "success", "badRequest", ... */
	int pki_status;	  /* enum scep_pki_status, or -1 for HTTP-only outcomes */
	int fail_info;	  /* enum scep_fail_info, SCEP_FAIL_NONE if none */
	int http_status;  /* 200 for every CertRep */
};

const struct scep_fail_map *scep_fail_lookup(enum scep_outcome out);
const char *scep_fail_info_name(int fail_info);

#endif
