#ifndef WHATIF_CCURL_H
#define WHATIF_CCURL_H
/* libcurl, loaded on first use (dlopen "libcurl.so.4"): an agent that has not talked HTTP yet does not
   carry libcurl and its forty dependent libraries. Only the whatif_curl_* functions below may be called;
   the header is included for libcurl's types and constants. */
#include <curl/curl.h>

typedef size_t (*whatif_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*whatif_curl_xferinfo_cb)(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                       curl_off_t ulnow);

/* Loads libcurl and runs curl_global_init once. Returns 0, or -1 with a message in whatif_curl_load_error(). */
int whatif_curl_load(void);
const char *whatif_curl_load_error(void);

CURL *whatif_curl_easy_init(void);
void whatif_curl_easy_cleanup(CURL *h);
void whatif_curl_easy_reset(CURL *h);
CURLcode whatif_curl_easy_perform(CURL *h);
const char *whatif_curl_easy_strerror(CURLcode code);
struct curl_slist *whatif_curl_slist_append(struct curl_slist *list, const char *s);
void whatif_curl_slist_free_all(struct curl_slist *list);

/* curl_easy_setopt and curl_easy_getinfo are variadic: one typed entry per argument kind. */
CURLcode whatif_curl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode whatif_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v);
CURLcode whatif_curl_setopt_ptr(CURL *h, CURLoption o, void *v);
CURLcode whatif_curl_setopt_str(CURL *h, CURLoption o, const char *v);
CURLcode whatif_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
CURLcode whatif_curl_setopt_cb(CURL *h, CURLoption o, whatif_curl_data_cb v);
CURLcode whatif_curl_setopt_xferinfo(CURL *h, whatif_curl_xferinfo_cb v);
CURLcode whatif_curl_getinfo_long(CURL *h, CURLINFO i, long *v);
CURLcode whatif_curl_getinfo_double(CURL *h, CURLINFO i, double *v);
#endif
