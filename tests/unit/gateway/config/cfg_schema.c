/* tests for gateway/config/cfg_schema.c, through cfg_parse(): the schema and
 * the sections it calls (cfg_profile.c, cfg_admin.c, with cfg_find.c and
 * cfg_util.c below them).  The node tree: tests/unit/gateway/core/cfg_yaml.c;
 * cfg_parse_map: tests/unit/gateway/core/cfg.c; a challenge's own keys are its
 * validator's: tests/unit/gateway/validator/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "fixture/cfg_fixture.h"

/* The minimal valid configuration in three parts (tests/unit/fixture/cfg_fixture.h). */
#define HEAD CFG_FIXTURE_HEAD
#define PROFILE CFG_FIXTURE_PROFILE("{type: none}")
#define TAIL CFG_FIXTURE_TAIL
#define MINIMAL HEAD PROFILE TAIL

static int
parse(const char *yaml, struct cfg **ret, struct sgw_err *err)
{
	return cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), ret, err);
}

static void
expect_err(const char *yaml, const char *msg)
{
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;

	assert_true(parse(yaml, &c, &err) < 0);
	assert_null(c);
	assert_string_equal(err.msg, msg);
}

/* The configuration yaml (which must parse) gives. */
static struct cfg *
parse_ok(const char *yaml)
{
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;

	assert_int_equal(parse(yaml, &c, &err), 0);
	return c;
}

/* The limits: section, field by field. */
static void
expect_limits(const struct cfg_limits *l, struct cfg_limits want)
{
	assert_int_equal(l->max_body, want.max_body);
	assert_int_equal(l->max_headers, want.max_headers);
	assert_int_equal(l->timeout, want.timeout);
	assert_int_equal(l->max_connections, want.max_connections);
}

/* A profile's csr_policy, field by field (of san_dns, the count). */
static void
expect_csr_policy(const struct cfg_csr_policy *p, struct cfg_csr_policy want)
{
	assert_int_equal(p->key_types, want.key_types);
	assert_int_equal(p->min_rsa_bits, want.min_rsa_bits);
	assert_int_equal(p->san_dns.n, want.san_dns.n);
	assert_int_equal(p->allow_san_ip, want.allow_san_ip);
	assert_int_equal(p->allow_san_email, want.allow_san_email);
	assert_int_equal(p->require_cn, want.require_cn);
}

/* The profile settings test_defaults and test_full both check. */
static void
expect_profile(const struct cfg_scep_profile *p, struct cfg_scep_profile want)
{
	assert_int_equal(p->allow_single_des, want.allow_single_des);
	assert_int_equal(p->allow_md5, want.allow_md5);
	assert_int_equal(p->getcacert_include_root, want.getcacert_include_root);
	assert_int_equal(p->getcacert_include_chain, want.getcacert_include_chain);
	assert_int_equal(p->certrep_include_ca, want.certrep_include_ca);
	assert_int_equal(p->signing_time_skew, want.signing_time_skew);
}

