#include <nimbus/store/postgresql/conninfo.hpp>

namespace nimbus::store::conninfo {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int hex_value(char c) {
    if (is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// `text` with %XX decoded, as libpq decodes URI parts; a malformed escape stays.
std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
    if (what.empty()) {
        return;
    }
    for (std::size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + with.size())) {
        text.replace(at, what.size(), with);
    }
}

constexpr std::string_view mask = "***";

Redacted redact_uri(std::string_view text, std::size_t authority_start) {
    Redacted result;
    std::string& out = result.text;
    // libpq: the credentials end at the first "@" before any "/".
    const std::size_t slash = text.find('/', authority_start);
    const std::size_t at = text.substr(0, slash).find('@', authority_start);
    std::size_t rest = authority_start;
    out.append(text.substr(0, authority_start));
    if (at != std::string_view::npos) {
        const std::string_view userinfo = text.substr(authority_start, at - authority_start);
        if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
            out.append(userinfo.substr(0, colon + 1)).append(mask);
            result.passwords.emplace_back(userinfo.substr(colon + 1));
        } else {
            out.append(userinfo);
        }
        out.push_back('@');
        rest = at + 1;
    }
    const std::size_t query = text.find('?', rest);
    out.append(text.substr(rest, query == std::string_view::npos ? text.npos : query - rest));
    if (query == std::string_view::npos) {
        return result;
    }
    out.push_back('?');
    std::size_t start = query + 1;
    while (true) {
        const std::size_t amp = text.find('&', start);
        const std::string_view pair =
            text.substr(start, amp == std::string_view::npos ? text.npos : amp - start);
        const std::size_t equals = pair.find('=');
        if (equals != std::string_view::npos &&
            percent_decoded(pair.substr(0, equals)) == "password") {
            out.append(pair.substr(0, equals + 1)).append(mask);
            result.passwords.emplace_back(pair.substr(equals + 1));
        } else {
            out.append(pair);
        }
        if (amp == std::string_view::npos) {
            return result;
        }
        out.push_back('&');
        start = amp + 1;
    }
}

/// libpq's keyword/value syntax: keyword = value, the value bare (up to white
/// space) or in single quotes, with backslash escapes in both.
Redacted redact_keyword_value(std::string_view text) {
    Redacted result;
    std::string& out = result.text;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t keyword_start = i;
        while (i < text.size() && is_space(text[i])) {
            ++i;
        }
        std::size_t keyword_end = i;
        while (keyword_end < text.size() && !is_space(text[keyword_end]) &&
               text[keyword_end] != '=') {
            ++keyword_end;
        }
        const std::string_view keyword = text.substr(i, keyword_end - i);
        i = keyword_end;
        while (i < text.size() && is_space(text[i])) {
            ++i;
        }
        if (i >= text.size() || text[i] != '=') {
            out.append(text.substr(keyword_start)); // libpq refuses it; nothing to hide
            return result;
        }
        ++i;
        while (i < text.size() && is_space(text[i])) {
            ++i;
        }
        const std::size_t value_start = i;
        if (i < text.size() && text[i] == '\'') {
            ++i;
            while (i < text.size() && text[i] != '\'') {
                i += text[i] == '\\' && i + 1 < text.size() ? 2 : 1;
            }
            i = std::min(text.size(), i + 1);
        } else {
            while (i < text.size() && !is_space(text[i])) {
                i += text[i] == '\\' && i + 1 < text.size() ? 2 : 1;
            }
        }
        out.append(text.substr(keyword_start, value_start - keyword_start));
        const std::string_view value = text.substr(value_start, i - value_start);
        if (keyword == "password") {
            out.append(mask);
            result.passwords.emplace_back(value);
            if (value.size() >= 2 && value.front() == '\'') {
                result.passwords.emplace_back(value.substr(1, value.size() - 2));
            }
        } else {
            out.append(value);
        }
    }
    return result;
}

} // namespace

std::string_view scheme(std::string_view text) {
    if (text.empty() || !is_alpha(text[0])) {
        return {};
    }
    std::size_t i = 1;
    while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' ||
                               text[i] == '-' || text[i] == '.')) {
        ++i;
    }
    return i < text.size() && text[i] == ':' ? text.substr(0, i) : std::string_view{};
}

bool is_keyword_value(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) {
        ++i;
    }
    const std::size_t start = i;
    while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '_')) {
        ++i;
    }
    if (i == start || is_digit(text[start])) {
        return false;
    }
    while (i < text.size() && is_space(text[i])) {
        ++i;
    }
    return i < text.size() && text[i] == '=';
}

std::string Redacted::clean(std::string message) const {
    for (const std::string& password : passwords) {
        replace_all(message, password, mask);
        replace_all(message, percent_decoded(password), mask);
    }
    return message;
}

Redacted redact(std::string_view text) {
    if (const std::string_view name = scheme(text);
        !name.empty() && text.substr(name.size()).starts_with("://")) {
        return redact_uri(text, name.size() + 3);
    }
    if (is_keyword_value(text)) {
        return redact_keyword_value(text);
    }
    return Redacted{std::string(text), {}};
}

} // namespace nimbus::store::conninfo
