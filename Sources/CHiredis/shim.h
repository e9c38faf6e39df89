#ifndef WHATIF_CHIREDIS_SHIM_H
#define WHATIF_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <stdlib.h>
#include <string.h>

/* hiredis's reply constructors, repeated with one change: a multi-bulk reply may declare at most
   WHATIF_RESP_MAX_ELEMENTS elements (far beyond any SCAN batch). hiredis 0.14 callocs room for the
   declared count before any element arrives, nine levels deep at most, so "*666666666\r\n" from a
   broken or hostile server would cost gigabytes; refused here, the reader reports an error instead. */
#define WHATIF_RESP_MAX_ELEMENTS (1024 * 1024)

static inline redisReply *whatif_reply(int type) {
    redisReply *r = (redisReply *)calloc(1, sizeof(redisReply));
    if (r) r->type = type;
    return r;
}

static inline void whatif_attach(const redisReadTask *task, redisReply *r) {
    if (task->parent) ((redisReply *)task->parent->obj)->element[task->idx] = r;
}

static inline void *whatif_create_string(const redisReadTask *task, char *str, size_t len) {
    redisReply *r = whatif_reply(task->type);
    if (!r) return NULL;
    char *buf = (char *)malloc(len + 1);
    if (!buf) {
        free(r);
        return NULL;
    }
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    whatif_attach(task, r);
    return r;
}

static inline void *whatif_create_array(const redisReadTask *task, int elements) {
    if (elements > WHATIF_RESP_MAX_ELEMENTS) return NULL;
    redisReply *r = whatif_reply(REDIS_REPLY_ARRAY);
    if (!r) return NULL;
    if (elements > 0) {
        r->element = (redisReply **)calloc((size_t)elements, sizeof(redisReply *));
        if (!r->element) {
            free(r);
            return NULL;
        }
    }
    r->elements = elements > 0 ? (size_t)elements : 0;
    whatif_attach(task, r);
    return r;
}

static inline void *whatif_create_integer(const redisReadTask *task, long long value) {
    redisReply *r = whatif_reply(REDIS_REPLY_INTEGER);
    if (!r) return NULL;
    r->integer = value;
    whatif_attach(task, r);
    return r;
}

static inline void *whatif_create_nil(const redisReadTask *task) {
    redisReply *r = whatif_reply(REDIS_REPLY_NIL);
    if (!r) return NULL;
    whatif_attach(task, r);
    return r;
}

/* A reply reader with the bounded constructors; replies are freed with freeReplyObject. */
static inline redisReader *whatif_redisReaderCreate(void) {
    static redisReplyObjectFunctions fn = {
        whatif_create_string, whatif_create_array, whatif_create_integer, whatif_create_nil, freeReplyObject,
    };
    return redisReaderCreateWithFunctions(&fn);
}
#endif
