/* scep_certrep.c: CertRep (RFC 8894 3.3.2) and degenerate certs-only
 * SignedData (GetCACert, the SUCCESS payload). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "scep_certrep.h"
#include "scep_envelope.h"

static int
der_copy(const unsigned char *der, int n, uint8_t **ret_der, size_t *ret_len)
{
	uint8_t *buf;

	if (n <= 0 || (buf = malloc((size_t)n)) == NULL)
		return -SGW_ENOMEM;
	memcpy(buf, der, (size_t)n);
	*ret_der = buf;
	*ret_len = (size_t)n;
	return 0;
}

/* PKCS7 rather than CMS: CMS encodes certificates as a DER SET OF and so
 * sorts them, PKCS7 keeps the caller's order (issued certificate first). */
int
scep_certs_only(STACK_OF(X509) * certs, X509_CRL *crl, uint8_t **ret_der, size_t *ret_len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;
	int n, r = -SGW_ENOMEM;

	if (sk_X509_num(certs) <= 0 && crl == NULL) {
		r = -SGW_EINVAL;
		goto out;
	}
	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data))
		goto out;
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (!PKCS7_add_certificate(p7, sk_X509_value(certs, i)))
			goto out;
	if (crl != NULL && !PKCS7_add_crl(p7, crl))
		goto out;
	if (!PKCS7_set_detached(p7, 1))
		goto out;
	n = i2d_PKCS7(p7, &der);
	r = der_copy(der, n, ret_der, ret_len);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	PKCS7_free(p7);
	return r;
}

static int
add_string(CMS_SignerInfo *si, int nid, int type, const void *data, int len)
{
	return CMS_signed_add1_attr_by_NID(si, nid, type, data, len) == 1 ? 0 : -SGW_ENOMEM;
}

static int
add_int_string(CMS_SignerInfo *si, int nid, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	return add_string(si, nid, V_ASN1_PRINTABLESTRING, buf, (int)strlen(buf));
}

static int
add_attrs(CMS_SignerInfo *si, const struct scep_certrep_params *p)
{
	const struct scep_nids *n = scep_nids();
	uint8_t nonce[SCEP_NONCE_LEN];

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -SGW_ENOMEM;
	if (add_int_string(si, n->message_type, SCEP_MSG_CERTREP) < 0 ||
	    add_int_string(si, n->pki_status, p->pki_status) < 0 ||
	    add_string(si, n->transaction_id, V_ASN1_PRINTABLESTRING, p->transaction_id,
		       (int)strlen(p->transaction_id)) < 0 ||
	    add_string(si, n->sender_nonce, V_ASN1_OCTET_STRING, nonce, SCEP_NONCE_LEN) < 0 ||
	    add_string(si, n->recipient_nonce, V_ASN1_OCTET_STRING, p->recipient_nonce,
		       SCEP_NONCE_LEN) < 0)
		return -SGW_ENOMEM;
	if (p->pki_status != SCEP_STATUS_FAILURE)
		return 0;
	if (add_int_string(si, n->fail_info, p->fail_info) < 0)
		return -SGW_ENOMEM;
	if (p->fail_info_text != NULL &&
	    add_string(si, n->fail_info_text, V_ASN1_UTF8STRING, p->fail_info_text,
		       (int)strlen(p->fail_info_text)) < 0)
		return -SGW_ENOMEM;
	return 0;
}

static int
check_params(const struct scep_certrep_params *p, struct sgw_err *err)
{
	size_t txlen;

	if (p->transaction_id == NULL || p->recipient_nonce == NULL || p->ra_cert == NULL ||
	    p->ra_key == NULL)
		return sgw_err_set(err, SGW_EINVAL, "CertRep: missing parameters");
	txlen = strlen(p->transaction_id);
	if (txlen == 0 || txlen > SCEP_TXID_MAX)
		return sgw_err_set(err, SGW_EINVAL, "CertRep: bad transactionID");
	if (scep_nids()->message_type == NID_undef)
		return sgw_err_set(err, SGW_EINVAL, "scep_oids_init not called");
	switch (p->pki_status) {
	case SCEP_STATUS_SUCCESS:
		if (p->recipient == NULL || (sk_X509_num(p->certs) <= 0 && p->crl == NULL))
			return sgw_err_set(err, SGW_EINVAL, "CertRep SUCCESS: nothing to send");
		return 0;
	case SCEP_STATUS_FAILURE:
		if (p->fail_info < SCEP_FAIL_BADALG || p->fail_info > SCEP_FAIL_BADCERTID)
			return sgw_err_set(err, SGW_EINVAL, "CertRep FAILURE: bad failInfo");
		return 0;
	case SCEP_STATUS_PENDING:
		return 0;
	}
	return sgw_err_set(err, SGW_EINVAL, "CertRep: bad pkiStatus %d", p->pki_status);
}