static void
test_defaults(void **state)
{
	struct cfg *c = parse_ok(MINIMAL);
	const struct cfg_scep_profile *p;
	const struct cfg_ra_identity *id;

	(void)state;
	assert_string_equal(c->file, "t.yaml");
	assert_string_equal(c->log_level, "info");
	{ /* instance: the host name by default, what of it a name may hold */
		char host[256] = "";

		assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
		host[strspn(host, CFG_INSTANCE_CHARS)] = '\0';
		assert_non_null(c->instance);
		assert_true(strlen(c->instance) > 0 && strlen(c->instance) <= CFG_INSTANCE_MAX);
		assert_int_equal(strncmp(c->instance, host, strlen(c->instance)), 0);
	}
	assert_null(c->user);
	assert_null(c->default_profile);
	assert_int_equal(c->workers, 0);
	expect_limits(&c->limits, (struct cfg_limits){.max_body = 65536,
						      .max_headers = 8192,
						      .timeout = 60,
						      .max_connections = 1024});
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0].address, "127.0.0.1:8080");
	assert_int_equal(c->listen[0].tls, 0);
	assert_null(c->listen[0].tls_files.cert);
	assert_string_equal(c->store.type, "sqlite");
	assert_int_equal(c->store.nonce_ttl, 86400);
	id = cfg_ra_identity_find(c, "ra");
	assert_non_null(id);
	assert_string_equal(id->encrypt.cert, "s.pem");
	assert_string_equal(id->encrypt.key, "s.key");
	assert_ptr_not_equal(id->encrypt.cert, id->sign.cert);
	p = cfg_scep_profile_find(c, "p1");
	assert_non_null(p);
	assert_int_equal(p->caps, SCEP_CAP_POSTPKIOPERATION | SCEP_CAP_SHA1 | SCEP_CAP_SHA224 |
				      SCEP_CAP_SHA256 | SCEP_CAP_SHA384 | SCEP_CAP_SHA512 |
				      SCEP_CAP_AES | SCEP_CAP_DES3 | SCEP_CAP_SCEPSTANDARD);
	expect_profile(p, (struct cfg_scep_profile){.allow_single_des = 0,
						    .allow_md5 = 0,
						    .getcacert_include_root = 1,
						    .getcacert_include_chain = 1,
						    .certrep_include_ca = 0,
						    .signing_time_skew = 0});
	assert_string_equal(p->challenge.type, "none");
	assert_string_equal(p->challenge.path, "scep_profiles.p1.challenge");
	expect_csr_policy(&p->csr_policy,
			  (struct cfg_csr_policy){.key_types = CSR_KEY_RSA | CSR_KEY_EC,
						  .min_rsa_bits = 2048,
						  .san_dns = {.n = 0},
						  .allow_san_ip = 1,
						  .allow_san_email = 1,
						  .require_cn = 1});
	assert_string_equal(cfg_ra_profile_find(c, "rp")->template, "default");
	assert_string_equal(cfg_ra_profile_find(c, "rp")->approval, "auto");
	assert_string_equal(cfg_backend_find(c, "b")->path, "backends.b");
	assert_null(cfg_backend_find(c, "nope"));
	assert_null(cfg_scep_profile_find(c, "nope"));
	cfg_free(c);
	cfg_free(NULL);
}

static const char full_yaml[] =
    "log_level: debug\n"
    "user: scepgw\n"
    "default_profile: ios\n"
    "workers: 4\n"
    "limits: {max_body: 1m, max_headers: 16k, timeout: 2m, max_connections: 50}\n"
    "listen:\n"
    "  - {address: \"0.0.0.0:8080\"}\n"
    "  - address: \"[::1]:8443\"\n"
    "    tls: {cert: tls.pem, key: tls.key}\n"
    "store: {type: sqlite, path: /var/lib/scepgw/db, nonce_ttl: 2h}\n"
    "ra_identities:\n"
    "  dmz:\n"
    "    sign: {cert: rs.pem, key: rs.key}\n"
    "    encrypt: {cert: re.pem, key: re.key}\n"
    "    ca_chain: chain.pem\n"
    "scep_profiles:\n"
    "  ios:\n"
    "    ra_identity: dmz\n"
    "    ra_profile: corp\n"
    "    capabilities: [POSTPKIOperation, SHA-256, Renewal, GetNextCACert]\n"
    "    renewal: {enabled: true, window_percent: 20, allow_key_reuse: yes}\n"
    "    next_ra_identity: dmz\n"
    "    getcert: true\n"
    "    allow_single_des: yes\n"
    "    allow_md5: on\n"
    "    getcacert: {include_root: false, include_chain: no, mode: single}\n"
    "    certrep: {include_ca: true}\n"
    "    signing_time_skew: 5m\n"
    "    challenge:\n"
    "      type: static\n"
    "      sha256: \"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"\n"
    "    csr_policy:\n"
    "      key_types: [ec]\n"
    "      min_rsa_bits: 3072\n"
    "      san_dns: [\"*.example.com\", host.example.org]\n"
    "      allow_san_ip: false\n"
    "      allow_san_email: false\n"
    "      require_cn: false\n"
    "  x.y_z-1: {ra_identity: dmz, ra_profile: corp, challenge: {type: none}}\n"
    "ra_profiles:\n"
    "  corp: {backend: ca1, template: device, approval: auto}\n"
    "backends:\n"
    "  ca1: {type: local, ca_cert: ca.pem, whatever: [1, 2]}\n";

