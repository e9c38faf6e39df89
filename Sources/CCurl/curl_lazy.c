#include "CCurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -1;
static char error_text[512] = "libcurl was not loaded";

#define LOAD(field, name)                                                                          \
    do {                                                                                           \
        *(void **)(&fn.field) = dlsym(lib, name);                                                  \
        if (!fn.field) {                                                                           \
            snprintf(error_text, sizeof error_text, "libcurl.so.4 has no %s; install libcurl4", name); \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void load(void) {
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(error_text, sizeof error_text, "cannot load libcurl.so.4 (%s); install it with `apt install libcurl4`",
                 dlerror());
        return;
    }
    LOAD(global_init, "curl_global_init");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_reset, "curl_easy_reset");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    if (fn.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(error_text, sizeof error_text, "curl_global_init failed");
        return;
    }
    loaded = 0;
}

int whatif_curl_load(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *whatif_curl_load_error(void) { return error_text; }

/* Every entry point below is reached only after whatif_curl_load() returned 0. */
CURL *whatif_curl_easy_init(void) { return fn.easy_init(); }
void whatif_curl_easy_cleanup(CURL *h) { fn.easy_cleanup(h); }
void whatif_curl_easy_reset(CURL *h) { fn.easy_reset(h); }
CURLcode whatif_curl_easy_perform(CURL *h) { return fn.easy_perform(h); }
const char *whatif_curl_easy_strerror(CURLcode code) { return fn.easy_strerror(code); }
struct curl_slist *whatif_curl_slist_append(struct curl_slist *list, const char *s) { return fn.slist_append(list, s); }
void whatif_curl_slist_free_all(struct curl_slist *list) { fn.slist_free_all(list); }
CURLcode whatif_curl_setopt_long(CURL *h, CURLoption o, long v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_ptr(CURL *h, CURLoption o, void *v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_str(CURL *h, CURLoption o, const char *v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_cb(CURL *h, CURLoption o, whatif_curl_data_cb v) { return fn.easy_setopt(h, o, v); }
CURLcode whatif_curl_setopt_xferinfo(CURL *h, whatif_curl_xferinfo_cb v) {
    return fn.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, v);
}
CURLcode whatif_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return fn.easy_getinfo(h, i, v); }
CURLcode whatif_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return fn.easy_getinfo(h, i, v); }
