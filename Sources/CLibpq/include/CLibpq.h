#ifndef WHATIF_CLIBPQ_H
#define WHATIF_CLIBPQ_H
/* libpq, loaded on first use (dlopen "libpq.so.5"): Debian's libpq pulls in LDAP, GnuTLS, Kerberos and
   SASL, which an agent that has not talked to PostgreSQL yet need not carry. Only whatif_PQ* may be
   called; the header is included for libpq's types and constants. */
#include <postgresql/libpq-fe.h>

/* Loads libpq once. Returns 0, or -1 with a message in whatif_pq_load_error(). */
int whatif_pq_load(void);
const char *whatif_pq_load_error(void);

int whatif_PQcancel(PGcancel *cancel, char *errbuf, int errbufsize);
void whatif_PQclear(PGresult *res);
char *whatif_PQcmdTuples(PGresult *res);
PostgresPollingStatusType whatif_PQconnectPoll(PGconn *conn);
PGconn *whatif_PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname);
int whatif_PQconsumeInput(PGconn *conn);
char *whatif_PQerrorMessage(const PGconn *conn);
void whatif_PQfinish(PGconn *conn);
int whatif_PQflush(PGconn *conn);
char *whatif_PQfname(const PGresult *res, int field_num);
void whatif_PQfreeCancel(PGcancel *cancel);
PGcancel *whatif_PQgetCancel(PGconn *conn);
PGresult *whatif_PQgetResult(PGconn *conn);
int whatif_PQgetisnull(const PGresult *res, int tup_num, int field_num);
char *whatif_PQgetvalue(const PGresult *res, int tup_num, int field_num);
int whatif_PQisBusy(PGconn *conn);
int whatif_PQnfields(const PGresult *res);
int whatif_PQntuples(const PGresult *res);
char *whatif_PQresultErrorField(const PGresult *res, int fieldcode);
ExecStatusType whatif_PQresultStatus(const PGresult *res);
int whatif_PQsendQuery(PGconn *conn, const char *command);
int whatif_PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                             const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                             int resultFormat);
int whatif_PQserverVersion(const PGconn *conn);
PQnoticeProcessor whatif_PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc, void *arg);
int whatif_PQsocket(const PGconn *conn);
const char *whatif_PQsslAttribute(PGconn *conn, const char *attribute_name);
int whatif_PQsslInUse(PGconn *conn);
ConnStatusType whatif_PQstatus(const PGconn *conn);
#endif