static void
test_full(void **state)
{
	struct cfg *c = parse_ok(full_yaml);
	const struct cfg_scep_profile *p;
	const struct cfg_backend *b;

	(void)state;
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->user, "scepgw");
	assert_string_equal(c->default_profile, "ios");
	assert_int_equal(c->workers, 4);
	expect_limits(&c->limits, (struct cfg_limits){.max_body = 1048576,
						      .max_headers = 16384,
						      .timeout = 120,
						      .max_connections = 50});
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0].address, "0.0.0.0:8080");
	assert_int_equal(c->listen[0].tls, 0);
	assert_string_equal(c->listen[1].address, "[::1]:8443");
	assert_int_equal(c->listen[1].tls, 1);
	assert_string_equal(c->listen[1].tls_files.cert, "tls.pem");
	assert_string_equal(c->listen[1].tls_files.key, "tls.key");
	assert_string_equal(c->store.path, "/var/lib/scepgw/db");
	assert_int_equal(c->store.nonce_ttl, 7200);
	assert_int_equal(c->n_ra_identities, 1);
	assert_string_equal(c->ra_identities[0].name, "dmz");
	assert_string_equal(c->ra_identities[0].sign.cert, "rs.pem");
	assert_string_equal(c->ra_identities[0].sign.key, "rs.key");
	assert_string_equal(c->ra_identities[0].encrypt.cert, "re.pem");
	assert_string_equal(c->ra_identities[0].encrypt.key, "re.key");
	assert_string_equal(c->ra_identities[0].ca_chain, "chain.pem");
	assert_int_equal(c->n_scep_profiles, 2);
	p = &c->scep_profiles[0];
	assert_string_equal(p->name, "ios");
	assert_string_equal(p->ra_identity, "dmz");
	assert_string_equal(p->ra_profile, "corp");
	assert_int_equal(p->caps, SCEP_CAP_POSTPKIOPERATION | SCEP_CAP_SHA256 | SCEP_CAP_RENEWAL |
				      SCEP_CAP_GETNEXTCACERT);
	expect_profile(p, (struct cfg_scep_profile){.allow_single_des = 1,
						    .allow_md5 = 1,
						    .getcacert_include_root = 0,
						    .getcacert_include_chain = 0,
						    .certrep_include_ca = 1,
						    .signing_time_skew = 300});
	assert_int_equal(p->getcacert_single, 1);
	assert_int_equal(p->getcert, 1);
	assert_int_equal(p->getcrl, 0);
	assert_string_equal(p->next_ra_identity, "dmz");
	assert_int_equal(p->renewal.enabled, 1);
	assert_int_equal(p->renewal.window_percent, 20);
	assert_int_equal(p->renewal.same_subject, 1);
	assert_int_equal(p->renewal.allow_key_reuse, 1);
	assert_int_equal(p->renewal.require_challenge, 0);
	/* its sha256: tests/unit/gateway/validator/validator_static.c */
	assert_string_equal(p->challenge.type, "static");
	assert_int_equal(cfg_node_line(p->challenge.node), 29);
	expect_csr_policy(&p->csr_policy, (struct cfg_csr_policy){.key_types = CSR_KEY_EC,
								  .min_rsa_bits = 3072,
								  .san_dns = {.n = 2}});
	assert_string_equal(p->csr_policy.san_dns.v[0], "*.example.com");
	assert_string_equal(p->csr_policy.san_dns.v[1], "host.example.org");
	assert_ptr_equal(cfg_scep_profile_find(c, "x.y_z-1"), &c->scep_profiles[1]);
	assert_int_equal(c->n_ra_profiles, 1);
	assert_string_equal(c->ra_profiles[0].name, "corp");
	assert_string_equal(c->ra_profiles[0].backend, "ca1");
	assert_string_equal(c->ra_profiles[0].template, "device");
	assert_string_equal(c->ra_profiles[0].approval, "auto");
	assert_int_equal(c->n_backends, 1);
	b = cfg_backend_find(c, "ca1");
	assert_string_equal(b->name, "ca1");
	assert_string_equal(b->type, "local");
	assert_string_equal(b->path, "backends.ca1");
	assert_int_equal(cfg_node_type(b->node), CFG_NODE_MAP);
	assert_int_equal(cfg_node_line(b->node), 43);
	assert_string_equal(cfg_node_scalar(cfg_node_get(b->node, "ca_cert")), "ca.pem");
	cfg_free(c);
}

