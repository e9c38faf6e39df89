#ifndef WHATIF_CLIBPQ_SHIM_H
#define WHATIF_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
