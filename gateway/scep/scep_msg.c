/* scep_msg.c: decode and verify a pkiMessage (RFC 8894 3.1, 3.2).
 * Order: parse -> signer -> transactionID/senderNonce (needed for any reply)
 * -> digest algorithm -> signature -> content -> messageType. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include "scep_caps.h"
#include "scep_msg.h"

#define SCEP_MSG_MAX_LEN (1024 * 1024)

/* Filled once by scep_oids_init (the allowed OID/NID registration global). */
static struct scep_nids nids;

static const struct {
	const char *oid, *sn, *ln;
	size_t off;
} scep_oid_table[] = {
    {"2.16.840.1.113733.1.9.2", "messageType", "SCEP messageType",
     offsetof(struct scep_nids, message_type)},
    {"2.16.840.1.113733.1.9.3", "pkiStatus", "SCEP pkiStatus",
     offsetof(struct scep_nids, pki_status)},
    {"2.16.840.1.113733.1.9.4", "failInfo", "SCEP failInfo", offsetof(struct scep_nids, fail_info)},
    {"2.16.840.1.113733.1.9.5", "senderNonce", "SCEP senderNonce",
     offsetof(struct scep_nids, sender_nonce)},
    {"2.16.840.1.113733.1.9.6", "recipientNonce", "SCEP recipientNonce",
     offsetof(struct scep_nids, recipient_nonce)},
    {"2.16.840.1.113733.1.9.7", "transactionID", "SCEP transactionID",
     offsetof(struct scep_nids, transaction_id)},
    {"1.3.6.1.5.5.7.24.1", "failInfoText", "SCEP failInfoText",
     offsetof(struct scep_nids, fail_info_text)},
};

static int
oid_register(const char *oid, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(oid);

	if (nid != NID_undef)
		return nid;
	nid = OBJ_create(oid, sn, ln);
	if (nid == NID_undef) /* the names are taken: register the bare OID */
		nid = OBJ_create(oid, NULL, NULL);
	ERR_clear_error();
	return nid;
}

int
scep_oids_init(void)
{
	for (size_t i = 0; i < sizeof(scep_oid_table) / sizeof(scep_oid_table[0]); i++) {
		int nid =
		    oid_register(scep_oid_table[i].oid, scep_oid_table[i].sn, scep_oid_table[i].ln);

		if (nid == NID_undef)
			return -SGW_ENOMEM;
		*(int *)((char *)&nids + scep_oid_table[i].off) = nid;
	}
	return 0;
}

const struct scep_nids *
scep_nids(void)
{
	return &nids;
}

const char *
scep_msg_type_name(int msg_type)
{
	switch (msg_type) {
	case SCEP_MSG_CERTREP:
		return "CertRep";
	case SCEP_MSG_RENEWALREQ:
		return "RenewalReq";
	case SCEP_MSG_PKCSREQ:
		return "PKCSReq";
	case SCEP_MSG_CERTPOLL:
		return "CertPoll";
	case SCEP_MSG_GETCERT:
		return "GetCert";
	case SCEP_MSG_GETCRL:
		return "GetCRL";
	}
	return "unknown";
}

void
scep_msg_free(struct scep_msg *m)
{
	if (m == NULL)
		return;
	X509_free(m->signer);
	free(m->envelope);
	free(m);
}

/* The single value of a signed attribute that occurs once, or NULL. */
static const ASN1_TYPE *
attr_value(CMS_SignerInfo *si, int nid)
{
	int pos = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a;

	if (pos < 0 || CMS_signed_get_attr_by_NID(si, nid, pos) >= 0)
		return NULL;
	a = CMS_signed_get_attr(si, pos);
	if (a == NULL || X509_ATTRIBUTE_count(a) != 1)
		return NULL;
	return X509_ATTRIBUTE_get0_type(a, 0);
}

/* A string attribute: PrintableString, leniently also IA5String/UTF8String.
 * Copies printable ASCII only into buf (size > max). */
