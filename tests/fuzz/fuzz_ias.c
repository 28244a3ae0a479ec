/* fuzz_ias.c: IssuerAndSerialNumber (GetCert, GetCRL) and IssuerAndSubject
 * (CertPoll): both parsers read every input. */
#include <stdint.h>
#include <stdlib.h>

#include "scep_ias.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_ias ias;
	struct scep_ias_subject sub;

	if (scep_ias_parse(data, size, &ias) == 0) {
		if (ias.issuer == NULL || ias.serial[0] == '\0')
			abort();
		scep_ias_clear(&ias);
	}
	if (scep_ias_subject_parse(data, size, &sub) == 0) {
		if (sub.issuer == NULL || sub.subject == NULL)
			abort();
		scep_ias_subject_clear(&sub);
	}
	return 0;
}