/* store: type postgresql and its keys */
static void
test_store_postgresql(void **state)
{
	struct cfg *c;

	(void)state;
	c = parse_ok(
	    "listen:\n  - address: \":80\"\n"
	    "store: {type: postgresql, conninfo: \"host=db1 dbname=scepgw\","
	    " password_file: /etc/scepgw/pg.password, pool: 8}\n" CFG_FIXTURE_RA PROFILE TAIL);
	assert_string_equal(c->store.type, "postgresql");
	assert_string_equal(c->store.conninfo, "host=db1 dbname=scepgw");
	assert_string_equal(c->store.password_file, "/etc/scepgw/pg.password");
	assert_int_equal(c->store.pool, 8);
	assert_null(c->store.path);
	cfg_free(c);
}

static void
test_errors_syntax(void **state)
{
	(void)state;
	expect_err("bogus: 1\n" MINIMAL, "t.yaml:1: bogus: unknown key");
	expect_err(MINIMAL "a: [1\n",
		   "t.yaml:16:1: while parsing a flow sequence, did not find expected ',' or ']'");
	expect_err(MINIMAL "ra_profiles: {}\n", "t.yaml:15: ra_profiles: duplicate key");
	expect_err(HEAD PROFILE "    ra_profile: rp\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.ra_profile: duplicate key");
	expect_err("a: &x 1\nb: *x\n", "t.yaml:1: a: anchors and aliases are not supported");
	expect_err("", "t.yaml:1: empty document");
	expect_err("a: 1\n---\nb: 2\n", "t.yaml:2: only one YAML document is supported");
	expect_err("- 1\n", "t.yaml:1: expected a mapping");
	expect_err("? [a]\n: 1\n", "t.yaml:1: mapping keys must be scalars");
	expect_err("a: \"x\\0y\"\n", "t.yaml:1: a: NUL byte in a scalar");
}

