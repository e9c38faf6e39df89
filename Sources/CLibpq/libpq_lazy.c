#include "CLibpq.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    int (*PQcancel)(PGcancel *cancel, char *errbuf, int errbufsize);
    void (*PQclear)(PGresult *res);
    char * (*PQcmdTuples)(PGresult *res);
    PostgresPollingStatusType (*PQconnectPoll)(PGconn *conn);
    PGconn * (*PQconnectStartParams)(const char *const *keywords, const char *const *values, int expand_dbname);
    int (*PQconsumeInput)(PGconn *conn);
    char * (*PQerrorMessage)(const PGconn *conn);
    void (*PQfinish)(PGconn *conn);
    int (*PQflush)(PGconn *conn);
    char * (*PQfname)(const PGresult *res, int field_num);
    void (*PQfreeCancel)(PGcancel *cancel);
    PGcancel * (*PQgetCancel)(PGconn *conn);
    PGresult * (*PQgetResult)(PGconn *conn);
    int (*PQgetisnull)(const PGresult *res, int tup_num, int field_num);
    char * (*PQgetvalue)(const PGresult *res, int tup_num, int field_num);
    int (*PQisBusy)(PGconn *conn);
    int (*PQnfields)(const PGresult *res);
    int (*PQntuples)(const PGresult *res);
    char * (*PQresultErrorField)(const PGresult *res, int fieldcode);
    ExecStatusType (*PQresultStatus)(const PGresult *res);
    int (*PQsendQuery)(PGconn *conn, const char *command);
    int (*PQsendQueryParams)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
    int (*PQserverVersion)(const PGconn *conn);
    PQnoticeProcessor (*PQsetNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
    int (*PQsocket)(const PGconn *conn);
    const char * (*PQsslAttribute)(PGconn *conn, const char *attribute_name);
    int (*PQsslInUse)(PGconn *conn);
    ConnStatusType (*PQstatus)(const PGconn *conn);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -1;
static char error_text[512] = "libpq was not loaded";

#define LOAD(name)                                                                                  \
    do {                                                                                            \
        *(void **)(&fn.name) = dlsym(lib, #name);                                                   \
        if (!fn.name) {                                                                             \
            snprintf(error_text, sizeof error_text, "libpq.so.5 has no %s; install libpq5", #name); \
            return;                                                                                 \
        }                                                                                           \
    } while (0)

static void load(void) {
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(error_text, sizeof error_text, "cannot load libpq.so.5 (%s); install it with `apt install libpq5`",
                 dlerror());
        return;
    }
    LOAD(PQcancel);
    LOAD(PQclear);
    LOAD(PQcmdTuples);
    LOAD(PQconnectPoll);
    LOAD(PQconnectStartParams);
    LOAD(PQconsumeInput);
    LOAD(PQerrorMessage);
    LOAD(PQfinish);
    LOAD(PQflush);
    LOAD(PQfname);
    LOAD(PQfreeCancel);
    LOAD(PQgetCancel);
    LOAD(PQgetResult);
    LOAD(PQgetisnull);
    LOAD(PQgetvalue);
    LOAD(PQisBusy);
    LOAD(PQnfields);
    LOAD(PQntuples);
    LOAD(PQresultErrorField);
    LOAD(PQresultStatus);
    LOAD(PQsendQuery);
    LOAD(PQsendQueryParams);
    LOAD(PQserverVersion);
    LOAD(PQsetNoticeProcessor);
    LOAD(PQsocket);
    LOAD(PQsslAttribute);
    LOAD(PQsslInUse);
    LOAD(PQstatus);
    loaded = 0;
}

int whatif_pq_load(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *whatif_pq_load_error(void) { return error_text; }

/* Every entry point below is reached only after whatif_pq_load() returned 0. */
int whatif_PQcancel(PGcancel *cancel, char *errbuf, int errbufsize) { return fn.PQcancel(cancel, errbuf, errbufsize); }
void whatif_PQclear(PGresult *res) { fn.PQclear(res); }
char * whatif_PQcmdTuples(PGresult *res) { return fn.PQcmdTuples(res); }
PostgresPollingStatusType whatif_PQconnectPoll(PGconn *conn) { return fn.PQconnectPoll(conn); }
PGconn * whatif_PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname) { return fn.PQconnectStartParams(keywords, values, expand_dbname); }
int whatif_PQconsumeInput(PGconn *conn) { return fn.PQconsumeInput(conn); }
char * whatif_PQerrorMessage(const PGconn *conn) { return fn.PQerrorMessage(conn); }
void whatif_PQfinish(PGconn *conn) { fn.PQfinish(conn); }
int whatif_PQflush(PGconn *conn) { return fn.PQflush(conn); }
char * whatif_PQfname(const PGresult *res, int field_num) { return fn.PQfname(res, field_num); }
void whatif_PQfreeCancel(PGcancel *cancel) { fn.PQfreeCancel(cancel); }
PGcancel * whatif_PQgetCancel(PGconn *conn) { return fn.PQgetCancel(conn); }
PGresult * whatif_PQgetResult(PGconn *conn) { return fn.PQgetResult(conn); }
int whatif_PQgetisnull(const PGresult *res, int tup_num, int field_num) { return fn.PQgetisnull(res, tup_num, field_num); }
char * whatif_PQgetvalue(const PGresult *res, int tup_num, int field_num) { return fn.PQgetvalue(res, tup_num, field_num); }
int whatif_PQisBusy(PGconn *conn) { return fn.PQisBusy(conn); }
int whatif_PQnfields(const PGresult *res) { return fn.PQnfields(res); }
int whatif_PQntuples(const PGresult *res) { return fn.PQntuples(res); }
char * whatif_PQresultErrorField(const PGresult *res, int fieldcode) { return fn.PQresultErrorField(res, fieldcode); }
ExecStatusType whatif_PQresultStatus(const PGresult *res) { return fn.PQresultStatus(res); }
int whatif_PQsendQuery(PGconn *conn, const char *command) { return fn.PQsendQuery(conn, command); }
int whatif_PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat) { return fn.PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat); }
int whatif_PQserverVersion(const PGconn *conn) { return fn.PQserverVersion(conn); }
PQnoticeProcessor whatif_PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc, void *arg) { return fn.PQsetNoticeProcessor(conn, proc, arg); }
int whatif_PQsocket(const PGconn *conn) { return fn.PQsocket(conn); }
const char * whatif_PQsslAttribute(PGconn *conn, const char *attribute_name) { return fn.PQsslAttribute(conn, attribute_name); }
int whatif_PQsslInUse(PGconn *conn) { return fn.PQsslInUse(conn); }
ConnStatusType whatif_PQstatus(const PGconn *conn) { return fn.PQstatus(conn); }
