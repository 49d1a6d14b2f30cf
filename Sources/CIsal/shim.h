// Intel ISA-L's igzip: streaming inflate with the gzip wrapper and CRC-32 checked (PCLMUL/AVX
// code paths chosen at run time), for CTR files. zlib stays for everything else.
#include <isa-l/igzip_lib.h>