static void
test_errors_types(void **state)
{
	(void)state;
	expect_err("workers: many\n" MINIMAL, "t.yaml:1: workers: expected an integer, got 'many'");
	expect_err("workers: 99999999999\n" MINIMAL,
		   "t.yaml:1: workers: expected an integer, got '99999999999'");
	expect_err("workers: -1\n" MINIMAL, "t.yaml:1: workers: must be between 0 and 1024");
	expect_err("instance: \"gw 1\"\n" MINIMAL, "t.yaml:1: instance: 'gw 1' is not a name of 1 "
						   "to 63 letters, digits, '.', '_' or '-'");
	expect_err("instance: \"\"\n" MINIMAL, "t.yaml:1: instance: empty value");
	expect_err(
	    "instance: "
	    "a234567890123456789012345678901234567890123456789012345678901234\n" MINIMAL,
	    "t.yaml:1: instance: "
	    "'a234567890123456789012345678901234567890123456789012345678901234' is not a name "
	    "of 1 to 63 letters, digits, '.', '_' or '-'");
	expect_err("log_level: loud\n" MINIMAL, "t.yaml:1: log_level: unknown log level 'loud' "
						"(one of: error, warn, info, debug)");
	expect_err("limits: {max_body: 12q}\n" MINIMAL,
		   "t.yaml:1: limits.max_body: expected a size (e.g. 512, 64k, 1m), got '12q'");
	expect_err("limits: {timeout: 5x}\n" MINIMAL,
		   "t.yaml:1: limits.timeout: expected a duration (e.g. 30, 30s, 5m, 2h, 1d), got "
		   "'5x'");
	expect_err("limits: {timeout: [1]}\n" MINIMAL,
		   "t.yaml:1: limits.timeout: expected a scalar value");
	expect_err(HEAD PROFILE "    allow_md5: maybe\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.allow_md5: expected true or false, got 'maybe'");
	expect_err(HEAD PROFILE "    colour: red\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.colour: unknown key");
	expect_err(HEAD PROFILE "    capabilities: [AES, Frobnicate]\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.capabilities[1]: unknown capability 'Frobnicate' "
		   "(one of: POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, Renewal, "
		   "SCEPStandard, GetNextCACert)");
	expect_err(HEAD PROFILE "    capabilities: [AES, aes]\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.capabilities[1]: duplicate capability 'aes'");
	expect_err(HEAD PROFILE "    csr_policy: {key_types: [rsa, dsa]}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.csr_policy.key_types[1]: unknown key type 'dsa' "
		   "(one of: rsa, ec)");
	expect_err(HEAD PROFILE "    csr_policy: {key_types: []}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.csr_policy.key_types: expected at least one");
	expect_err(HEAD PROFILE "    csr_policy: {san_dns: a.b}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.csr_policy.san_dns: expected a list of strings");
	expect_err(HEAD PROFILE "    csr_policy: {min_rsa_bits: 512}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.csr_policy.min_rsa_bits: must be between 1024 and "
		   "16384");
	expect_err(
	    HEAD PROFILE "    capabilities: [AES, Renewal]\n" TAIL,
	    "t.yaml:11: scep_profiles.p1.capabilities: Renewal needs renewal: { enabled: true "
	    "}");
	expect_err(
	    HEAD PROFILE "    capabilities: [GetNextCACert]\n" TAIL,
	    "t.yaml:11: scep_profiles.p1.capabilities: GetNextCACert needs next_ra_identity");
	expect_err(HEAD PROFILE "    renewal: {enabled: true, window_percent: 0}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.renewal.window_percent: must be between 1 and 100");
	expect_err(HEAD PROFILE "    renewal: {enabled: true, frob: 1}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.renewal.frob: unknown key");
	expect_err(HEAD PROFILE "    getcacert: {mode: chain}\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.getcacert.mode: unknown GetCACert mode 'chain' "
		   "(one of: ra, single)");
	expect_err(HEAD PROFILE "    next_ra_identity: nope\n" TAIL,
		   "t.yaml:11: scep_profiles.p1.next_ra_identity: unknown ra_identity 'nope'");
}

