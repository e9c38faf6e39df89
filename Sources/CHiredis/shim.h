#ifndef WHATIF_CHIREDIS_SHIM_H
#define WHATIF_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
