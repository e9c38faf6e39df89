#ifndef WHATIF_CZLIB_SHIM_H
#define WHATIF_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2/inflateInit2 are macros; these are callable from Swift.
   windowBits 31 writes a gzip member; 47 reads gzip or zlib. */
static inline int whatif_deflate_init_gzip(z_stream *s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
}
static inline int whatif_inflate_init_gzip(z_stream *s) {
    return inflateInit2(s, 47);
}
#endif
