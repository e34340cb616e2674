/* The C interface of the phone-number module (phone_module.cpp), which the
 * program loads at run time (phone.cpp). */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raise it whenever a function below changes, so that a program and a module
 * of different builds refuse each other instead of misbehaving. */
#define NIMBUS_PHONE_INTERFACE 1

enum {
    NIMBUS_PHONE_OK = 0,
    NIMBUS_PHONE_NOT_A_NUMBER = 1,
    NIMBUS_PHONE_NEEDS_COUNTRY = 2, /* a national form, and no (known) country given */
    NIMBUS_PHONE_TOO_SHORT = 3,
    NIMBUS_PHONE_TOO_LONG = 4,
};

/* Writes `text` as an E.164 number ("+41446681800") into `out`, reading a
 * national form ("044 668 18 00") as a number of `country` (ISO 3166 alpha-2,
 * or "" for none). Returns one of the values above. */
int nimbus_phone_normalise(const char* text, const char* country, char* out, size_t size);

/* The calling code of an ISO 3166 alpha-2 country ("CH": 41); 0 for none. */
int nimbus_phone_country_code(const char* country);

/* NIMBUS_PHONE_INTERFACE, as the module was built. */
int nimbus_phone_interface_version(void);

#ifdef __cplusplus
}
#endif
