/* challenge_fixture.h: a minimal configuration whose one profile's challenge
 * a test replaces (line 10 of t.yaml: CFG_FIXTURE_CHALLENGE of
 * tests/unit/fixture/cfg_fixture.h), and the validator configured from it. */
#ifndef SGW_TEST_CHALLENGE_FIXTURE_H
#define SGW_TEST_CHALLENGE_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "fixture/cfg_fixture.h"
#include "validator.h"

#define CHALLENGE(x) CFG_FIXTURE_CHALLENGE(x)

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

#endif
