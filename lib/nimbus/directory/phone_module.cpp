// The loadable module that wraps libphonenumber behind two C functions, so
// that the program loads libphonenumber (and protobuf, abseil and ICU with
// it) only when it compares phone numbers. nimbus/directory/phone.hpp says why.
#include <cstddef>
#include <cstring>
#include <string>

#include <phonenumbers/phonenumberutil.h>

#include <nimbus/directory/phone_module.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" {

int nimbus_phone_normalise(const char* text, const char* country, char* out, size_t size) {
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    const PhoneNumberUtil::ErrorType parsed = util.Parse(text, country, &number);
    switch (parsed) {
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return NIMBUS_PHONE_NEEDS_COUNTRY;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN: return NIMBUS_PHONE_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG_NSN: return NIMBUS_PHONE_TOO_LONG;
    default: return NIMBUS_PHONE_NOT_A_NUMBER;
    }
    switch (util.IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE: break;
    // Dialable only within its area: not one caller wherever it is written.
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: return NIMBUS_PHONE_TOO_SHORT;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE: return NIMBUS_PHONE_NEEDS_COUNTRY;
    case PhoneNumberUtil::TOO_SHORT: return NIMBUS_PHONE_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG: return NIMBUS_PHONE_TOO_LONG;
    default: return NIMBUS_PHONE_NOT_A_NUMBER;
    }
    std::string e164;
    util.Format(number, PhoneNumberUtil::E164, &e164);
    // E.164 allows 15 digits; some countries' metadata accepts longer ones.
    if (e164.size() > 16 || e164.size() + 1 > size) {
        return NIMBUS_PHONE_TOO_LONG;
    }
    std::memcpy(out, e164.c_str(), e164.size() + 1);
    return NIMBUS_PHONE_OK;
}

int nimbus_phone_country_code(const char* country) {
    return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(country);
}

int nimbus_phone_interface_version(void) {
    return NIMBUS_PHONE_INTERFACE;
}

} // extern "C"