static int
attr_string(CMS_SignerInfo *si, int nid, char *buf, size_t max)
{
	const ASN1_TYPE *t = attr_value(si, nid);
	const ASN1_STRING *s;
	int n;

	if (t == NULL || (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_IA5STRING &&
			  t->type != V_ASN1_UTF8STRING))
		return -SGW_EPARSE;
	s = t->value.asn1_string;
	n = ASN1_STRING_length(s);
	if (n <= 0 || (size_t)n > max)
		return -SGW_EPARSE;
	for (int i = 0; i < n; i++) {
		unsigned char c = ASN1_STRING_get0_data(s)[i];

		if (c < 0x20 || c > 0x7e)
			return -SGW_EPARSE;
		buf[i] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

static int
read_nonce(CMS_SignerInfo *si, uint8_t *nonce)
{
	const ASN1_TYPE *t = attr_value(si, nids.sender_nonce);

	if (t == NULL || t->type != V_ASN1_OCTET_STRING ||
	    ASN1_STRING_length(t->value.octet_string) != SCEP_NONCE_LEN)
		return -SGW_EPARSE;
	memcpy(nonce, ASN1_STRING_get0_data(t->value.octet_string), SCEP_NONCE_LEN);
	return 0;
}

static time_t
read_signing_time(CMS_SignerInfo *si)
{
	const ASN1_TYPE *t = attr_value(si, NID_pkcs9_signingTime);
	struct tm tm;

	if (t == NULL || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return 0;
	if (!ASN1_TIME_to_tm((const ASN1_TIME *)t->value.asn1_string, &tm))
		return 0;
	return timegm(&tm);
}

/* messageType: a known request type, else BAD_REQUEST (msg_type -1 when
 * absent or not a number). */
static void
read_msg_type(CMS_SignerInfo *si, struct scep_msg *m)
{
	char buf[8];
	char *end;
	long v;

	m->msg_type = -1;
	if (attr_string(si, nids.message_type, buf, 3) < 0) {
		m->outcome = SCEP_OUT_BAD_REQUEST;
		snprintf(m->reason, sizeof(m->reason), "messageType missing or malformed");
		return;
	}
	v = strtol(buf, &end, 10);
	if (*end != '\0' || buf[0] < '0' || buf[0] > '9') {
		m->outcome = SCEP_OUT_BAD_REQUEST;
		snprintf(m->reason, sizeof(m->reason), "messageType not a number");
		return;
	}
	m->msg_type = (int)v;
	switch (m->msg_type) {
	case SCEP_MSG_RENEWALREQ:
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_CERTPOLL:
	case SCEP_MSG_GETCERT:
	case SCEP_MSG_GETCRL:
		return;
	}
	m->outcome = SCEP_OUT_BAD_REQUEST;
	snprintf(m->reason, sizeof(m->reason), "unsupported messageType %d", m->msg_type);
}

static int
digest_allowed(int nid, unsigned caps, int allow_md5)
{
	return nid == NID_md5 ? allow_md5 : scep_caps_digest_ok(caps, nid);
}

static int
hash_spki(X509 *x, uint8_t *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	if (n <= 0)
		return -SGW_ENOMEM;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

/* The certificate among the embedded ones that matches the SignerInfo. */
static X509 *
find_signer(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	X509 *found = NULL;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (CMS_SignerInfo_cert_cmp(si, x) == 0) {
			found = x;
			X509_up_ref(found);
			break;
		}
	}
	sk_X509_pop_free(certs, X509_free);
	return found;
}

/* Stage 1: what a reply needs.  < 0 when no reply can be formed. */
static int
decode_header(CMS_ContentInfo *cms, CMS_SignerInfo **ret_si, struct scep_msg *m,
	      struct sgw_err *err)
{
	STACK_OF(CMS_SignerInfo) * sis;
	CMS_SignerInfo *si;

	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		return sgw_err_set(err, SGW_EPARSE, "pkiMessage is not SignedData");
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1)
		return sgw_err_set(err, SGW_EPARSE, "pkiMessage has %d signers, want 1",
				   sk_CMS_SignerInfo_num(sis));
	si = sk_CMS_SignerInfo_value(sis, 0);
	m->signer = find_signer(cms, si);
	if (m->signer == NULL)
		return sgw_err_set(err, SGW_EPARSE, "signer certificate not embedded");
	if (attr_string(si, nids.transaction_id, m->transaction_id, SCEP_TXID_MAX) < 0)
		return sgw_err_set(err, SGW_EPARSE, "transactionID missing or malformed");
	if (read_nonce(si, m->sender_nonce) < 0)
		return sgw_err_set(err, SGW_EPARSE, "senderNonce missing or not %d bytes",
				   SCEP_NONCE_LEN);
	if (hash_spki(m->signer, m->signer_key_sha256) < 0)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	m->signing_time = read_signing_time(si);
	*ret_si = si;
	return 0;
}

static int
copy_content(CMS_ContentInfo *cms, struct scep_msg *m)
{
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
	int n;

	if (pos == NULL || *pos == NULL || (n = ASN1_STRING_length(*pos)) <= 0)
		return -SGW_EPARSE;
	m->envelope = malloc((size_t)n);
	if (m->envelope == NULL)
		return -SGW_ENOMEM;
	memcpy(m->envelope, ASN1_STRING_get0_data(*pos), (size_t)n);
	m->envelope_len = (size_t)n;
	return 0;
}

static void
set_outcome(struct scep_msg *m, enum scep_outcome out, const char *reason)
{
	m->outcome = out;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

/* Stage 2: messageType, then algorithm, signature and content, whose
 * failures take precedence.  Fills m->outcome. */
static int
decode_body(CMS_ContentInfo *cms, CMS_SignerInfo *si, unsigned caps, int allow_md5,
	    struct scep_msg *m)
{
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *obj;
	int r;

	read_msg_type(si, m);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	m->digest_nid = OBJ_obj2nid(obj);
	if (!digest_allowed(m->digest_nid, caps, allow_md5)) {
		m->outcome = SCEP_OUT_BAD_ALG;
		snprintf(m->reason, sizeof(m->reason), "digest %s not allowed",
			 m->digest_nid == NID_undef ? "unknown" : OBJ_nid2sn(m->digest_nid));
		return 0;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		set_outcome(m, SCEP_OUT_BAD_REQUEST, "eContentType is not id-data");
		return 0;
	}
	if ((r = copy_content(cms, m)) < 0) {
		if (r == -SGW_ENOMEM)
			return r;
		set_outcome(m, SCEP_OUT_BAD_REQUEST, "pkcsPKIEnvelope absent");
		return 0;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		ERR_clear_error();
		set_outcome(m, SCEP_OUT_BAD_MESSAGE, "signature verification failed");
		return 0;
	}
	return 0;
}

int
scep_msg_decode(const uint8_t *der, size_t len, unsigned caps, int allow_md5, struct scep_msg **ret,
		struct sgw_err *err)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	struct scep_msg *m = NULL;
	int r;

	if (nids.message_type == NID_undef)
		return sgw_err_set(err, SGW_EINVAL, "scep_oids_init not called");
	if (der == NULL || len == 0 || len > SCEP_MSG_MAX_LEN)
		return sgw_err_set(err, SGW_EPARSE, "pkiMessage empty or over %d bytes",
				   SCEP_MSG_MAX_LEN);
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL || p != der + len) {
		r = sgw_err_set(err, SGW_EPARSE, "pkiMessage is not one DER CMS object");
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto out;
	}
	m->outcome = SCEP_OUT_SUCCESS;
	if ((r = decode_header(cms, &si, m, err)) < 0)
		goto out;
	if ((r = decode_body(cms, si, caps, allow_md5, m)) < 0) {
		sgw_err_set(err, r, "out of memory");
		goto out;
	}
	*ret = m;
	m = NULL;
	r = 0;
out:
	ERR_clear_error();
	scep_msg_free(m);
	CMS_ContentInfo_free(cms);
	return r;
}
