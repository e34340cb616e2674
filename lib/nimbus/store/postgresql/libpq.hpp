#pragma once

#include <libpq-fe.h>

/// libpq, PostgreSQL's client library, loaded at the first use of a PostgreSQL
/// store rather than linked: linked, it would bring two dozen shared libraries
/// (TLS, Kerberos, LDAP) into every start of the program, SQLite stores
/// included, and take 4 of the 5.7 ms that `nimbus-codes --version` then needed.
namespace nimbus::store::libpq {

// Every libpq function the store calls.
#define NIMBUS_LIBPQ_FUNCTIONS(X)                                                                  \
    X(PQclear)                                                                                     \
    X(PQcmdStatus)                                                                                 \
    X(PQconnectPoll)                                                                               \
    X(PQconnectStartParams)                                                                        \
    X(PQconnectionNeedsPassword)                                                                   \
    X(PQconnectionUsedPassword)                                                                    \
    X(PQconninfo)                                                                                  \
    X(PQconninfoFree)                                                                              \
    X(PQconninfoParse)                                                                             \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQfinish)                                                                                    \
    X(PQfreemem)                                                                                   \
    X(PQgetResult)                                                                                 \
    X(PQgetisnull)                                                                                 \
    X(PQgetlength)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQhost)                                                                                      \
    X(PQntuples)                                                                                   \
    X(PQport)                                                                                      \
    X(PQputCopyData)                                                                               \
    X(PQputCopyEnd)                                                                                \
    X(PQresultErrorField)                                                                          \
    X(PQresultErrorMessage)                                                                        \
    X(PQresultStatus)                                                                              \
    X(PQsendQueryParams)                                                                           \
    X(PQsetNoticeProcessor)                                                                        \
    X(PQsetSingleRowMode)                                                                          \
    X(PQsocket)                                                                                    \
    X(PQstatus)                                                                                    \
    X(PQtransactionStatus)                                                                         \
    X(PQuser)

/// The functions, by their libpq names.
struct Api {
#define NIMBUS_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
    NIMBUS_LIBPQ_FUNCTIONS(NIMBUS_LIBPQ_MEMBER)
#undef NIMBUS_LIBPQ_MEMBER
};

/// Loads libpq once. Throws Config when it is not installed.
const Api& api();

} // namespace nimbus::store::libpq
