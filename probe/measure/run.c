#include <stdio.h>

#include "probe/measure/run.h"

int vt_probe_run_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vantage-probe: --run is not available in this build\n");
	return 2;
}