static void
test_errors_required(void **state)
{
	(void)state;
	expect_err(HEAD
		   "scep_profiles:\n  p1:\n    ra_identity: ra\n    challenge: {type: none}\n" TAIL,
		   "t.yaml:7: scep_profiles.p1.ra_profile: missing required key");
	expect_err(HEAD "scep_profiles:\n  p1: {ra_identity: ra, ra_profile: rp}\n" TAIL,
		   "t.yaml:7: scep_profiles.p1.challenge: missing required key");
	expect_err("listen: [{address: \":80\"}]\n", "t.yaml:1: store: missing required key");
	expect_err("listen: []\n"
		   "store: {type: sqlite, path: x}\n" CFG_FIXTURE_RA PROFILE TAIL,
		   "t.yaml:1: listen: expected a non-empty list");
	expect_err(HEAD "scep_profiles: {}\n" TAIL,
		   "t.yaml:6: scep_profiles: expected a non-empty mapping");
	expect_err("listen:\n  - address: localhost\n"
		   "store: {type: sqlite, path: /tmp/x.db}\n" CFG_FIXTURE_RA PROFILE TAIL,
		   "t.yaml:2: listen[0].address: expected host:port or [v6]:port, got 'localhost'");
	expect_err("listen:\n  - {address: \":80\", tls: {cert: a}}\n"
		   "store: {type: sqlite, path: /tmp/x.db}\n" CFG_FIXTURE_RA PROFILE TAIL,
		   "t.yaml:2: listen[0].tls.key: missing required key");
	expect_err(
	    "listen:\n  - address: \":80\"\nstore: {type: postgres, path: x}\n" CFG_FIXTURE_RA
		PROFILE TAIL,
	    "t.yaml:3: store.type: unknown store type 'postgres' (one of: sqlite, postgresql)");
	/* each store type's own keys */
	expect_err(
	    "listen:\n  - address: \":80\"\nstore: {type: postgresql, path: x}\n" CFG_FIXTURE_RA
		PROFILE TAIL,
	    "t.yaml:3: store.path: not a key of a postgresql store");
	expect_err("listen:\n  - address: \":80\"\nstore: {type: sqlite, path: x, pool: "
		   "2}\n" CFG_FIXTURE_RA PROFILE TAIL,
		   "t.yaml:3: store.pool: not a key of a sqlite store");
	expect_err(
	    "listen:\n  - address: \":80\"\nstore: {type: postgresql}\n" CFG_FIXTURE_RA PROFILE
		TAIL,
	    "t.yaml:3: store.conninfo: missing required key");
	expect_err(
	    "listen:\n  - address: \":80\"\nstore: {type: sqlite}\n" CFG_FIXTURE_RA PROFILE TAIL,
	    "t.yaml:3: store.path: missing required key");
	expect_err(
	    "listen:\n  - address: \":80\"\n"
	    "store: {type: postgresql, conninfo: \"host=db\", pool: 0}\n" CFG_FIXTURE_RA PROFILE
		TAIL,
	    "t.yaml:3: store.pool: must be between 1 and 64");
	expect_err(
	    "listen:\n  - address: \":80\"\n"
	    "store: {type: sqlite, path: x, synchronous: off}\n" CFG_FIXTURE_RA PROFILE TAIL,
	    "t.yaml:3: store.synchronous: unknown synchronous mode 'off' (one of: full, normal)");
	expect_err(HEAD PROFILE "ra_profiles:\n  rp: {backend: b}\nbackends:\n  b: {url: x}\n",
		   "t.yaml:14: backends.b.type: missing required key");
	expect_err(HEAD PROFILE "ra_profiles:\n  rp: {backend: b, approval: sometimes}\n"
				"backends:\n  b: {type: local}\n",
		   "t.yaml:12: ra_profiles.rp.approval: unknown approval 'sometimes' (one of: "
		   "auto, manual)");
}

static void
test_errors_refs(void **state)
{
	(void)state;
	expect_err(HEAD "scep_profiles:\n  p1:\n    ra_identity: nope\n    ra_profile: rp\n"
			"    challenge: {type: none}\n" TAIL,
		   "t.yaml:8: scep_profiles.p1.ra_identity: unknown ra_identity 'nope'");
	expect_err(HEAD "scep_profiles:\n  p1:\n    ra_identity: ra\n    ra_profile: nope\n"
			"    challenge: {type: none}\n" TAIL,
		   "t.yaml:9: scep_profiles.p1.ra_profile: unknown ra_profile 'nope'");
	expect_err(HEAD PROFILE
		   "ra_profiles:\n  rp: {backend: zz}\nbackends:\n  b: {type: local}\n",
		   "t.yaml:12: ra_profiles.rp.backend: unknown backend 'zz'");
	expect_err("default_profile: x\n" MINIMAL,
		   "t.yaml:1: default_profile: unknown scep_profile 'x'");
	expect_err(HEAD "scep_profiles:\n  p/1:\n    ra_identity: ra\n    ra_profile: rp\n"
			"    challenge: {type: none}\n" TAIL,
		   "t.yaml:7: scep_profiles.p/1: name must match [A-Za-z0-9._-]+");
}

#define CHALLENGE(x) CFG_FIXTURE_CHALLENGE(x)

/* The other challenge errors come from the validators (validator_new):
 * tests/unit/gateway/validator/. */
static void
test_errors_challenge(void **state)
{
	(void)state;
	expect_err(CHALLENGE("{sha256: ab}"),
		   "t.yaml:10: scep_profiles.p1.challenge.type: missing required key");
	expect_err(CHALLENGE("{type: \"\"}"),
		   "t.yaml:10: scep_profiles.p1.challenge.type: expected a validator type");
	expect_err(CHALLENGE("[static]"),
		   "t.yaml:10: scep_profiles.p1.challenge: expected a mapping");
}

