/* scep_fail.c: the one table from outcomes to the wire (docs/conventions.md 6). */
#include <stddef.h>

#include "scep_fail.h"

static const struct scep_fail_map fail_map[SCEP_OUT_MAX] = {
    [SCEP_OUT_SUCCESS] = {"success", SCEP_STATUS_SUCCESS, SCEP_FAIL_NONE, 200},
    [SCEP_OUT_PENDING] = {"pending", SCEP_STATUS_PENDING, SCEP_FAIL_NONE, 200},
    [SCEP_OUT_BAD_ALG] = {"badAlg", SCEP_STATUS_FAILURE, SCEP_FAIL_BADALG, 200},
    [SCEP_OUT_BAD_MESSAGE] = {"badMessageCheck", SCEP_STATUS_FAILURE, SCEP_FAIL_BADMESSAGECHECK,
			      200},
    [SCEP_OUT_BAD_REQUEST] = {"badRequest", SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, 200},
    [SCEP_OUT_DENIED] = {"denied", SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, 200},
    [SCEP_OUT_BAD_TIME] = {"badTime", SCEP_STATUS_FAILURE, SCEP_FAIL_BADTIME, 200},
    [SCEP_OUT_BAD_CERT_ID] = {"badCertId", SCEP_STATUS_FAILURE, SCEP_FAIL_BADCERTID, 200},
    [SCEP_OUT_BACKEND_FAILED] = {"backendFailed", SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, 200},
    [SCEP_OUT_HTTP_MALFORMED] = {"malformed", -1, SCEP_FAIL_NONE, 400},
    [SCEP_OUT_HTTP_BAD_OP] = {"badOperation", -1, SCEP_FAIL_NONE, 400},
    [SCEP_OUT_HTTP_NO_PROFILE] = {"noProfile", -1, SCEP_FAIL_NONE, 404},
    [SCEP_OUT_HTTP_METHOD] = {"badMethod", -1, SCEP_FAIL_NONE, 405},
    [SCEP_OUT_HTTP_TOO_LARGE] = {"tooLarge", -1, SCEP_FAIL_NONE, 413},
    [SCEP_OUT_HTTP_UNAVAILABLE] = {"unavailable", -1, SCEP_FAIL_NONE, 503},
    [SCEP_OUT_HTTP_INTERNAL] = {"internal", -1, SCEP_FAIL_NONE, 500},
};

const struct scep_fail_map *
scep_fail_lookup(enum scep_outcome out)
{
	if ((int)out < 0 || out >= SCEP_OUT_MAX)
		return &fail_map[SCEP_OUT_HTTP_INTERNAL];
	return &fail_map[out];
}

const char *
scep_fail_info_name(int fail_info)
{
	switch (fail_info) {
	case SCEP_FAIL_BADALG:
		return "badAlg";
	case SCEP_FAIL_BADMESSAGECHECK:
		return "badMessageCheck";
	case SCEP_FAIL_BADREQUEST:
		return "badRequest";
	case SCEP_FAIL_BADTIME:
		return "badTime";
	case SCEP_FAIL_BADCERTID:
		return "badCertId";
	case SCEP_FAIL_NONE:
		return "none";
	}
	return "unknown";
}
