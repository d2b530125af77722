/* The adapter unit of the instrumented test programs: compiled without
 * -finstrument-functions, as client/ringprof_cyg.h asks. */
#define RINGPROF_IMPLEMENTATION
#define RINGPROF_CYG_IMPLEMENTATION
#include <ringprof_cyg.h>
