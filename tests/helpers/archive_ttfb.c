/* archive_ttfb - runs a shell command RUNS times and prints the median
 * time to the first byte of its output and the median total time, in
 * milliseconds: "ttfb_ms total_ms bytes"; with "rss", also the largest
 * peak RSS of the command (and the children it waited for) in KiB.
 *
 *   archive_ttfb RUNS 'COMMAND' [rss] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double first[101], total[101];
	long bytes = 0, maxrss = 0;
	int runs;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "rss")) ||
	    (runs = atoi(argv[1])) < 1 || runs > 101)
		return 2;
	for (int i = 0; i < runs; i++) {
		struct rusage ru;
		int fd[2], st;
		double t0;
		char buf[65536];
		ssize_t r;
		pid_t pid;

		if (pipe(fd) < 0)
			return 1;
		t0 = now_ms();
		if ((pid = fork()) == 0) {
			dup2(fd[1], 1);
			close(fd[0]);
			close(fd[1]);
			execl("/bin/sh", "sh", "-c", argv[2], (char *)NULL);
			_exit(127);
		}
		close(fd[1]);
		first[i] = -1;
		bytes = 0;
		while ((r = read(fd[0], buf, sizeof buf)) > 0) {
			if (first[i] < 0)
				first[i] = now_ms() - t0;
			bytes += r;
		}
		close(fd[0]);
		if (wait4(pid, &st, 0, &ru) < 0)
			return 1;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		total[i] = now_ms() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
	}
	qsort(first, (size_t)runs, sizeof *first, cmp);
	qsort(total, (size_t)runs, sizeof *total, cmp);
	if (argc == 4)
		printf("%.2f %.2f %ld %ld\n", first[runs / 2], total[runs / 2], bytes,
		       maxrss);
	else
		printf("%.2f %.2f %ld\n", first[runs / 2], total[runs / 2], bytes);
	return 0;
}
