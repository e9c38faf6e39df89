/* Declarations only: libFuzzer provides the definitions. */
