/* fuzz_scep_msg.c: scep_msg_decode (gateway/scep/scep_msg.c) on arbitrary bytes.
 * Seeds in corpus/scep_msg: micromdm scepclient captures and messages built by
 * the SCEP codec's unit tests (tests/unit/gateway/scep/scep_fixture.c,
 * SGW_WRITE_SEEDS). */
#include <stddef.h>
#include <stdint.h>

#include "scep_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct scep_msg *m = NULL;
	struct sgw_err err;

	if (!initialised) {
		if (scep_oids_init() < 0)
			return 0;
		initialised = 1;
	}
	/* The last byte picks allow_md5 and the announced digests, so every
	 * path gets covered. */
	if (scep_msg_decode(data, size, size > 0 ? (unsigned)data[size - 1] << 1 : 0,
			    size > 0 && (data[size - 1] & 1), &m, &err) == 0) {
		(void)scep_msg_type_name(m->msg_type);
		scep_msg_free(m);
	}
	return 0;
}
