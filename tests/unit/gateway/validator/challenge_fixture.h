/* challenge_fixture.h: a minimal configuration whose one profile's challenge
 * a test replaces (line 10 of t.yaml, as in tests/unit/gateway/config/cfg_schema.c),
 * and the validator configured from it. */
#ifndef SGW_TEST_CHALLENGE_FIXTURE_H
#define SGW_TEST_CHALLENGE_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "validator.h"

#define CHALLENGE(x)                                                                               \
	"listen:\n"                                                                                \
	"  - address: \"127.0.0.1:8080\"\n"                                                        \
	"store: {type: sqlite, path: /tmp/x.db}\n"                                                 \
	"ra_identities:\n"                                                                         \
	"  ra: {sign: {cert: s.pem, key: s.key}, ca_chain: ca.pem}\n"                              \
	"scep_profiles:\n"                                                                         \
	"  p1:\n"                                                                                  \
	"    ra_identity: ra\n"                                                                    \
	"    ra_profile: rp\n"                                                                     \
	"    challenge: " x "\n"                                                                   \
	"ra_profiles:\n"                                                                           \
	"  rp: {backend: b}\n"                                                                     \
	"backends:\n"                                                                              \
	"  b: {type: local}\n"

/* The config (it must parse) into *ret_cfg, and the profile's challenge. */
static inline const struct cfg_challenge *
fixture_parse(const char *yaml, struct cfg **ret_cfg)
{
	struct sgw_err err = {{0}};

	if (cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), ret_cfg, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return &(*ret_cfg)->scep_profiles[0].challenge;
}

/* validator_new() on the profile's challenge, as profiles_build() calls it. */
static inline int
fixture_validator(const char *yaml, struct cfg **ret_cfg, struct validator **ret,
		  struct sgw_err *err)
{
	const struct cfg_challenge *ch = fixture_parse(yaml, ret_cfg);

	if (ch == NULL)
		return -SGW_EINVAL;
	return validator_new(ch->type, ch->node, ch->path, ret, err);
}

/* Writes `data` to a fresh temporary file (mode 0600); the caller unlinks it. */
static inline int
fixture_tmpfile(char path[64], const char *data, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/scepgw-val-XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

#endif
