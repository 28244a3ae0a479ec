/* fuzz_cfg.c: libFuzzer target for the configuration parser (gateway/core
 * node tree + gateway/config typed schema) and the validators' own keys
 * (gateway/validator, as profiles_build() configures them).  Parses the
 * input as a whole config, then walks the node tree once, and frees. */
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "validator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct cfg_node *n)
{
	size_t count = 1;

	for (size_t i = 0; i < cfg_node_count(n); i++)
		count += walk(cfg_node_item(n, i)) + (cfg_node_key(n, i) != NULL);
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgw_err err;
	struct cfg *c = NULL;

	if (cfg_parse("fuzz.yaml", data, size, &c, &err) == 0) {
		(void)walk(c->root);
		for (size_t i = 0; i < c->n_scep_profiles; i++) {
			const struct cfg_challenge *ch = &c->scep_profiles[i].challenge;
			struct validator *v = NULL;

			if (validator_new(ch->type, ch->node, ch->path, &v, &err) == 0)
				validator_free(v);
		}
		cfg_free(c);
	}
	return 0;
}
