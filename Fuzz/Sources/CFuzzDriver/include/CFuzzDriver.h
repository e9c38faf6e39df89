#ifndef WHATIF_CFUZZDRIVER_H
#define WHATIF_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
/* libFuzzer's driver (compiler-rt), for programs that own main(). */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