/* admin.clients: who a client certificate may be (cfg_admin.c). */
#define ADMIN_TLS                                                                                  \
	"admin:\n"                                                                                 \
	"  listen: \"127.0.0.1:8444\"\n"                                                           \
	"  tls: {cert: t.pem, key: t.key}\n"                                                       \
	"  client_ca: admin-ca.pem\n"
#define PIN_HEX "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define PIN_COLONS                                                                                 \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"                                         \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"

static void
test_admin_clients(void **state)
{
	struct cfg *c;
	const struct cfg_admin_client *e;
	X509_NAME *want = X509_NAME_new();

	(void)state;
	c = parse_ok(MINIMAL ADMIN_TLS
		     "  clients:\n"
		     "    - {name: alice, spki_sha256: " PIN_HEX "}\n"
		     "    - {name: bob, cert_sha256: \"" PIN_COLONS "\", role: read}\n"
		     "    - {name: carol@x, subject: \"CN=carol,O=Admins\",\n"
		     "       issuer: \"CN=Admin CA\", spki_sha256: " PIN_HEX "}\n");
	assert_int_equal(c->admin.n_clients, 3);
	e = &c->admin.clients[0];
	assert_string_equal(e->name, "alice");
	assert_null(e->role);
	assert_int_equal(e->has, CFG_ADMIN_SPKI_SHA256);
	assert_int_equal(e->spki_sha256[0], 0x00);
	assert_int_equal(e->spki_sha256[31], 0xff);
	e = &c->admin.clients[1];
	assert_string_equal(e->role, "read");
	assert_int_equal(e->has, CFG_ADMIN_CERT_SHA256);
	assert_int_equal(e->cert_sha256[10], 0xaa);
	e = &c->admin.clients[2];
	assert_int_equal(e->has, CFG_ADMIN_SPKI_SHA256 | CFG_ADMIN_SUBJECT);
	X509_NAME_add_entry_by_txt(want, "O", MBSTRING_UTF8, (const unsigned char *)"Admins", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(want, "CN", MBSTRING_UTF8, (const unsigned char *)"carol", -1,
				   -1, 0);
	assert_int_equal(X509_NAME_cmp(e->subject, want), 0);
	X509_NAME_free(want);
	cfg_free(c);

	expect_err(MINIMAL ADMIN_TLS "  client_cns: [alice]\n",
		   "t.yaml:19: admin.client_cns: removed: a certificate's commonName is chosen by "
		   "whoever requests it; list each administrator under admin.clients with "
		   "spki_sha256, cert_sha256 or subject + issuer (docs/config.md, admin)");
	expect_err(MINIMAL ADMIN_TLS,
		   "t.yaml:15: admin.clients: client_ca is set but no administrator is listed: "
		   "nobody could authenticate by certificate (list each one with name and "
		   "spki_sha256, cert_sha256 or subject + issuer)");
	expect_err(MINIMAL ADMIN_TLS "  clients: []\n",
		   "t.yaml:19: admin.clients: client_ca is set but no administrator is listed: "
		   "nobody could authenticate by certificate (list each one with name and "
		   "spki_sha256, cert_sha256 or subject + issuer)");
	expect_err(MINIMAL "admin: {listen: \"127.0.0.1:1\", tokens_file: t,\n"
			   "        clients: [{name: a, spki_sha256: " PIN_HEX "}]}\n",
		   "t.yaml:16: admin.clients: clients need client_ca (the CA their certificates "
		   "verify against)");
	expect_err(
	    MINIMAL ADMIN_TLS "  clients: [{name: a}]\n",
	    "t.yaml:19: admin.clients[0]: needs cert_sha256, spki_sha256 or subject + issuer");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, subject: \"CN=a\"}]\n",
		   "t.yaml:19: admin.clients[0]: subject and issuer go together (a subject alone "
		   "names nobody)");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, issuer: \"CN=a\"}]\n",
		   "t.yaml:19: admin.clients[0]: subject and issuer go together (a subject alone "
		   "names nobody)");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, spki_sha256: " PIN_HEX "0}]\n",
		   "t.yaml:19: admin.clients[0].spki_sha256: expected a SHA-256: 64 hex digits "
		   "(colons allowed)");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, cert_sha256: abc}]\n",
		   "t.yaml:19: admin.clients[0].cert_sha256: expected a SHA-256: 64 hex digits "
		   "(colons allowed)");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, subject: \"CN=a+O=b\", issuer: "
				     "\"CN=c\"}]\n",
		   "t.yaml:19: admin.clients[0].subject: expected a distinguished name as "
		   "`openssl x509 -nameopt RFC2253` prints it, e.g. \"CN=alice,O=Example\"");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: \"a b\", spki_sha256: " PIN_HEX "}]\n",
		   "t.yaml:19: admin.clients[0].name: 1 to 63 of A-Z a-z 0-9 . _ @ -");
	expect_err(MINIMAL ADMIN_TLS "  clients: [{name: a, role: root, spki_sha256: " PIN_HEX
				     "}]\n",
		   "t.yaml:19: admin.clients[0].role: unknown role 'root' (one of: admin, read, "
		   "challenge)");
	expect_err(MINIMAL ADMIN_TLS "  clients: {name: a}\n",
		   "t.yaml:19: admin.clients: expected a list");
}

