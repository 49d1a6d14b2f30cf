// libcurl and OpenSSL's libcrypto, for TalkTraceStorage's S3 client (Sources/TalkTraceStorage/S3).
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: the typed
// wrappers below are the only way in.
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

typedef size_t (*tt_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode tt_curl_set_long(CURL *c, CURLoption option, long value) { return curl_easy_setopt(c, option, value); }
static inline CURLcode tt_curl_set_string(CURL *c, CURLoption option, const char *value) { return curl_easy_setopt(c, option, value); }
static inline CURLcode tt_curl_set_pointer(CURL *c, CURLoption option, void *value) { return curl_easy_setopt(c, option, value); }
static inline CURLcode tt_curl_set_headers(CURL *c, struct curl_slist *list) { return curl_easy_setopt(c, CURLOPT_HTTPHEADER, list); }
static inline CURLcode tt_curl_set_write(CURL *c, tt_curl_data_callback f, void *context) {
    CURLcode r = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, f);
    return r != CURLE_OK ? r : curl_easy_setopt(c, CURLOPT_WRITEDATA, context);
}
static inline CURLcode tt_curl_set_header_callback(CURL *c, tt_curl_data_callback f, void *context) {
    CURLcode r = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, f);
    return r != CURLE_OK ? r : curl_easy_setopt(c, CURLOPT_HEADERDATA, context);
}
static inline CURLcode tt_curl_set_body(CURL *c, const char *body, long length) {
    CURLcode r = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, length);
    return r != CURLE_OK ? r : curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
}
static inline long tt_curl_response_code(CURL *c) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