/* SUCCESS content: EnvelopedData(degenerate SignedData) to the requester. */
static int
success_content(const struct scep_certrep_params *p, BIO **ret_bio, struct sgw_err *err)
{
	uint8_t *inner = NULL, *env = NULL;
	size_t inner_len = 0, env_len = 0;
	BIO *b = NULL;
	int r;

	r = scep_certs_only(p->certs, p->crl, &inner, &inner_len);
	if (r < 0) {
		sgw_err_set(err, r, "CertRep: cannot build the certs-only payload");
		goto out;
	}
	r = scep_envelope_encrypt(inner, inner_len, p->recipient, p->cipher_nid, &env, &env_len,
				  err);
	if (r < 0)
		goto out;
	b = BIO_new(BIO_s_mem());
	if (b == NULL || BIO_write(b, env, (int)env_len) != (int)env_len) {
		BIO_free(b);
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto out;
	}
	*ret_bio = b;
	r = 0;
out:
	free(inner);
	free(env);
	return r;
}

static const EVP_MD *
certrep_md(int digest_nid)
{
	return EVP_get_digestbynid(digest_nid == NID_undef ? NID_sha256 : digest_nid);
}

/* Sign `content` (NULL: eContent absent, for FAILURE and PENDING). */
static int
sign_certrep(const struct scep_certrep_params *p, BIO *content, uint8_t **ret_der, size_t *ret_len,
	     struct sgw_err *err)
{
	const unsigned int fl = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	const EVP_MD *md = certrep_md(p->digest_nid);
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *empty = NULL;
	unsigned char *der = NULL;
	int n, r = -SGW_ENOMEM;

	if (md == NULL)
		return sgw_err_set(err, SGW_EALG, "CertRep: digest NID %d unavailable",
				   p->digest_nid);
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	if (cms == NULL)
		goto out;
	si = keyop_cms_add_signer(p->ra_key, cms, p->ra_cert, md, fl);
	if (si == NULL) {
		r = sgw_err_set(err, keyop_unavailable(p->ra_key) ? SGW_EUNAVAIL : SGW_EAUTH,
				"CertRep: cannot add the RA signer");
		goto out;
	}
	if ((r = add_attrs(si, p)) < 0)
		goto out;
	r = -SGW_ENOMEM;
	if (content == NULL) {
		/* FAILURE/PENDING: an empty eContent, not an absent one.  RFC 8894
		 * allows both; certmonger (PKCS7_verify) rejects an absent one
		 * with "no content", and micromdm's server sends it empty too. */
		if ((empty = BIO_new_mem_buf("", 0)) == NULL)
			goto out;
		content = empty;
	}
	if (CMS_final(cms, content, NULL, CMS_BINARY) != 1) {
		r = sgw_err_set(
		    err, keyop_unavailable(p->ra_key) ? SGW_EUNAVAIL : SGW_EAUTH,
		    "CertRep: signing failed%s",
		    keyop_unavailable(p->ra_key) ? " (the RA key's token is unavailable)" : "");
		goto out;
	}
	n = i2d_CMS_ContentInfo(cms, &der);
	r = der_copy(der, n, ret_der, ret_len);
out:
	if (r == -SGW_ENOMEM)
		sgw_err_set(err, r, "out of memory");
	ERR_clear_error();
	OPENSSL_free(der);
	BIO_free(empty);
	CMS_ContentInfo_free(cms);
	return r;
}

int
scep_certrep_build(const struct scep_certrep_params *p, uint8_t **ret_der, size_t *ret_len,
		   struct sgw_err *err)
{
	BIO *content = NULL;
	int r;

	if ((r = check_params(p, err)) < 0)
		return r;
	if (p->pki_status == SCEP_STATUS_SUCCESS && (r = success_content(p, &content, err)) < 0)
		return r;
	r = sign_certrep(p, content, ret_der, ret_len, err);
	BIO_free(content);
	return r;
}

/* GetNextCACert (RFC 8894 4.7): a SignedData by the current RA signing key
 * whose eContent is the next certificates as a certs-only SignedData.  The
 * certificates field holds the same set and the signer's own certificate:
 * C clients on OpenSSL's PKCS7_verify() with no extra certificates find the
 * signer only there ("Can't read signer cert from pkcs7"). */
int
scep_nextca_build(STACK_OF(X509) * next, X509 *ra_cert, const struct keyop_key *ra_key,
		  uint8_t **ret_der, size_t *ret_len, struct sgw_err *err)
{
	const unsigned int fl = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	uint8_t *inner = NULL;
	size_t inner_len = 0;
	unsigned char *der = NULL;
	BIO *content = NULL;
	int n, r = -SGW_ENOMEM;

	if (cms == NULL || (r = scep_certs_only(next, NULL, &inner, &inner_len)) < 0)
		goto out;
	r = -SGW_ENOMEM;
	for (int i = 0; i < sk_X509_num(next); i++)
		if (!CMS_add1_cert(cms, sk_X509_value(next, i)))
			goto out;
	if (keyop_cms_add_signer(ra_key, cms, ra_cert, EVP_sha256(), fl) == NULL ||
	    (content = BIO_new_mem_buf(inner, (int)inner_len)) == NULL ||
	    CMS_final(cms, content, NULL, CMS_BINARY) != 1) {
		r = -SGW_EAUTH;
		goto out;
	}
	n = i2d_CMS_ContentInfo(cms, &der);
	r = der_copy(der, n, ret_der, ret_len);
out:
	if (r < 0)
		sgw_err_set(err, r, "GetNextCACert: cannot build the signed reply");
	ERR_clear_error();
	OPENSSL_free(der);
	BIO_free(content);
	free(inner);
	CMS_ContentInfo_free(cms);
	return r;
}