static void
test_caps(void **state)
{
	(void)state;
	for (unsigned b = 1; b < SCEP_CAP_MAX; b <<= 1) {
		assert_non_null(cfg_cap_name(b));
		assert_int_equal(cfg_cap_parse(cfg_cap_name(b)), b);
	}
	assert_string_equal(cfg_cap_name(SCEP_CAP_SHA256), "SHA-256");
	assert_int_equal(cfg_cap_parse("postpkioperation"), SCEP_CAP_POSTPKIOPERATION);
	assert_int_equal(cfg_cap_parse("SHA256"), 0);
	assert_null(cfg_cap_name(SCEP_CAP_MAX));
	assert_null(cfg_cap_name(SCEP_CAP_AES | SCEP_CAP_DES3));
	assert_null(cfg_cap_name(0));
}

/* profiles/scepgw.yaml parses, with its secret_file pointed at a temp file. */
static void
test_example_profile(void **state)
{
	char tmp[64];
	struct cfg *c = NULL;
	const struct cfg_scep_profile *p;

	(void)state;
	p = cfg_fixture_example(tmp, &c);
	/* the secret's hash: tests/unit/gateway/validator/validator_static.c */
	assert_string_equal(p->challenge.type, "static");
	assert_int_equal(p->allow_single_des, 0);
	assert_int_equal(c->n_listen, 2);
	assert_int_equal(c->listen[1].tls, 1);
	assert_string_equal(c->store.path, "/var/lib/scepgw/scepgw.db");
	assert_string_equal(cfg_ra_profile_find(c, "corp")->backend, "local-ca");
	assert_string_equal(cfg_backend_find(c, "local-ca")->type, "local");
	cfg_free(c);
	unlink(tmp);
}

static void
test_load(void **state)
{
	char path[64];
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;

	(void)state;
	cfg_fixture_tmpfile(path, MINIMAL, strlen(MINIMAL));
	assert_int_equal(cfg_load(path, &c, &err), 0);
	assert_string_equal(c->file, path);
	cfg_free(c);
	unlink(path);
	assert_int_equal(cfg_load("/nonexistent/scepgw.yaml", &c, &err), -SGW_EIO);
	assert_string_equal(err.msg, "/nonexistent/scepgw.yaml: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_store_postgresql),
	    cmocka_unit_test(test_errors_syntax),
	    cmocka_unit_test(test_errors_types),
	    cmocka_unit_test(test_errors_required),
	    cmocka_unit_test(test_errors_refs),
	    cmocka_unit_test(test_errors_challenge),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_admin_clients),
	    cmocka_unit_test(test_example_profile),
	    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
